"""Load → estimate, with progress steps and every problem shown as a message (never a traceback).

Pages call :func:`load_view` once, then draw; with live refresh on, :func:`run_body` wraps the drawing in an
``st.fragment`` that reruns on a timer, fetching only the newest candles (:func:`refresh`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, NoReturn

import streamlit as st

import liq
from liq import Fallback, MarketData
from liq._sources._common import SOURCE_LABELS, merge_tail
from liq._sources.upload import symbol_from_file_name
from ui import cache, messages, progress, settings, sidebar, source_badge
from ui.sidebar import SidebarResult

__all__ = ["View", "load_view", "model_note", "open_page", "refresh", "run_body", "source_messages"]

logger = logging.getLogger(__name__)

#: How the source the data came from is named (the sources' labels; an upload is the user's own file).
ACTIVE_SOURCE = {**SOURCE_LABELS, "upload": "Your upload"}


@dataclass(frozen=True)
class View:
    """Everything a page draws: the settings, the data, the fallbacks taken, and the estimate.

    ``est`` is :func:`ui.cache.page_estimate`: its heatmap has no grids (what draws the heatmap takes
    :func:`ui.cache.estimate` of ``config`` and ``data``).
    """

    settings: settings.Settings
    data: MarketData
    fallbacks: tuple[Fallback, ...]
    est: liq.Estimate
    config: liq.ModelConfig


#: What a trader can do after a failed load (shown under the explanation).
NEXT_STEP = (
    "What to do: change the pair, interval, range or data source in the sidebar; the page loads again on "
    "its own. Auto uses whichever source has the data."
)


def _fail(err: BaseException, status: Any, slot: Any, what: str) -> NoReturn:
    """Show a failure in the open (in ``slot``, above the folded status) and stop the page.

    Nothing below can be drawn without data, so the explanation and what to do next are the page.
    """
    status.update(label=f"Stopped while {what}: the reason is shown above", state="error", expanded=False)
    with slot:
        messages.show_unexpected(err, what)
        st.caption(NEXT_STEP)
    st.stop()


def _needs_upload(s: settings.Settings, sb: SidebarResult) -> bool:
    return s.source == "upload" and (sb.upload is None or sb.upload.klines is None)


def _stop_unless_ready(sb: SidebarResult) -> liq.ModelConfig:
    """The model config, or a message (and the page stops) when the page cannot estimate yet."""
    if sb.config is None:
        st.error(
            f"The model settings need fixing before anything can be estimated: {messages.plain(sb.config_error)} "
            "(open Model settings in the sidebar).",
            icon=":material/error:",
        )
        st.stop()
    if _needs_upload(sb.settings, sb):
        st.info(
            "Upload a klines CSV in the sidebar (Binance's kline CSV, with or without a header, or columns "
            "open_time, open, high, low, close, volume). An open-interest CSV is optional.",
            icon=":material/upload_file:",
        )
        st.stop()
    return sb.config


def _load(sb: SidebarResult, status: Any, end: datetime) -> tuple[MarketData, tuple[Fallback, ...]]:
    s = sb.settings
    if s.source == "upload" and sb.upload is not None and sb.upload.klines is not None:
        status.write(f"Reading {messages.plain(sb.upload.klines_name or 'your file')}…")
        return cache.parse_upload(sb.upload.klines, sb.upload.oi, upload_symbol(sb)), ()
    status.write(f"Fetching candles ({settings.SOURCES[s.source]})…")
    fetched = cache.fetch(s.symbol, s.interval, end - s.range, end, s.source)
    for step in fetched.steps:
        status.write(messages.plain(step))
    return fetched.result.data, tuple(fetched.result.fallbacks)


def _span(s: settings.Settings) -> str:
    """The window in words: "last 7d", or "2d to 2024-12-05T02:00 UTC" for a past end."""
    return f"{s.range_key} to {s.end} UTC" if s.end else f"last {s.range_key}"


def upload_symbol(sb: SidebarResult) -> str:
    """The pair of an uploaded file: from its name when Binance's archive named it, else the pair chosen."""
    name = sb.upload.klines_name if sb.upload is not None else ""
    return symbol_from_file_name(name) or sb.settings.symbol


def _upload_note(sb: SidebarResult) -> None:
    """Say which pair an upload is read as, and warn when its file name names another pair than the sidebar's."""
    if sb.settings.source != "upload" or sb.upload is None or sb.upload.klines is None:
        return
    name, chosen = sb.upload.klines_name or "your file", sb.settings.symbol
    named = symbol_from_file_name(name)
    if named is None:
        st.caption(
            messages.plain(
                f"{name} does not say which pair it holds, so it is read as {chosen}, the pair chosen in the "
                "sidebar (its margin brackets and label). Choose the file's pair there if it is another one."
            )
        )
    elif named != chosen:
        st.warning(
            messages.plain(
                f"{name} holds {named} candles (its name says so), but the pair chosen is {chosen}. The file "
                f"is read as {named}; choose {named} as the pair, or upload the {chosen} file."
            ),
            icon=":material/warning:",
        )


def _active(data: MarketData) -> str:
    return ACTIVE_SOURCE.get(data.source, data.source)


def _data_key(s: settings.Settings, end: datetime) -> tuple[str, ...] | None:
    """What the data of a load depends on (None for an upload: its bytes are not worth hashing per rerun)."""
    if s.source == "upload":
        return None
    return (s.symbol, s.interval, s.range_key, s.source, end.isoformat())


