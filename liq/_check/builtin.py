"""The built-in recordings the model is checked on, with the candles that cover them.

* ``"dec2024"``: 2,463 BTCUSDT liquidations of 2024-12-04 → 12-29 over the built-in BTCUSDT 5m klines. Its
  windows of Dec 4-6 are the tuning windows; the others (Dec 7, 13, 16, 29) are holdout.
* ``"jun2025"``: Set D, every symbol's liquidations of 2025-06-23 20:59 → 21:56 UTC (one hour of the complete
  throttled stream), with 1m klines of nine perpetuals. A tuning set. It has no fill price, only the order
  price, which sits beyond the fill.

Files live in ``liq/data`` (provenance in ``liq/data/PROVENANCE.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

import pandas as pd

from .._config import ModelConfig
from .._errors import DataValidationError
from .model_check import ModelCheck, model_check, pool_checks
from .recordings import load_liquidations

__all__ = [
    "DEC2024_TUNING_END",
    "DEC2024_TUNING_WINDOWS",
    "SET_D_SYMBOLS",
    "check_set_d",
    "set_d_candles",
    "set_d_liquidations",
]

#: The only windows of the Dec 2024 BTCUSDT recording the model's defaults were chosen on (UTC start, end).
DEC2024_TUNING_WINDOWS: tuple[tuple[str, str], ...] = (
    ("2024-12-04 16:46", "2024-12-05 01:54"),
    ("2024-12-05 06:43", "2024-12-05 08:29"),
    ("2024-12-05 17:03", "2024-12-05 20:47"),
    ("2024-12-06 18:08", "2024-12-06 20:26"),
)
#: Where the Dec 2024 tuning windows end: every later window of that recording is holdout (reported, never fitted).
DEC2024_TUNING_END = pd.Timestamp("2024-12-07", tz="UTC")

#: The nine perpetuals of Set D that have 1m klines.
SET_D_SYMBOLS: tuple[str, ...] = (
    "ADAUSDT",
    "BNBUSDT",
    "BTCUSDT",
    "DOGEUSDT",
    "DOTUSDT",
    "ETHUSDT",
    "LTCUSDT",
    "SOLUSDT",
    "XRPUSDT",
)
_SET_D_KLINES = "{symbol}_1m_2025-06-22_2025-06-24.csv.gz"
_SET_D_LIQ = "multi_liquidations_2025-06-23.csv.gz"


def _read(name: str) -> pd.DataFrame:
    with resources.files("liq").joinpath("data").joinpath("set_d").joinpath(name).open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")


@functools.lru_cache(maxsize=len(SET_D_SYMBOLS))
def _candles(symbol: str) -> pd.DataFrame:
    df = _read(_SET_D_KLINES.format(symbol=symbol))
    out = df[["open", "high", "low", "close", "volume"]].astype("float64")
    out.insert(0, "open_time", pd.to_datetime(df["open_time_ms"], unit="ms", utc=True))
    return out


def set_d_candles(symbol: str) -> pd.DataFrame:
    """1m klines (OHLCV, no quote or taker volume) of one Set D symbol, 2025-06-22 → 06-24 (a copy).

    Examples
    --------
    >>> c = set_d_candles("SOLUSDT")
    >>> c.columns.tolist(), str(c["open_time"].iloc[0])
    (['open_time', 'open', 'high', 'low', 'close', 'volume'], '2025-06-22 00:00:00+00:00')
    """
    sym = str(symbol).upper()
    if sym not in SET_D_SYMBOLS:
        raise DataValidationError(
            f"The June 2025 recording has candles for {', '.join(SET_D_SYMBOLS)}; {symbol!r:.30} is not one of them."
        )
    return _candles(sym).copy()


@functools.lru_cache(maxsize=1)
def _liquidations() -> pd.DataFrame:
    with resources.files("liq").joinpath("data").joinpath("set_d").joinpath(_SET_D_LIQ).open("rb") as fh:
        return load_liquidations(pd.read_csv(fh, compression="gzip"))


def set_d_liquidations() -> pd.DataFrame:
    """Every liquidation of the Set D hour (all 200 symbols), as :func:`liq.load_liquidations` returns it.

    Examples
    --------
    >>> ev = set_d_liquidations()
    >>> len(ev), int((ev["symbol"] == "BTCUSDT").sum())
    (1146, 57)
    """
    return _liquidations().copy()


def check_set_d(
    config: ModelConfig | None = None,
    symbols: Sequence[str] | str = "all",
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> ModelCheck:
    """Model check on Set D: one symbol, or ``"all"`` nine pooled (see :func:`liq._check.model_check.pool_checks`).

    The recording is one continuous hour, so it is one window; the estimate starts at the first candle
    (about 45 hours of history before the window).
    """
    events = _liquidations()
    if symbols == "all":
        names: tuple[str, ...] = tuple(s for s in SET_D_SYMBOLS if (events["symbol"] == s).any())
    else:
        names = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    checks = [
        model_check(set_d_candles(s), events, config, symbol=s, warmup=None, n_boot=n_boot, seed=seed)
        for s in names
    ]
    return checks[0] if len(checks) == 1 else pool_checks(checks, n_boot=n_boot, seed=seed)
