"""The one cached layer between the pages and ``liq``: the only module that uses Streamlit's caches.

No caller builds a cache key. Market data (:class:`liq.MarketData`) is hashed by its content (a digest of its
candles, open interest and labels, :func:`market_digest`), so an estimate, a chart payload or a model check
can only ever be looked up with the data it was computed from, uploads included. The model settings are a
frozen, hashable :class:`liq.ModelConfig`; changing one never refetches, and refetching identical data never
re-estimates.

Results are ``st.cache_data`` (each caller gets its own copy), except the estimates: they are
``st.cache_resource``, one object shared read-only by every session, because copying an 8 MB heatmap grid out
of the cache on every rerun of every viewer was most of the server's memory under load
(``python -m benchmarks.load``). Their arrays are made read-only, and a test runs every page and checks that
the shared estimate comes out unchanged. The pages read :func:`page_estimate`, the estimate without its grids,
of which :data:`VIEWS_KEPT` stay cached (as do each view's chart text, tables and map), so a viewer's next
rerun of a view finds it all again; only the chart payload and the still heatmap take the full
:func:`estimate`, of which a few stay.

Every cache has a ``ttl`` and ``max_entries``. Nothing here reads a widget or draws anything: a cached
function that drew would have its drawing replayed on every cache hit. Errors from ``liq`` are not cached;
they reach the page, which shows them as messages.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import liq
from liq import LoadResult, MarketData, load_market_data, sample_symbols
from liq._check.builtin import check_set_d
from liq._check.recorded import BUILTIN_RECORDINGS
from liq._screen import ScreenRow, pairs_to_screen, screen_pair
from ui import altair_charts, tables, vega_specs
from ui.vega_specs import VegaSpec

__all__ = [
    "APP_TIME_COLUMNS",
    "BUILTIN_RECORDINGS",
    "Fetched",
    "chart_payload",
    "chart_payload_json",
    "check_scatter",
    "check_timeseries",
    "content_id",
    "end_bucket",
    "estimate",
    "fetch",
    "fetch_market",
    "fetch_tail",
    "full_estimate",
    "gauge_spec",
    "heatmap_spec",
    "levels_tables",
    "liquidation_map_spec",
    "market_digest",
    "model_check",
    "page_estimate",
    "parse_upload",
    "recording",
    "recording_upload",
    "screen_pairs",
    "screen_row",
    "symbol_list",
]

logger = logging.getLogger(__name__)

#: Heatmap columns kept by the app's estimate (the chart draws ≤ 1,200; memory stays bounded for 1m × 30d).
APP_TIME_COLUMNS = 1000


def content_id(data: bytes | None) -> str:
    """A short digest of some bytes (an uploaded file), "" for none."""
    return hashlib.blake2b(data, digest_size=8).hexdigest() if data else ""


def _frame_digest(frame: pd.DataFrame | None) -> bytes:
    if frame is None:
        return b"-"
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return b"|".join([",".join(map(str, frame.columns)).encode(), rows.tobytes()])


#: Cache misses that compute (estimate, chart payload, still charts, model checks) at once, server-wide. The
#: work is mostly Python under one interpreter lock, so more at once only splits the same CPU among them:
#: every viewer waits for the slowest, and each one's working memory is held at the same time.
HEAVY_AT_ONCE = 2
_HEAVY = threading.BoundedSemaphore(HEAVY_AT_ONCE)

#: Digests already computed, by the id of the (live) MarketData object: one rerun passes the same object to
#: several cached functions, and each would otherwise hash every candle again.
_DIGESTS: dict[int, tuple[weakref.ref[MarketData], str]] = {}


def market_digest(md: MarketData) -> str:
    """The identity of market data: a digest of every candle, the open interest and the labels.

    Computed once per object (``MarketData`` is frozen; its entry goes when the object does).
    """
    key = id(md)
    known = _DIGESTS.get(key)
    if known is not None and known[0]() is md:
        return known[1]
    return _remember(md, _digest(md))


def _remember(md: MarketData, digest: str) -> str:
    key = id(md)
    _DIGESTS[key] = (weakref.ref(md, lambda _ref: _DIGESTS.pop(key, None)), digest)
    return digest


def _digest(md: MarketData) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (md.symbol, md.interval, md.source, md.note):
        h.update(str(part).encode() + b"\0")
    h.update(_frame_digest(md.candles))
    h.update(_frame_digest(md.open_interest))
    return h.hexdigest()


#: How the cached functions' arguments are keyed: market data by content; a model config by its repr, which
#: names every field (it is a frozen dataclass) and is far cheaper than Streamlit's generic object hashing.
_HASH_DATA: dict[Any, Any] = {MarketData: market_digest, liq.ModelConfig: repr}


def end_bucket(now: datetime | None = None, *, minutes: int = 1) -> datetime:
    """``now`` floored to ``minutes`` (UTC): the fetch cache's notion of "now"."""
    now = now or datetime.now(timezone.utc)
    floored = now.replace(second=0, microsecond=0)
    return floored - timedelta(minutes=floored.minute % minutes) if minutes > 1 else floored