def load_view(sb: SidebarResult) -> View:
    """Fetch (cached) and estimate (cached) for the sidebar's settings, showing steps in a folded box
    (:func:`ui.progress.status_box`: quiet when the session's last load read the same data)."""
    config = _stop_unless_ready(sb)
    s = sb.settings
    end = s.end_time or cache.end_bucket(minutes=1 if s.source in ("auto", "live") else 60)
    key = _data_key(s, end)
    slot = st.container()  # a failure is explained here, in the open, not inside the folded status
    # the status and, once loaded, the source badge share one line above the header numbers
    row = st.container(horizontal=True, vertical_alignment="center", gap="small", key="source_row")
    label = f"Loading {s.symbol} {s.interval}, {_span(s)}…"
    with progress.status_box(row, label, name="load", key=key) as status:
        try:
            data, fallbacks = _load(sb, status, end)
        except Exception as err:  # shown as a message (and logged when unexpected) by _fail
            _fail(err, status, slot, "loading the data")
        if data.interval != s.interval and data.interval in settings.INTERVAL_MINUTES:
            config = s.model_config(settings.INTERVAL_MINUTES[data.interval])  # decay in the data's candles
        n = len(data.candles)
        status.write(f"{n:,} candles from {_active(data)}.")
        status.update(label=f"Estimating liquidation levels on {n:,} candles…")
        try:
            est = cache.page_estimate(config, data)
        except Exception as err:  # shown as a message (and logged when unexpected) by _fail
            _fail(err, status, slot, "estimating the levels")
        status.update(
            label=f"{data.symbol} {data.interval} · {n:,} candles · {_active(data)}", state="complete"
        )
    view = View(settings=s, data=data, fallbacks=fallbacks, est=est, config=config)
    source_messages(view, where=row)
    _upload_note(sb)
    sb.model_slot.caption(model_note(est))
    return _live_only_on_live_data(view)


#: Said when live auto-refresh is on but the data is not live Binance (so refreshing would do nothing).
LIVE_PAUSED = (
    "Live auto-refresh is paused: the candles shown come from {source}, not live Binance, so there is nothing "
    "new to fetch. It resumes by itself when live Binance answers (reload the page)."
)


def _live_only_on_live_data(view: View) -> View:
    """The view with live refresh off (and saying so) when the data did not come from live Binance."""
    if not view.settings.live or view.data.source == "live":
        return view
    st.caption(LIVE_PAUSED.format(source=_active(view.data)))
    return replace(view, settings=replace(view.settings, live=False))


def model_note(est: liq.Estimate) -> str:
    """Which model ran, what sets the USD size, which tiers the pair's brackets changed, and the notes."""
    model = (
        "open interest (OI) model" if est.model == "oi" else "volume model (no open-interest history here)"
    )
    parts = [f"Model in use: **{model}**."]
    if est.usd_basis:
        parts.append(f"USD figures: {messages.plain(est.usd_basis)}.")
    if est.tier_adjustments:
        tiers = ", ".join(map(_tier_text, est.tier_adjustments))
        parts.append(f"Leverage tiers changed for {messages.plain(est.symbol or 'this pair')}: {tiers}.")
    parts.append(f"Margin brackets as of {liq.MMR_BRACKETS_AS_OF}.")
    parts += [messages.plain(note) for note in est.notes]
    return " ".join(parts)


def _tier_text(adj: liq.TierAdjustment) -> str:
    if adj.used_leverage is None:
        return f"{adj.leverage:g}x left out (the pair allows at most {adj.max_leverage:g}x)"
    return f"{adj.leverage:g}x priced at {adj.used_leverage:g}x (the pair's maximum)"


def source_messages(view: View, where: Any = None) -> None:
    """The active source as a one-line badge (source, days, bars); the fallbacks and note one click away.

    ``where`` is the container to draw in (default: the page at this point).
    """
    source_badge.show(view.data, view.settings.interval, view.fallbacks, _active(view.data), where=where)


def refresh(view: View) -> View:
    """With live refresh on and live data showing: append the newest candles and re-estimate (both cached)."""
    s = view.settings
    if not s.live or view.data.source != "live" or s.end:
        return view
    now = datetime.now(timezone.utc)
    since = view.data.candles["open_time"].iloc[-1].to_pydatetime()
    tail = cache.fetch_tail(view.data.symbol, view.data.interval, since, cache.end_bucket(now))
    if tail is None:
        st.caption("Live refresh: live Binance did not answer this time; showing the last data.")
        return view
    data = merge_tail(view.data, tail, s.range)
    try:
        est = cache.page_estimate(view.config, data)
    except liq.LiqError as err:
        messages.show_error(err, level="warning")
        return view
    st.caption(
        f"Live: updated {now:%H:%M:%S} UTC, last candle {data.candles['open_time'].iloc[-1]:%H:%M} UTC."
    )
    return replace(view, data=data, est=est)


def run_body(body: Callable[[], None], *, live: bool) -> None:
    """Run the page body, as a timed fragment when live refresh is on (the rest of the page stays usable).

    An unexpected exception while drawing is logged with its traceback and shown as a plain message.
    """

    def guarded() -> None:
        try:
            body()
        except Exception as err:  # Streamlit's own stop/rerun are not Exceptions, so they pass through
            messages.show_unexpected(err, "drawing the page")

    if live:
        st.fragment(run_every=settings.LIVE_REFRESH_SECONDS)(guarded)()
    else:
        guarded()


def open_page(title: str, about: str) -> View:
    """The top of a market page: the sidebar, the title, a caption naming the view, then the loaded view.

    ``about`` finishes the caption, after the pair, interval and range.
    """
    sb = sidebar.render()
    s = sb.settings
    st.title(title)
    st.caption(f"{messages.plain(s.symbol)} · {s.interval} · {_span(s)}. {about}")
    return load_view(sb)
