"""Recorded liquidations on the main page: which recording is drawn, the upload, the live stream's status.

Where the events come from, first match wins:

1. a recording the user uploaded here (any layout :func:`liq.load_liquidations` reads);
2. a built-in recording that listened during the shown window (:func:`liq._check.recorded.builtin_recording`);
3. with live data and no past ``end``: the server's one live tail (:func:`liq._check.live_tail.shared_tail`),
   shared by every session. When it is unreachable the page says so once per session and carries on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import liq
from liq._check import live_tail
from liq._check.events import RecordedEvents
from liq._check.overlay import LOWER_BOUND_NOTE, RecordedVsEstimated, compare_with_recorded
from liq._check.recorded import builtin_recording, recorded_events
from liq._format import format_usd
from ui import cache, messages
from ui.pipeline import View

__all__ = ["Shown", "section", "summary"]

logger = logging.getLogger(__name__)

_WARNED = "_liq_stream_warned"


@dataclass(frozen=True)
class Shown:
    """The recording drawn over the chart and what it says about the estimate."""

    recorded: RecordedEvents
    comparison: RecordedVsEstimated


def _window(view: View) -> tuple[pd.Timestamp, pd.Timestamp]:
    t = pd.to_datetime(view.est.candles["open_time"], utc=True)
    step = t.diff().median() if len(t) > 1 else pd.Timedelta(minutes=1)
    return pd.Timestamp(t.iloc[0]), pd.Timestamp(t.iloc[-1]) + step


def _uploaded(view: View, key: str) -> RecordedEvents | None:
    file = st.file_uploader(
        "Your liquidation recording (CSV, optionally .gz)",
        type=["csv", "gz"],
        key=f"{key}_upload",
        help="The recorder's own CSV (python -m liq record-liquidations) or the other layouts the model check "
        "reads: time, symbol, side (BUY/SELL), a fill price and a filled quantity per event.",
    )
    if file is None:
        return None
    try:
        events = cache.recording_upload(file.getvalue())
    except liq.LiqError as err:
        messages.show_error(err, level="warning")
        return None
    return recorded_events(events, view.data.symbol, f"your file {file.name}")


def _live(view: View) -> RecordedEvents | None:
    tail = live_tail.shared_tail()
    status = tail.status()
    if status.state in ("unreachable", "reconnecting") and not st.session_state.get(_WARNED):
        st.session_state[_WARNED] = True
        st.info(
            messages.plain(
                f"Live liquidation stream {status.message} The chart carries on without live liquidations."
            ),
            icon=":material/cloud_off:",
        )
    if status.listening_since is None:
        return None
    return tail.recording(view.data.symbol)


def _pick(view: View, key: str) -> RecordedEvents | None:
    mine = _uploaded(view, key)
    if mine is not None:
        return mine
    t0, t1 = _window(view)
    found = builtin_recording(view.data.symbol, t0, t1)
    if found is not None:
        return found
    if view.data.source == "live" and not getattr(view.settings, "end", ""):
        return _live(view)
    return None


def section(view: View, *, key: str = "recorded") -> Shown | None:
    """The upload box and the choice of recording; returns what to draw (None: nothing recorded here)."""
    with st.expander("Recorded liquidations on the chart", expanded=False):
        rec = _pick(view, key)
        st.caption(messages.plain(LOWER_BOUND_NOTE))
    if rec is None:
        return None
    try:
        comparison = compare_with_recorded(view.est, rec)
    except liq.LiqError as err:
        messages.show_error(err, level="warning")
        return None
    return Shown(rec, comparison)


def summary(shown: Shown | None) -> None:
    """One line under the chart: what is drawn, from where, and that it is a lower bound."""
    if shown is None:
        return
    cmp = shown.comparison
    hits = int(cmp.levels["hit"].sum()) if len(cmp.levels) else 0
    if not cmp.covered:
        text = f"No recording of this pair listened during this window ({shown.recorded.source})."
    else:
        text = (
            f"Dots: liquidations recorded by {shown.recorded.source}, {format_usd(cmp.recorded_usd)} in this "
            f"window; {hits} of {len(cmp.levels)} levels were hit. A lower bound: at most one liquidation per "
            "pair per second is broadcast."
        )
    st.caption(messages.plain(text))
