"""One interface over every market-data source, with the automatic fallback chain.

``load_market_data(..., source="auto")`` tries live Binance first, then the Binance public data archive, then
the built-in sample, and records every step it skipped as a :class:`Fallback` whose ``reason`` a page can
show word for word. Asking for one source by name never falls back: that source either delivers or raises
one of the :mod:`liq._errors` types.

Choice made for invalid symbols: with ``source="auto"`` an unknown symbol raises
:class:`~liq._errors.InvalidSymbolError` instead of quietly showing a different market, because no source
has data for it. A page that would rather show something can catch that error and call
``load_market_data(sample_symbols()[0], ..., source="sample")`` itself, telling the user it did so.

Nothing here reads the clock except at the boundary: ``now`` is a parameter whose default is "now, UTC".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._errors import DataValidationError, GeoBlockedError, InvalidSymbolError, NoDataError, SourceError
from ._validate import OPTIONAL_CANDLE_COLUMNS, REQUIRED_CANDLE_COLUMNS

__all__ = [
    "BINANCE_KLINE_COLUMNS",
    "CANDLE_COLUMNS",
    "INTERVALS",
    "INTERVAL_MS",
    "SOURCES",
    "Fallback",
    "LoadResult",
    "MarketData",
    "ProgressFn",
    "SourceName",
    "check_interval",
    "check_range",
    "check_symbol",
    "empty_candles",
    "load_market_data",
    "ms_to_utc",
    "utc_now",
]

#: Candle intervals every source understands.
INTERVALS: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h")
#: Length of each interval in milliseconds.
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
}
#: Values accepted by ``load_market_data(source=...)``.
SOURCES: tuple[str, ...] = ("auto", "live", "archive", "sample")
#: Engine candle columns, required first, then the optional ones.
CANDLE_COLUMNS: tuple[str, ...] = REQUIRED_CANDLE_COLUMNS + OPTIONAL_CANDLE_COLUMNS

#: Binance's 12-column kline layout (REST arrays, archive CSVs, and the upload format without a header).
BINANCE_KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)

SourceName = Literal["live", "archive", "sample", "upload"]
ProgressFn = Callable[[str], None]

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class MarketData:
    """Candles (and open interest when the source has it) from one source, ready for ``liq.estimate``.

    Attributes
    ----------
    candles : DataFrame
        ``open_time`` (UTC), ``open, high, low, close, volume`` (float64) and, when the source has them,
        ``quote_volume`` and ``taker_buy_volume``. Sorted, no duplicate times.
    open_interest : DataFrame or None
        ``time`` (UTC) and ``open_interest_usd``; None when the source has no open interest.
    symbol : str
        For example ``"BTCUSDT"``.
    interval : str
        Interval of the candles actually returned (may differ from the one asked for; see ``note``).
    source : {"live", "archive", "sample", "upload"}
        Where the data came from.
    note : str
        Plain-language description of the data, including anything the user should know about it.
    """

    candles: pd.DataFrame
    open_interest: pd.DataFrame | None
    symbol: str
    interval: str
    source: SourceName
    note: str


@dataclass(frozen=True)
class Fallback:
    """One source the automatic chain skipped, and why (text meant to be shown to the user as is)."""

    source: str
    reason: str


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_market_data` returns: the data, plus the fallbacks taken to get it (oldest first)."""

    data: MarketData
    fallbacks: list[Fallback] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The fallback reasons, ready to display (empty when the first choice worked)."""
        return [f.reason for f in self.fallbacks]


def utc_now() -> datetime:
    """The current time, tz-aware UTC. Only call this at a boundary (CLI, page), never inside the model."""
    return datetime.now(timezone.utc)


def check_symbol(symbol: object) -> str:
    """Normalise a symbol (upper case, no spaces) or raise InvalidSymbolError.

    Examples
    --------
    >>> check_symbol(" btcusdt ")
    'BTCUSDT'
    >>> check_symbol("BTC/USDT")
    Traceback (most recent call last):
    ...
    liq._errors.InvalidSymbolError: 'BTC/USDT' is not a Binance futures symbol. Use the contract name in capitals, e.g. BTCUSDT or ETHUSDT.
    """
    if not isinstance(symbol, str):
        raise InvalidSymbolError(f"The symbol must be text such as BTCUSDT, not {type(symbol).__name__}.")
    norm = symbol.strip().upper()
    if not _SYMBOL_RE.match(norm):
        raise InvalidSymbolError(
            f"{symbol!r} is not a Binance futures symbol. Use the contract name in capitals, e.g. BTCUSDT or ETHUSDT."
        )
    return norm


def check_interval(interval: object) -> str:
    """Return the interval if supported, else raise DataValidationError naming the choices.

    Examples
    --------
    >>> check_interval("1h")
    '1h'
    """
    if interval not in INTERVAL_MS:
        raise DataValidationError(
            f"Interval {interval!r} is not supported; choose one of {', '.join(INTERVALS)}."
        )
    return str(interval)


def check_range(start: datetime, end: datetime) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Check that start/end are tz-aware and ordered; return them as UTC Timestamps.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> check_range(datetime(2024, 12, 1, tzinfo=timezone.utc), datetime(2024, 12, 2, tzinfo=timezone.utc))[1]
    Timestamp('2024-12-02 00:00:00+0000', tz='UTC')
    """
    out: list[pd.Timestamp] = []
    for name, value in (("start", start), ("end", end)):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            raise DataValidationError(
                f"{name} has no time zone; pass a UTC time, e.g. datetime(2024, 12, 1, tzinfo=timezone.utc)."
            )
        out.append(ts.tz_convert("UTC"))
    if out[1] <= out[0]:
        raise DataValidationError(f"The range is empty: end ({out[1]}) must be after start ({out[0]}).")
    return out[0], out[1]