@dataclass(frozen=True)
class Fetched:
    """A load result, the progress messages the sources sent while it was fetched, and the data's
    :func:`market_digest`."""

    result: LoadResult
    steps: tuple[str, ...]
    digest: str


def fetch(symbol: str, interval: str, start: datetime, end: datetime, source: str) -> Fetched:
    """:func:`fetch_market`, with the digest its data was given when fetched known for the copy a cache hit
    returns, so the functions keyed on that data do not hash every candle again on each rerun."""
    fetched = fetch_market(symbol, interval, start, end, source)
    _remember(fetched.result.data, fetched.digest)
    return fetched


@st.cache_data(ttl=timedelta(minutes=15), max_entries=48, show_spinner=False)
def fetch_market(symbol: str, interval: str, start: datetime, end: datetime, source: str) -> Fetched:
    """``liq.load_market_data`` with a cache. ``end`` should be bucketed (see :func:`end_bucket`).

    The progress messages are collected and returned (the page shows them once the fetch is done), because
    a cached function must not draw.
    """
    steps: list[str] = []
    result = load_market_data(symbol, interval, start, end, source, progress=steps.append)
    return Fetched(result, tuple(steps), market_digest(result.data))


@st.cache_data(ttl=timedelta(seconds=50), max_entries=8, show_spinner=False)
def fetch_tail(symbol: str, interval: str, since: datetime, end: datetime) -> MarketData | None:
    """The newest live candles since ``since`` (for the auto-refresh); None when live is unavailable."""
    try:
        return load_market_data(symbol, interval, since, end, "live").data
    except liq.LiqError:
        return None


#: Views whose page estimate (:func:`page_estimate`, no heatmap grids) and whose drawn parts (chart JSON, tables,
#: map) stay cached: more than the 50 viewers the server is sized for (``python -m benchmarks.load``), so a
#: viewer's next rerun of the same view (a click, a share link, a reload, the other market page) finds them
#: instead of recomputing them after 8 other views pushed them out.
VIEWS_KEPT = 64
#: Full estimates (with their heatmap grids, 2-8 MB each) kept: only the chart payload and the still heatmap
#: read the grids, and both are cached per view themselves. 20 rather than 8: a viewer who opens the other
#: market page of the same view seconds later then finds it (``python -m benchmarks.load``, back-to-back
#: runs: p95 1.57 and 1.61 s with 8, 1.17 and 1.23 s with 20; peak RSS 428-432 → 454-497 MB).
FULL_ESTIMATES_KEPT = 20


def full_estimate(config: liq.ModelConfig, data: MarketData) -> liq.Estimate:
    """``liq.estimate`` of ``data`` with ``config`` as the app runs it (:data:`APP_TIME_COLUMNS` heatmap columns),
    not cached: for the rare caller outside a script run (a deferred download)."""
    return liq.estimate(
        data.candles,
        open_interest=data.open_interest,
        config=config.with_(time_columns=APP_TIME_COLUMNS),
        symbol=data.symbol,
    )


@st.cache_resource(
    ttl=timedelta(minutes=30), max_entries=FULL_ESTIMATES_KEPT, show_spinner=False, hash_funcs=_HASH_DATA
)
def estimate(config: liq.ModelConfig, data: MarketData) -> liq.Estimate:
    """:func:`full_estimate`, cached: shared by every session, not copied (read it, never change it; its
    heatmap arrays are read-only). Pages read :func:`page_estimate`; this is for what draws the heatmap."""
    with _HEAVY:
        est = full_estimate(config, data)
    for grid in (est.heatmap.long_usd, est.heatmap.short_usd, est.heatmap.price_edges):
        grid.flags.writeable = False
    return est


