"""The built-in sample: real Binance USDⓈ-M 5m klines shipped in ``liq/data`` (see ``PROVENANCE.md`` there).

The sample works offline. It is 5-minute data only; coarser intervals are resampled from it, and ``1m`` is
answered with 5m candles and a note. When the requested range is outside the sample, the latest stretch of
the sample with the requested length is returned instead, and the note says so.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import numpy as np
import pandas as pd

from .._errors import InvalidSymbolError, NoDataError
from ._common import (
    INTERVAL_MS,
    MarketData,
    check_request,
    check_symbol,
    ms_to_utc,
    resample_ohlcv,
)

__all__ = ["SAMPLE_INTERVAL", "load_sample", "sample_coverage", "sample_symbols"]

#: The only interval stored in the sample.
SAMPLE_INTERVAL = "5m"
_FILE_RE = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)_5m_(?P<first>\d{4}-\d{2}-\d{2})_(?P<last>\d{4}-\d{2}-\d{2})\.csv\.gz$"
)
_STEP_MS = INTERVAL_MS[SAMPLE_INTERVAL]


@dataclass(frozen=True)
class _Segment:
    symbol: str
    filename: str
    first: pd.Timestamp  # open time of the first candle
    end: pd.Timestamp  # open time of the last candle + 5 min (exclusive end)


def _data_files() -> list[str]:
    root = resources.files("liq").joinpath("data")
    return sorted(entry.name for entry in root.iterdir() if _FILE_RE.match(entry.name))


@functools.lru_cache(maxsize=16)
def _read(filename: str) -> pd.DataFrame:
    raw = resources.files("liq").joinpath("data").joinpath(filename).read_bytes()
    frame = pd.read_csv(io.BytesIO(raw), compression="gzip")
    out = pd.DataFrame({"open_time": ms_to_utc(frame["open_time_ms"].to_numpy(np.int64))})
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = frame[col].to_numpy(np.float64)
    return out


_SEGMENTS_LOCK = threading.Lock()


def _segments() -> tuple[_Segment, ...]:
    """Every sample file's span (read once; the lock keeps a pool of screener threads from reading it twice)."""
    with _SEGMENTS_LOCK:
        return _segments_unlocked()


@functools.lru_cache(maxsize=1)
def _segments_unlocked() -> tuple[_Segment, ...]:
    segs = []
    for name in _data_files():
        m = _FILE_RE.match(name)
        assert m is not None
        times = _read(name)["open_time"]
        segs.append(
            _Segment(m["symbol"], name, times.iloc[0], times.iloc[-1] + pd.Timedelta(milliseconds=_STEP_MS))
        )
    return tuple(segs)


def sample_symbols() -> tuple[str, ...]:
    """Symbols available in the built-in sample.

    Examples
    --------
    >>> sample_symbols()[:4], len(sample_symbols())
    (('ADAUSDT', 'AVAXUSDT', 'BNBUSDT', 'BTCUSDT'), 10)
    """
    return tuple(sorted({s.symbol for s in _segments()}))