def empty_candles() -> pd.DataFrame:
    """An empty frame with the engine's candle columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in CANDLE_COLUMNS})
    frame["open_time"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def ms_to_utc(ms: object) -> pd.DatetimeIndex:
    """Epoch milliseconds (array-like of int) to a tz-aware UTC ``datetime64[ns]`` index.

    Examples
    --------
    >>> ms_to_utc([1733011200000])[0]
    Timestamp('2024-12-01 00:00:00+0000', tz='UTC')
    """
    values = np.asarray(ms, dtype=np.int64)
    return pd.DatetimeIndex(pd.to_datetime(values, unit="ms", utc=True)).as_unit("ns")


def _say(progress: ProgressFn | None, message: str) -> None:
    if progress is not None:
        progress(message)


def load_market_data(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    source: str = "auto",
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    cache_dir: str | Path | None = None,
) -> LoadResult:
    """Load candles (and open interest when available) for ``[start, end)`` from one source or the chain.

    Parameters
    ----------
    symbol : str
        Binance USDⓈ-M perpetual, e.g. ``"BTCUSDT"``.
    interval : {"1m", "5m", "15m", "1h", "4h"}
        Candle interval.
    start, end : datetime
        Tz-aware; ``end`` is exclusive.
    source : {"auto", "live", "archive", "sample"}
        ``"auto"`` tries live, then the archive, then the built-in sample, and records each fallback.
        A named source never falls back: it raises instead.
    progress : callable(str), optional
        Receives short status messages such as ``"Fetching klines 3/5 pages…"``.
    now : datetime, optional
        The current time (tz-aware). Defaults to the clock; pass it explicitly in tests.
    cache_dir : str or Path, optional
        Folder for the archive's disk cache (default: ``$LIQ_CACHE_DIR`` or ``~/.cache/liq-heatmap``).

    Returns
    -------
    LoadResult
        ``.data`` is the :class:`MarketData`; ``.fallbacks`` lists the sources skipped, with reasons.

    Raises
    ------
    InvalidSymbolError
        The symbol does not exist (any source, including ``"auto"``; see the module docstring). With
        ``"auto"`` every other failure of live or the archive, expected or not, moves on to the next source.
    GeoBlockedError, NetworkError, RateLimitError, NoDataError, SourceError
        From a named source; from ``"auto"`` only when every source failed.
    DataValidationError
        Bad interval, range or source name.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> res = load_market_data("BTCUSDT", "1h", datetime(2024, 12, 1, tzinfo=timezone.utc),
    ...                        datetime(2024, 12, 3, tzinfo=timezone.utc), source="sample")
    >>> res.data.source, res.data.interval, len(res.data.candles), res.fallbacks
    ('sample', '1h', 48, [])
    """
    from ._archive import load_archive
    from ._binance_live import load_live
    from ._sample import load_sample

    sym = check_symbol(symbol)
    iv = check_interval(interval)
    t0, t1 = check_range(start, end)
    if source not in SOURCES:
        raise DataValidationError(f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}.")
    now_ts = pd.Timestamp(now if now is not None else utc_now())
    if now_ts.tzinfo is None:
        raise DataValidationError("now has no time zone; pass a tz-aware UTC time.")
    now_dt = now_ts.tz_convert("UTC").to_pydatetime()
    s, e = t0.to_pydatetime(), t1.to_pydatetime()

    if source == "live":
        return LoadResult(load_live(sym, iv, s, e, progress=progress, now=now_dt))
    if source == "archive":
        return LoadResult(load_archive(sym, iv, s, e, progress=progress, now=now_dt, cache_dir=cache_dir))
    if source == "sample":
        return LoadResult(load_sample(sym, iv, s, e))

    failures: list[tuple[str, str]] = []
    try:
        return LoadResult(load_live(sym, iv, s, e, progress=progress, now=now_dt))
    except InvalidSymbolError:
        raise
    except Exception as exc:  # auto must still show data when a source breaks unexpectedly
        failures.append(("live", _failure_text("live", exc)))
        _say(progress, "Live Binance unavailable; trying the Binance public archive…")

    try:
        data = load_archive(sym, iv, s, e, progress=progress, now=now_dt, cache_dir=cache_dir)
    except Exception as exc:  # same: fall back to the built-in sample
        failures.append(("archive", _failure_text("archive", exc)))
        _say(progress, "Binance archive unavailable; using the built-in sample…")
    else:
        last_day = data.candles["open_time"].iloc[-1].date().isoformat()
        return LoadResult(data, _fallbacks(failures, f"Showing archive data up to {last_day}."))

    try:
        data = load_sample(sym, iv, s, e)
    except InvalidSymbolError as exc:
        reasons = " ".join(text for _, text in failures)
        raise NoDataError(f"No source could deliver {sym}. {reasons} {exc}") from None
    return LoadResult(data, _fallbacks(failures, f"Showing the built-in sample instead: {data.note}"))


def _fallbacks(failures: list[tuple[str, str]], showing: str) -> list[Fallback]:
    """Turn (source, failure text) pairs into Fallbacks; the last one also says what is shown instead."""
    out = [Fallback(src, text) for src, text in failures[:-1]]
    src, text = failures[-1]
    out.append(Fallback(src, f"{text} {showing}"))
    return out


def _failure_text(source: str, exc: Exception) -> str:
    """One sentence saying which source failed and why, for the page to show.

    Errors of our own types carry a message written for users. Anything else is a fault in a source (or a
    library under it); ``auto`` still falls back, and the text names the error so it can be reported.
    """
    if source == "live" and isinstance(exc, GeoBlockedError):
        return "Live Binance unavailable here (HTTP 451: restricted location)."
    name = "Live Binance" if source == "live" else "Binance public archive"
    if isinstance(exc, SourceError):
        return f"{name} unavailable: {exc}"
    return (
        f"{name} failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]}). This looks like a bug; "
        "please report it."
    )
