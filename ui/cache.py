"""The one cached layer between the pages and ``liq``: the only module that uses ``st.cache_data``.

* Market data is cached per (symbol, interval, range, source, end bucket).
* The estimate has its own bounded cache keyed on a cheap fingerprint of the data plus the (frozen,
  hashable) ``ModelConfig``: changing a model setting never refetches, and refetching identical data never
  re-estimates.
* Every cache has a ``ttl`` and ``max_entries``. Nothing here reads a widget.

Errors from ``liq`` are not cached: they propagate to the page, which shows them as messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import streamlit as st

import liq
from liq import LoadResult, MarketData, load_market_data, sample_symbols

try:  # used only to let progress messages reach an st.status created outside a cached function
    from streamlit.runtime.caching.cached_message_replay import in_cached_function as _in_cached_function
except ImportError:  # pragma: no cover - a future Streamlit moved it: progress messages are then skipped
    _in_cached_function = None

__all__ = [
    "DataKey",
    "data_key",
    "end_bucket",
    "estimate",
    "fetch_market",
    "fetch_tail",
    "model_check",
    "parse_upload",
    "symbol_list",
]

DataKey = tuple[Any, ...]

#: Heatmap columns kept by the app's estimate (the chart draws ≤ 1,200; memory stays bounded for 1m × 30d).
APP_TIME_COLUMNS = 1000


def _outside_replay(progress: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Wrap a progress callback so its Streamlit calls are not recorded as part of the cached function.

    ``st.cache_data`` records element calls made during a cached call and replays them on a hit; a call on
    a container created outside the function (our ``st.status``) cannot be replayed and would fail on the
    next hit. Progress messages are only meaningful while the fetch really runs, so they are sent live and
    not recorded. If Streamlit's internals change, the messages are dropped rather than risk the error.
    """
    if progress is None or _in_cached_function is None:
        return None
    flag = _in_cached_function

    def say(message: str) -> None:
        token = flag.set(False)
        try:
            progress(message)
        finally:
            flag.reset(token)

    return say


def end_bucket(now: datetime | None = None, *, minutes: int = 1) -> datetime:
    """``now`` floored to ``minutes`` (UTC): the cache key's notion of "now"."""
    now = now or datetime.now(timezone.utc)
    floored = now.replace(second=0, microsecond=0)
    return floored - timedelta(minutes=floored.minute % minutes) if minutes > 1 else floored


