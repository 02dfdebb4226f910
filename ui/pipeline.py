"""Load → estimate, with progress steps and every problem shown as a message (never a traceback).

Pages call :func:`load_view` once, then draw; with live refresh on, :func:`run_body` wraps the drawing in an
``st.fragment`` that reruns on a timer, fetching only the newest candles (:func:`refresh`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import streamlit as st

import liq
from liq import Fallback, MarketData
from ui import cache, render, state
from ui.sidebar import SidebarResult

__all__ = ["View", "load_view", "refresh", "run_body", "source_messages"]

SOURCE_LABELS = {
    "live": "Live Binance USD-M",
    "archive": "Binance public data archive",
    "sample": "Built-in sample",
    "upload": "Your upload",
}


@dataclass(frozen=True)
class View:
    """Everything a page draws: the settings, the data, the fallbacks taken, and the estimate."""

    settings: state.Settings
    data: MarketData
    fallbacks: tuple[Fallback, ...]
    est: liq.Estimate
    config: liq.ModelConfig
    upload_id: str = ""


def _fail(err: BaseException, status: object | None = None) -> None:
    """Show a failure as a message and stop the page (nothing below can be drawn without data)."""
    if status is not None:
        status.update(label="Could not load the data", state="error", expanded=False)  # type: ignore[attr-defined]
    if isinstance(err, liq.LiqError):
        render.show_error(err)
    else:  # not one of ours: still a message, with enough detail to report it
        st.error(
            f"Something unexpected went wrong ({type(err).__name__}: {err}). Try another setting or source."
        )
    st.stop()


def _estimate(data: MarketData, config: liq.ModelConfig, upload_id: str) -> liq.Estimate:
    return cache.estimate(cache.data_key(data, upload_id), config, data)


def load_view(sb: SidebarResult) -> View:
    """Fetch (cached) and estimate (cached) for the sidebar's settings, showing steps in an ``st.status``."""
    s = sb.settings
    if sb.config is None:
        st.error(
            f"The model settings need fixing before anything can be estimated: {sb.config_error} "
            "(open Model settings in the sidebar).",
            icon=":material/error:",
        )
        st.stop()
    config = sb.config
    upload_id = ""
    if s.source == "upload" and (sb.upload is None or sb.upload.klines is None):
        st.info(
            "Upload a klines CSV in the sidebar (Binance's kline CSV, with or without a header, or columns "
            "open_time, open, high, low, close, volume). An open-interest CSV is optional.",
            icon=":material/upload_file:",
        )
        st.stop()

    now = datetime.now(timezone.utc)
    end = cache.end_bucket(now, minutes=1 if s.source in ("auto", "live") else 60)
    start = end - s.range
    fallbacks: tuple[Fallback, ...] = ()
    with st.status(f"Loading {s.symbol} {s.interval}, last {s.range_key}…", expanded=False) as status:

        def progress(message: str) -> None:
            status.update(label=message)
            status.write(message)

        try:
            if s.source == "upload":
                assert sb.upload is not None and sb.upload.klines is not None
                status.write(f"Reading {sb.upload.klines_name or 'your file'}…")
                data = cache.parse_upload(sb.upload.klines, sb.upload.oi, s.symbol)
                upload_id = cache._digest(sb.upload.klines) + cache._digest(sb.upload.oi)
            else:
                status.write(f"Fetching candles ({state.SOURCES[s.source]})…")
                result = cache.fetch_market(s.symbol, s.interval, start, end, s.source, _progress=progress)
                data, fallbacks = result.data, tuple(result.fallbacks)
        except Exception as err:  # shown as a message by _fail
            _fail(err, status)
            raise  # unreachable: st.stop() raises
        n = len(data.candles)
        if data.interval != s.interval and data.interval in state.INTERVALS:
            config = s.model_config(state.INTERVALS[data.interval])  # decay in candles of the data's interval
        status.write(f"{n:,} candles from {SOURCE_LABELS.get(data.source, data.source)}.")
        status.update(label=f"Estimating liquidation levels on {n:,} candles…")
        try:
            est = _estimate(data, config, upload_id)
        except Exception as err:  # shown as a message by _fail
            _fail(err, status)
            raise
        status.update(
            label=f"{data.symbol} {data.interval} · {n:,} candles · {SOURCE_LABELS.get(data.source, data.source)}",
            state="complete",
            expanded=False,
        )
    view = View(settings=s, data=data, fallbacks=fallbacks, est=est, config=config, upload_id=upload_id)
    source_messages(view)
    model = (
        "open interest (OI) model" if est.model == "oi" else "volume model (no open-interest history here)"
    )
    sb.model_slot.caption(" ".join([f"Model in use: **{model}**.", *est.notes]))
    return view


def source_messages(view: View) -> None:
    """The active source and every fallback, always visible."""
    if len(view.fallbacks) == 1:
        st.warning(view.fallbacks[0].reason, icon=":material/warning:")
    elif view.fallbacks:
        st.warning("\n".join(f"- {fb.reason}" for fb in view.fallbacks), icon=":material/warning:")
    label = SOURCE_LABELS.get(view.data.source, view.data.source)
    if view.fallbacks and view.data.note and view.data.note in view.fallbacks[-1].reason:
        st.caption(f"**Active source: {label}** (described above).")
    elif view.data.source in ("sample", "upload"):
        st.info(f"**Active source: {label}.** {view.data.note}", icon=":material/info:")
    else:
        st.caption(f"**Active source: {label}.** {view.data.note}")


def refresh(view: View) -> View:
    """With live refresh on and live data showing: append the newest candles and re-estimate (both cached)."""
    s = view.settings
    if not s.live or view.data.source != "live":
        return view
    now = datetime.now(timezone.utc)
    since = view.data.candles["open_time"].iloc[-1].to_pydatetime()
    tail = cache.fetch_tail(view.data.symbol, view.data.interval, since, cache.end_bucket(now))
    if tail is None:
        st.caption("Live refresh: live Binance did not answer this time; showing the last data.")
        return view
    data = cache.merge_tail(view.data, tail, s.range)
    try:
        est = _estimate(data, view.config, view.upload_id)
    except liq.LiqError as err:
        render.show_error(err, level="warning")
        return view
    st.caption(
        f"Live: updated {now:%H:%M:%S} UTC, last candle {data.candles['open_time'].iloc[-1]:%H:%M} UTC."
    )
    return replace(view, data=data, est=est)


def run_body(body: Callable[[], None], *, live: bool) -> None:
    """Run the page body, as a timed fragment when live refresh is on (the rest of the page stays usable)."""
    if live:
        st.fragment(run_every=state.LIVE_REFRESH_SECONDS)(body)()
    else:
        body()
