"""The vocabulary every market-data source shares, defined once.

Intervals, source names and labels, the symbol rule, Binance's kline layout, the engine's candle columns,
the argument checks, OHLCV re-bucketing, merging a freshly fetched tail, and the result types
(:class:`MarketData`, :class:`Fallback`, :class:`LoadResult`).

Imports run one way: this module imports no source; every source imports it; ``chain`` imports the sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._errors import DataValidationError, InvalidSymbolError

__all__ = [
    "BINANCE_KLINE_COLUMNS",
    "CANDLE_COLUMNS",
    "CONTRACT_PATTERN",
    "EARLIEST_TIME",
    "INTERVALS",
    "INTERVAL_MS",
    "LATEST_TIME",
    "MAX_OPEN_INTEREST_USD",
    "MAX_PRICE",
    "MAX_VOLUME",
    "MIN_CANDLES",
    "OPTIONAL_CANDLE_COLUMNS",
    "REQUIRED_CANDLE_COLUMNS",
    "SOURCES",
    "QUOTE_ASSETS",
    "SOURCE_LABELS",
    "SYMBOL_PATTERN",
    "WARMUP",
    "Fallback",
    "LoadResult",
    "MarketData",
    "ProgressFn",
    "Request",
    "SourceName",
    "check_interval",
    "check_range",
    "check_request",
    "check_symbol",
    "kline_rows_frame",
    "merge_tail",
    "ms_to_utc",
    "nearest_symbols",
    "normalise_symbol",
    "resample_ohlcv",
    "say",
    "utc_now",
]

#: Length of each supported candle interval in milliseconds (the order is the order shown to users).
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
#: Candle intervals every source understands.
INTERVALS: tuple[str, ...] = tuple(INTERVAL_MS)

#: What each data source is called on screen, by the key used in code and in links.
SOURCE_LABELS: dict[str, str] = {
    "auto": "Auto (live → archive → sample)",
    "live": "Live Binance",
    "archive": "Binance public archive",
    "sample": "Built-in sample",
    "upload": "Upload CSV",
}
#: Values accepted by ``load_market_data(source=...)`` (an upload is read with ``load_upload``).
SOURCES: tuple[str, ...] = ("auto", "live", "archive", "sample")

#: A Binance USDⓈ-M perpetual's name: capitals and digits, 2 to 30 characters.
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,30}$")
#: Quote assets a perpetual's name ends with; a bare base asset ("btc", "sol") is read as its USDT perpetual.
QUOTE_ASSETS: tuple[str, ...] = ("USDT", "USDC")
# Exchange and charting spellings around a name: "BTC/USDT:USDT" (ccxt), "BTCUSDT.P", "BTC-USDT-PERP".
_SETTLE_SUFFIX = re.compile(r":[A-Z]+$")
_PERP_SUFFIX = re.compile(r"(?:[.\-_ ]?P|[.\-_ ]?PERP(?:ETUAL)?)$")
_SEPARATORS = re.compile(r"[\s/\-_.]+")


def normalise_symbol(text: object, known: Collection[str] | None = None) -> str:
    """A pair as Binance names the perpetual, from the common ways of writing it.

    Case, separators and perpetual suffixes go; a bare base asset gets USDT (with ``known``: only when that
    makes a known name, so a misspelt "BTCUSTD" is not turned into "BTCUSTDUSDT"). The result may still be a
    name Binance does not list: check it with :data:`SYMBOL_PATTERN` and the known symbols.

    >>> [normalise_symbol(t) for t in ("BTC/USDT", "btc", " sol ", "eth-usdt", "BTCUSDT.P", "BTC/USDT:USDT")]
    ['BTCUSDT', 'BTCUSDT', 'SOLUSDT', 'ETHUSDT', 'BTCUSDT', 'BTCUSDT']
    >>> normalise_symbol("1000pepe-usdt-perp"), normalise_symbol("ethusdc")
    ('1000PEPEUSDT', 'ETHUSDC')
    >>> normalise_symbol("btc", known={"BTCUSDT"}), normalise_symbol("btcustd", known={"BTCUSDT"})
    ('BTCUSDT', 'BTCUSTD')
    """
    name = _SETTLE_SUFFIX.sub("", str(text).strip().upper())
    if not name.endswith(QUOTE_ASSETS):
        name = _PERP_SUFFIX.sub("", name)
    name = _SEPARATORS.sub("", name)
    if name.isalnum() and 2 <= len(name) <= 12 and not name.endswith(QUOTE_ASSETS):
        quoted = name + QUOTE_ASSETS[0]
        return quoted if known is None or quoted in known else name
    return name


def nearest_symbols(text: object, known: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` names from ``known`` that look most like ``text`` (normalised first), best first.

    >>> nearest_symbols("BTCUSTD", ["BTCUSDT", "BTCDOMUSDT", "ETHUSDT"])
    ['BTCUSDT', 'BTCDOMUSDT']
    >>> nearest_symbols("pepe", ["1000PEPEUSDT", "PEOPLEUSDT", "BTCUSDT"])[0]
    '1000PEPEUSDT'
    """
    import difflib

    name = normalise_symbol(text, known=set(known))
    base = name.removesuffix(QUOTE_ASSETS[0]) if name.endswith(QUOTE_ASSETS[0]) else name
    holding = [k for k in known if len(base) >= 3 and base in k]
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)
    return list(dict.fromkeys([*sorted(holding, key=len), *close]))[:n]