@st.cache_data(ttl=timedelta(minutes=15), max_entries=24, show_spinner=False)
def fetch_market(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    source: str,
    _progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """``liq.load_market_data`` with a cache. ``end`` should be bucketed (see :func:`end_bucket`)."""
    return load_market_data(symbol, interval, start, end, source, progress=_outside_replay(_progress))


@st.cache_data(ttl=timedelta(seconds=50), max_entries=8, show_spinner=False)
def fetch_tail(symbol: str, interval: str, since: datetime, end: datetime) -> MarketData | None:
    """The newest live candles since ``since`` (for the auto-refresh); None when live is unavailable."""
    try:
        return load_market_data(symbol, interval, since, end, "live").data
    except liq.LiqError:
        return None


def merge_tail(base: MarketData, tail: MarketData | None, window: timedelta) -> MarketData:
    """Append the refreshed candles to ``base`` (replacing the still-open last candle), keep ``window``."""
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


def data_key(md: MarketData, extra: str = "") -> DataKey:
    """A cheap fingerprint of the data: identity, size, first/last time and a few sums (no full hash)."""
    c = md.candles
    first = str(c["open_time"].iloc[0]) if len(c) else ""
    last = str(c["open_time"].iloc[-1]) if len(c) else ""
    sums = (
        round(float(c["close"].iloc[-1]), 10) if len(c) else 0.0,
        round(float(c["volume"].sum()), 6) if len(c) else 0.0,
        round(float(c["high"].iloc[-1]), 10) if len(c) else 0.0,
        round(float(c["low"].iloc[-1]), 10) if len(c) else 0.0,
    )
    oi = md.open_interest
    oi_part = (len(oi), str(oi["time"].iloc[-1]) if len(oi) else "") if oi is not None else None
    return (md.symbol, md.interval, md.source, len(c), first, last, sums, oi_part, extra)


@st.cache_data(ttl=timedelta(minutes=30), max_entries=8, show_spinner=False)
def estimate(key: DataKey, config: liq.ModelConfig, _data: MarketData) -> liq.Estimate:
    """``liq.estimate`` cached on (data fingerprint, config). ``_data`` is not hashed (see ``key``)."""
    return liq.estimate(
        _data.candles,
        open_interest=_data.open_interest,
        config=config.with_(time_columns=APP_TIME_COLUMNS),
        symbol=_data.symbol,
    )


@st.cache_data(ttl=timedelta(minutes=20), max_entries=4, show_spinner=False)
def symbol_list(source: str) -> tuple[tuple[str, ...], str]:
    """Symbols for the pair picker and where they came from (exchange info when live answers)."""
    sample = tuple(sample_symbols())
    if source not in ("auto", "live"):
        return sample, "sample"
    try:
        symbols = liq.live_symbols(timeout_s=5.0)
    except Exception:  # any failure (offline, 451, blocked): the sample's symbols are still a valid choice
        return sample, "sample"
    return (symbols or sample), ("live" if symbols else "sample")


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest()[:16] if data else ""


@st.cache_data(ttl=timedelta(hours=1), max_entries=8, show_spinner=False)
def parse_upload(klines: bytes, oi: bytes | None, symbol: str) -> MarketData:
    """Parse an uploaded kline CSV (and optional open-interest CSV) into ``MarketData``."""
    return liq.load_upload(klines, oi, symbol=symbol)


# --- model check --------------------------------------------------------------------------------------------
BUILTIN_RECORDINGS: dict[str, tuple[str, str]] = {
    "dec2024": ("BTCUSDT_liquidations_2024-12-04_2024-12-29.csv.gz", "Dec 2024 BTCUSDT recording (built-in)"),
    "oct2025": (
        "BTCUSDT_ETHUSDT_liquidations_excerpt_2025-10-22.csv.gz",
        "Oct 2025 BTCUSDT/ETHUSDT excerpt (built-in)",
    ),
}


@st.cache_data(ttl=timedelta(hours=6), max_entries=4, show_spinner=False)
def recording(rec_id: str) -> pd.DataFrame:
    """A built-in liquidation recording, read with ``liq.load_liquidations``."""
    from pathlib import Path

    path = Path(liq.__file__).resolve().parent / "data" / BUILTIN_RECORDINGS[rec_id][0]
    return liq.load_liquidations(path)


@st.cache_data(ttl=timedelta(hours=1), max_entries=4, show_spinner=False)
def recording_upload(data: bytes) -> pd.DataFrame:
    """An uploaded liquidation recording (CSV, optionally gzip-compressed)."""
    import io

    return liq.load_liquidations(io.BytesIO(data))


@st.cache_data(ttl=timedelta(hours=1), max_entries=8, show_spinner=False)
def model_check(
    key: DataKey,
    config: liq.ModelConfig,
    rec_key: str,
    symbol: str,
    _candles: pd.DataFrame,
    _events: pd.DataFrame,
) -> Any:
    """``liq.model_check`` cached on (candles fingerprint, config, recording id, symbol)."""
    return liq.model_check(_candles, _events, config, symbol=symbol)


@st.cache_data(ttl=timedelta(minutes=30), max_entries=12, show_spinner=False)
def chart_payload(
    key: DataKey, config: liq.ModelConfig, threshold: float, max_levels: int, _est: liq.Estimate
) -> dict[str, Any]:
    """The chart component's payload, cached on (data fingerprint, config, colour threshold, level count)."""
    return liq.build_chart_payload(_est, threshold=float(threshold), max_levels=int(max_levels))