def sample_coverage(symbol: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The ``[first, end)`` time spans the sample holds for ``symbol``, oldest first.

    Examples
    --------
    >>> [(a.date().isoformat(), b.date().isoformat()) for a, b in sample_coverage("ETHUSDT")]
    [('2024-11-20', '2025-01-06'), ('2025-10-15', '2025-10-23'), ('2025-12-30', '2026-01-29')]
    """
    sym = check_symbol(symbol)
    return [(s.first, s.end) for s in _segments() if s.symbol == sym]


def _resample(candles: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Aggregate 5m candles into a coarser interval, keeping only complete buckets."""
    step = INTERVAL_MS[interval]
    factor = step // _STEP_MS
    if factor == 1:
        return candles.reset_index(drop=True)
    return resample_ohlcv(candles, step, complete=factor)


@functools.lru_cache(maxsize=64)
def _resampled_file(filename: str, interval: str) -> pd.DataFrame:
    """A whole sample file in ``interval`` candles (made once per process: ranges of it are then slices)."""
    return _resample(_read(filename), interval)


def _window(filename: str, interval: str, a: pd.Timestamp, b: pd.Timestamp) -> pd.DataFrame:
    """The complete ``interval`` candles of a sample file that lie inside ``[a, b)``.

    The same as resampling the 5m candles of ``[a, b)`` (buckets start at multiples of the interval since
    the epoch, and one that is cut by ``a`` or ``b`` is incomplete), without resampling on every request.
    """
    full = _resampled_file(filename, interval)
    open_ns = full["open_time"].to_numpy(dtype="datetime64[ns]").view(np.int64)  # sorted (resampled)
    span_ns = (INTERVAL_MS[interval] - _STEP_MS) * 1_000_000  # from a candle's open to its last 5m open
    # the candles with open >= a and last 5m open < b: one run of the sorted file, found by two bisections
    first = int(np.searchsorted(open_ns, pd.Timestamp(a).value, side="left"))
    end = int(np.searchsorted(open_ns + span_ns, pd.Timestamp(b).value, side="left"))
    return full.iloc[first : max(first, end)].reset_index(drop=True)


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def load_sample(symbol: str, interval: str, start: datetime, end: datetime) -> MarketData:
    """Candles for ``[start, end)`` from the built-in sample (no open interest).

    Parameters
    ----------
    symbol : str
        One of :func:`sample_symbols`.
    interval : {"1m", "5m", "15m", "1h", "4h", "1d"}
        ``1m`` is not in the sample: 5m candles are returned, and the note says so.
    start, end : datetime
        Tz-aware; ``end`` is exclusive. Outside the sample, the latest span of the same length is used
        (from the newest segment long enough, or the whole newest segment when none is).

    Raises
    ------
    InvalidSymbolError
        The sample has no such symbol.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> d = load_sample("ETHUSDT", "15m", datetime(2024, 12, 5, tzinfo=timezone.utc),
    ...                 datetime(2024, 12, 6, tzinfo=timezone.utc))
    >>> len(d.candles), d.interval, d.open_interest is None
    (96, '15m', True)
    >>> d = load_sample("BTCUSDT", "5m", datetime(2026, 11, 19, tzinfo=timezone.utc),
    ...                 datetime(2026, 11, 26, tzinfo=timezone.utc))
    >>> str(d.candles["open_time"].iloc[-1])
    '2026-01-29 06:30:00+00:00'
    """
    req = check_request(symbol, interval, start, end, start)  # the sample does not depend on the clock
    sym, iv, t0, t1 = req.symbol, req.interval, req.start, req.end
    segs = [s for s in _segments() if s.symbol == sym]
    if not segs:
        raise InvalidSymbolError(
            f"The built-in sample has no {sym}; it holds {', '.join(sample_symbols())} only."
        )
    notes: list[str] = []
    if iv == "1m":
        notes.append("1m candles are not in the built-in sample; using 5m candles instead.")
        iv = SAMPLE_INTERVAL
    length = t1 - t0

    def overlap(seg: _Segment) -> pd.Timedelta:
        return max(pd.Timedelta(0), min(seg.end, t1) - max(seg.first, t0))

    best = max(segs, key=overlap)
    if overlap(best) > pd.Timedelta(0):
        seg, a, b = best, max(best.first, t0), min(best.end, t1)
        if a > t0 or b < t1:
            notes.append(
                f"The sample covers only {_fmt(a)} → {_fmt(b)} UTC of the requested {_fmt(t0)} → {_fmt(t1)}."
            )
    else:
        long_enough = [s for s in segs if s.end - s.first >= length]
        seg = long_enough[-1] if long_enough else segs[-1]  # the newest: every pair then shows the same dates
        b = seg.end
        a = max(seg.first, b - length)
        days = (b - a) / pd.Timedelta(days=1)
        notes.append(
            f"The requested range ({_fmt(t0)} → {_fmt(t1)} UTC) is outside the built-in sample, so this shows "
            f"the latest {days:.3g} day(s) of the sample instead."
        )
    candles = _window(seg.filename, iv, a, b)
    if candles.empty:
        raise NoDataError(
            f"The built-in sample has no complete {iv} candle for {sym} between {_fmt(a)} and {_fmt(b)} UTC. "
            "Choose a longer range or a shorter interval."
        )
    first, last = candles["open_time"].iloc[0], candles["open_time"].iloc[-1]
    head = (
        f"Built-in sample: {sym} {iv}, {_fmt(first)} → {_fmt(last)} UTC, real Binance USDⓈ-M klines "
        "(OHLCV only, no open interest)."
    )
    if iv != SAMPLE_INTERVAL:
        head += " Resampled from 5m."
    note = " ".join([head, *notes])
    return MarketData(
        candles=candles, open_interest=None, symbol=sym, interval=iv, source="sample", note=note
    )