#: Any USDⓈ-M contract name as it appears in recorded events: a perpetual, or a quarterly like BTCUSDT_250627.
CONTRACT_PATTERN = re.compile(r"^[A-Z0-9]{2,30}(?:_[0-9]{6})?$")

#: Columns every candle frame must have.
REQUIRED_CANDLE_COLUMNS: tuple[str, ...] = ("open_time", "open", "high", "low", "close", "volume")
#: Optional candle columns the engine uses when present.
OPTIONAL_CANDLE_COLUMNS: tuple[str, ...] = ("quote_volume", "taker_buy_volume")
#: Engine candle columns, required first, then the optional ones.
CANDLE_COLUMNS: tuple[str, ...] = REQUIRED_CANDLE_COLUMNS + OPTIONAL_CANDLE_COLUMNS
#: Fewest candles the engine accepts: fewer cannot show any sweep or approach.
MIN_CANDLES = 10
#: History an estimate needs before the time it is judged on (positions must exist before they can be swept).
WARMUP = pd.Timedelta(days=3)

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

#: Earliest and latest time any input may carry (Binance futures began in 2019; 2017 leaves room for spot).
EARLIEST_TIME = pd.Timestamp("2017-01-01", tz="UTC")
LATEST_TIME = pd.Timestamp("2100-01-01", tz="UTC")
#: Highest price accepted anywhere (far above any listed contract, far below where float maths breaks).
MAX_PRICE = 1e9
#: Highest volume of one candle accepted (base or quote units; far above any real candle).
MAX_VOLUME = 1e15
#: Highest open interest accepted, in USD (the whole market holds well under 10^12).
MAX_OPEN_INTEREST_USD = 1e13

SourceName = Literal["live", "archive", "sample", "upload"]
ProgressFn = Callable[[str], None]


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
    """What ``load_market_data`` returns: the data, plus the fallbacks taken to get it (oldest first)."""

    data: MarketData
    fallbacks: list[Fallback] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The fallback reasons, ready to display (empty when the first choice worked)."""
        return [f.reason for f in self.fallbacks]


def utc_now() -> datetime:
    """The current time, tz-aware UTC. Only call this at a boundary (CLI, page), never inside the model."""
    return datetime.now(timezone.utc)


def say(progress: ProgressFn | None, message: str) -> None:
    """Pass a status message to ``progress`` when there is one."""
    if progress is not None:
        progress(message)


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
    if not SYMBOL_PATTERN.match(norm):
        shown = symbol if len(symbol) <= 40 else symbol[:40] + "…"
        raise InvalidSymbolError(
            f"{shown!r} is not a Binance futures symbol. Use the contract name in capitals, e.g. BTCUSDT or ETHUSDT."
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
        shown = repr(interval)[:40]
        raise DataValidationError(f"Interval {shown} is not supported; choose one of {', '.join(INTERVALS)}.")
    return str(interval)


def check_range(start: datetime, end: datetime) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Check that start/end are tz-aware, ordered and within the supported years; return UTC Timestamps.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> check_range(datetime(2024, 12, 1, tzinfo=timezone.utc), datetime(2024, 12, 2, tzinfo=timezone.utc))[1]
    Timestamp('2024-12-02 00:00:00+0000', tz='UTC')
    """
    out: list[pd.Timestamp] = []
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, (datetime, pd.Timestamp)):
            raise DataValidationError(f"{name} must be a datetime, not {type(value).__name__}.")
        if value.tzinfo is None:
            raise DataValidationError(
                f"{name} has no time zone; pass a UTC time, e.g. datetime(2024, 12, 1, tzinfo=timezone.utc)."
            )
        if not EARLIEST_TIME.to_pydatetime() <= value <= LATEST_TIME.to_pydatetime():
            raise DataValidationError(
                f"{name} ({value:%Y-%m-%d}) is outside the supported years "
                f"{EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d}."
            )
        out.append(pd.Timestamp(value).tz_convert("UTC"))
    if out[1] <= out[0]:
        raise DataValidationError(f"The range is empty: end ({out[1]}) must be after start ({out[0]}).")
    return out[0], out[1]