@st.cache_resource(
    ttl=timedelta(minutes=30), max_entries=VIEWS_KEPT, show_spinner=False, hash_funcs=_HASH_DATA
)
def page_estimate(config: liq.ModelConfig, data: MarketData) -> liq.Estimate:
    """The estimate a page reads (levels, zones, swept, summary, notes...): :func:`estimate` without its
    heatmap grids, which are 96 % of its memory, so many more views stay cached (:data:`VIEWS_KEPT`).

    Its ``heatmap`` keeps the column times and price edges; ``long_usd`` and ``short_usd`` have no columns
    (shape ``(0, P)``), so drawing from it fails instead of drawing an empty map: the chart payload and the
    still heatmap take :func:`estimate`. Everything else is the full estimate's own objects (shared, no copy).
    """
    est = estimate(config, data)
    hm = est.heatmap
    no_grid = np.empty((0, len(hm.price_edges) - 1))
    no_grid.flags.writeable = False
    return replace(est, heatmap=replace(hm, long_usd=no_grid, short_usd=no_grid))


@st.cache_data(ttl=timedelta(minutes=30), max_entries=12, show_spinner=False, hash_funcs=_HASH_DATA)
def chart_payload(
    config: liq.ModelConfig, data: MarketData, threshold: float, max_levels: int
) -> dict[str, Any]:
    """The chart component's payload for the estimate of ``data`` with ``config`` (itself cached)."""
    est = estimate(config, data)
    with _HEAVY:
        return liq.build_chart_payload(est, threshold=float(threshold), max_levels=int(max_levels))


@st.cache_data(ttl=timedelta(minutes=30), max_entries=VIEWS_KEPT, show_spinner=False, hash_funcs=_HASH_DATA)
def chart_payload_json(config: liq.ModelConfig, data: MarketData, threshold: float, max_levels: int) -> str:
    """:func:`chart_payload` written as JSON once, so a rerun sends the cached text instead of writing out
    ~200 KB of nested lists again."""
    from liq_chart import payload_to_json

    return payload_to_json(chart_payload(config, data, threshold, max_levels))


@st.cache_data(ttl=timedelta(minutes=30), max_entries=VIEWS_KEPT, show_spinner=False, hash_funcs=_HASH_DATA)
def levels_tables(config: liq.ModelConfig, data: MarketData) -> tables.LevelsTables:
    """The levels panel's and swept list's tables (and the CSV) of the estimate of ``data`` with ``config``,
    built once per view instead of on every rerun."""
    est = page_estimate(config, data)
    with _HEAVY:
        return tables.levels_tables(est, data)


# --- the still charts: built once per view and shared by every viewer of it ---------------------------------
@st.cache_data(ttl=timedelta(minutes=30), max_entries=VIEWS_KEPT, show_spinner=False, hash_funcs=_HASH_DATA)
def liquidation_map_spec(config: liq.ModelConfig, data: MarketData, window_pct: float) -> VegaSpec | None:
    """The liquidation map of the estimate of ``data`` with ``config``, ``window_pct`` around the price."""
    est = page_estimate(config, data)
    with _HEAVY:
        return vega_specs.as_arrow(vega_specs.liquidation_map(est, float(window_pct)))


@st.cache_data(ttl=timedelta(minutes=30), max_entries=24, show_spinner=False, hash_funcs=_HASH_DATA)
def heatmap_spec(config: liq.ModelConfig, data: MarketData, colour_threshold: float) -> VegaSpec | None:
    """The still heatmap of the estimate of ``data`` with ``config``; None when no cell is coloured."""
    est = estimate(config, data)
    with _HEAVY:
        return vega_specs.as_arrow(vega_specs.heatmap(est, colour_threshold=float(colour_threshold)))


@st.cache_data(ttl=timedelta(hours=1), max_entries=256, show_spinner=False)
def gauge_spec(asymmetry: float) -> VegaSpec:
    """The asymmetry gauge with its marker at ``asymmetry`` (to two decimals, as the header shows it)."""
    spec = vega_specs.as_arrow(vega_specs.gauge(asymmetry))
    assert spec is not None
    return spec


@st.cache_data(ttl=timedelta(minutes=20), max_entries=4, show_spinner=False)
def symbol_list(source: str) -> tuple[tuple[str, ...], str]:
    """Symbols for the pair picker and where they came from (exchange info when live answers)."""
    sample = tuple(sample_symbols())
    if source not in ("auto", "live"):
        return sample, "sample"
    try:
        symbols = liq.live_symbols(timeout_s=5.0)
    except liq.LiqError:  # offline, 451, blocked: the sample's symbols are still a valid choice
        return sample, "sample"
    except Exception:  # not one of ours: logged, and the picker still works
        logger.exception("Listing the live symbols failed unexpectedly")
        return sample, "sample"
    return (tuple(symbols) or sample), ("live" if symbols else "sample")