@dataclass(frozen=True)
class Request:
    """A checked request for market data: normalised symbol, supported interval, UTC range and clock."""

    symbol: str
    interval: str
    start: pd.Timestamp
    end: pd.Timestamp
    now: pd.Timestamp


def check_request(
    symbol: object, interval: object, start: datetime, end: datetime, now: datetime | None = None
) -> Request:
    """Check every argument a source takes (the clock is read here when ``now`` is None).

    Examples
    --------
    >>> r = check_request("ethusdt", "1h", datetime(2024, 12, 1, tzinfo=timezone.utc),
    ...                   datetime(2024, 12, 2, tzinfo=timezone.utc), datetime(2024, 12, 3, tzinfo=timezone.utc))
    >>> r.symbol, r.interval, str(r.now)
    ('ETHUSDT', '1h', '2024-12-03 00:00:00+00:00')
    """
    sym = check_symbol(symbol)
    iv = check_interval(interval)
    t0, t1 = check_range(start, end)
    now_ts = pd.Timestamp(now if now is not None else utc_now())
    if now_ts.tzinfo is None:
        raise DataValidationError("now has no time zone; pass a tz-aware UTC time.")
    return Request(sym, iv, t0, t1, now_ts.tz_convert("UTC"))


def utc_ns(values: Any) -> np.ndarray:
    """UTC epoch nanoseconds (int64) of datetimes: a tz-aware Series (any zone or unit, read without
    parsing), or anything ``pd.to_datetime(..., utc=True)`` reads (naive times count as UTC).

    Examples
    --------
    >>> utc_ns(pd.Series(pd.to_datetime(["2024-12-01 09:00"]).tz_localize("Asia/Tokyo"))).tolist()
    [1733011200000000000]
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def ms_to_utc(ms: object) -> pd.DatetimeIndex:
    """Epoch milliseconds (array-like of int) to a tz-aware UTC ``datetime64[ns]`` index.

    Examples
    --------
    >>> ms_to_utc([1733011200000])[0]
    Timestamp('2024-12-01 00:00:00+0000', tz='UTC')
    """
    values = np.asarray(ms, dtype=np.int64)
    return pd.DatetimeIndex(pd.to_datetime(values, unit="ms", utc=True)).as_unit("ns")


#: Kline fields the engine reads, by position in :data:`BINANCE_KLINE_COLUMNS`.
_KLINE_FLOATS: dict[str, int] = {
    name: BINANCE_KLINE_COLUMNS.index(name) for name in CANDLE_COLUMNS if name != "open_time"
}


def kline_rows_frame(rows: Sequence[Sequence[Any]] | np.ndarray) -> pd.DataFrame:
    """Binance kline rows (12 fields, numbers or their text) to the engine's candle columns.

    Open times in microseconds (newer archive files) are converted to milliseconds. Raises ``ValueError``
    or ``TypeError`` when a field is not a number; each source turns that into its own message.

    Examples
    --------
    >>> row = [1733011200000, "100", "101", "99", "100.5", "3", 0, "300", 1, "1.5", "150", "0"]
    >>> kline_rows_frame([row])[["open_time", "close", "taker_buy_volume"]].to_dict("records")
    [{'open_time': Timestamp('2024-12-01 00:00:00+0000', tz='UTC'), 'close': 100.5, 'taker_buy_volume': 1.5}]
    """
    width = 1 + max(_KLINE_FLOATS.values())
    if isinstance(rows, np.ndarray) and rows.ndim == 2:  # a table's cells: convert whole columns at once
        if rows.shape[1] < width:
            raise ValueError("a kline row has too few fields")
        ms = rows[:, 0].astype(np.int64)
        columns = {name: rows[:, i].astype(np.float64) for name, i in _KLINE_FLOATS.items()}
    else:
        if any(len(r) < width for r in rows):
            raise ValueError("a kline row has too few fields")
        ms = np.array([int(r[0]) for r in rows], dtype=np.int64)
        columns = {
            name: np.array([r[i] for r in rows], dtype=np.float64) for name, i in _KLINE_FLOATS.items()
        }
    if len(ms) and ms.max() > 10**14:  # microseconds
        ms = ms // 1000
    return pd.DataFrame({"open_time": ms_to_utc(ms), **columns})


def resample_ohlcv(candles: pd.DataFrame, step_ms: int, *, complete: int | None = None) -> pd.DataFrame:
    """Re-bucket candles into ``step_ms`` buckets (open first, high max, low min, close last, volumes summed).

    Parameters
    ----------
    candles : DataFrame
        ``open_time`` (UTC) and the OHLCV columns; optional volume columns are summed when present.
    step_ms : int
        Bucket length in milliseconds; buckets start at multiples of it since the epoch.
    complete : int, optional
        Keep only buckets made of exactly this many candles (incomplete buckets are dropped).

    Examples
    --------
    >>> t = pd.date_range("2024-12-01", periods=4, freq="5min", tz="UTC")
    >>> c = pd.DataFrame({"open_time": t, "open": [1.0, 2, 3, 4], "high": [2.0, 3, 4, 5],
    ...                   "low": [0.5, 1, 2, 3], "close": [2.0, 3, 4, 5], "volume": 1.0})
    >>> resample_ohlcv(c, 600_000)[["open", "high", "low", "close", "volume"]].to_numpy().tolist()
    [[1.0, 3.0, 0.5, 3.0, 2.0], [3.0, 5.0, 2.0, 5.0, 2.0]]
    """
    ms = candles["open_time"].to_numpy("datetime64[ms]").astype(np.int64)
    sums = ["volume", *(c for c in OPTIONAL_CANDLE_COLUMNS if c in candles.columns)]
    spec: dict[str, tuple[str, str]] = {
        "open": ("open", "first"),
        "high": ("high", "max"),
        "low": ("low", "min"),
        "close": ("close", "last"),
        **{c: (c, "sum") for c in sums},
        "_n": ("open", "size"),
    }
    grouped = candles.assign(_bucket=ms // step_ms * step_ms).groupby("_bucket", sort=True).agg(**spec)
    if complete is not None:
        grouped = grouped[grouped["_n"] == complete]
    out = pd.DataFrame({"open_time": ms_to_utc(grouped.index.to_numpy(np.int64))})
    for col in ("open", "high", "low", "close", *sums):
        out[col] = grouped[col].to_numpy(np.float64)
    return out


def merge_tail(base: MarketData, tail: MarketData | None, window: timedelta) -> MarketData:
    """Append freshly fetched candles to ``base`` (the newer copy of a candle wins), keep the last ``window``.

    Open interest is merged the same way when both have it. ``tail=None`` or an empty tail returns ``base``.
    """
    if tail is None or len(tail.candles) == 0:
        return base
    cols = [c for c in base.candles.columns if c in tail.candles.columns]
    merged = pd.concat([base.candles[cols], tail.candles[cols]], ignore_index=True)
    merged = merged.drop_duplicates("open_time", keep="last").sort_values("open_time", ignore_index=True)
    merged = merged[merged["open_time"] >= merged["open_time"].iloc[-1] - window].reset_index(drop=True)
    oi = base.open_interest
    if oi is not None and tail.open_interest is not None:
        oi = (
            pd.concat([oi, tail.open_interest], ignore_index=True)
            .drop_duplicates("time", keep="last")
            .sort_values("time", ignore_index=True)
        )
    return MarketData(
        candles=merged,
        open_interest=oi,
        symbol=base.symbol,
        interval=base.interval,
        source=base.source,
        note=base.note,
    )