@st.cache_data(ttl=timedelta(hours=1), max_entries=8, show_spinner=False)
def parse_upload(klines: bytes, oi: bytes | None, symbol: str) -> MarketData:
    """Parse an uploaded kline CSV (and optional open-interest CSV) into ``MarketData``."""
    return liq.load_upload(klines, oi, symbol=symbol)


@st.cache_data(ttl=timedelta(hours=6), max_entries=4, show_spinner=False)
def recording(rec_id: str) -> pd.DataFrame:
    """A built-in liquidation recording (``liq._check.recorded.BUILTIN_RECORDINGS``), as events."""
    return BUILTIN_RECORDINGS[rec_id].read()


@st.cache_data(ttl=timedelta(hours=1), max_entries=4, show_spinner=False)
def recording_upload(data: bytes) -> pd.DataFrame:
    """An uploaded liquidation recording (CSV, optionally gzip-compressed)."""
    return liq.load_liquidations(io.BytesIO(data))


#: Model checks kept (about 0.1 MB each): the page runs three per setting (all events, holdout, tuning), and
#: each takes a quarter of a second, so every preset's three stay cached.
CHECKS_KEPT = 48


@st.cache_data(ttl=timedelta(hours=1), max_entries=CHECKS_KEPT, show_spinner=False, hash_funcs=_HASH_DATA)
def model_check(
    config: liq.ModelConfig, data: MarketData, events_id: str, symbol: str, _events: pd.DataFrame
) -> liq.ModelCheck:
    """``liq.model_check`` of ``data``'s candles against the recorded ``_events`` of ``symbol``.

    ``events_id`` names the events (the recording, its content digest for an upload, and the part of it), so
    a rerun does not hash every event again; ``_events`` is not part of the key.
    """
    with _HEAVY:
        return liq.model_check(data.candles, _events, config, symbol=symbol)


@st.cache_data(ttl=timedelta(hours=1), max_entries=32, show_spinner=False)
def check_scatter(check_id: str, side: str, _per_candle: pd.DataFrame) -> VegaSpec:
    """The Model check's scatter of one side, compiled once per check (``check_id`` names the check whose
    per-candle rows ``_per_candle`` are; they are not part of the key)."""
    with _HEAVY:
        spec = vega_specs.as_arrow(altair_charts.to_spec(altair_charts.scatter(_per_candle, side)))
    assert spec is not None
    return spec


@st.cache_data(ttl=timedelta(hours=1), max_entries=64, show_spinner=False)
def check_timeseries(check_id: str, window: int | None, side: str, _per_candle: pd.DataFrame) -> VegaSpec:
    """The Model check's time series of one side for one window (None: all), compiled once per check."""
    with _HEAVY:
        spec = vega_specs.as_arrow(altair_charts.to_spec(altair_charts.timeseries(_per_candle, window, side)))
    assert spec is not None
    return spec


@st.cache_data(ttl=timedelta(hours=1), max_entries=12, show_spinner=False, hash_funcs=_HASH_DATA)
def set_d_check(config: liq.ModelConfig, symbol: str) -> liq.ModelCheck:
    """The model check on the built-in June 2025 recording and its 1m candles: one symbol, or ``"all"`` pooled."""
    with _HEAVY:
        return check_set_d(config, symbol)


# --- screener ----------------------------------------------------------------------------------------------
class NotCached(LookupError):
    """:func:`screen_row` was asked only to look, and the row is not in the cache."""


@st.cache_data(ttl=timedelta(minutes=10), max_entries=240, show_spinner=False, hash_funcs=_HASH_DATA)
def screen_row(
    config: liq.ModelConfig,
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    source: str,
    _row: ScreenRow | None = None,
    _look_only: bool = False,
) -> ScreenRow:
    """One pair's screener row (a failure is a row with its reason); shared by every session until it expires.

    ``end`` should be bucketed (see :func:`end_bucket`) so that sessions share rows. The underscored arguments
    are not part of the key: ``_look_only`` raises :class:`NotCached` instead of computing (an exception is not
    cached), and ``_row`` stores a row computed elsewhere (by the screener's pool, whose threads never call
    Streamlit).
    """
    if _row is not None:
        return _row
    if _look_only:
        raise NotCached(symbol)
    return screen_pair(symbol, interval, start, end, source, config)


@st.cache_data(ttl=timedelta(minutes=20), max_entries=4, show_spinner=False)
def screen_pairs(source: str) -> tuple[tuple[str, ...], str]:
    """The pairs a screen covers when the user named none, and where they came from."""
    return pairs_to_screen(source)
