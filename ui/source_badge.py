"""The one-line source badge above the chart ("SAMPLE · 16–22 Oct 2025 · 15m bars"), details one click away.

The badge says where the candles came from, which days they cover and the bars' interval, so old data never
looks current; the fallbacks taken and the source's own note sit in a popover beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from liq import Fallback, MarketData
from liq._format import format_date_span
from ui import messages

__all__ = ["badge_text", "show"]

#: Badge colour per source (an estimate on the built-in sample or a file is not the market now).
_COLOURS = {"live": "green", "archive": "blue", "sample": "orange", "upload": "violet"}


def badge_text(data: MarketData, asked_interval: str, fallbacks: Sequence[Fallback] = ()) -> str:
    """``"SAMPLE · 16–22 Oct 2025 · 15m bars"``, with the interval asked for when the bars differ."""
    times = data.candles["open_time"]
    bars = f"{data.interval} bars"
    if data.interval != asked_interval:
        bars += f" (you chose {asked_interval})"
    parts = [data.source.upper(), format_date_span(times.iloc[0], times.iloc[-1]), bars]
    if fallbacks:
        parts.append(f"{len(fallbacks)} fallback{'s' if len(fallbacks) > 1 else ''}")
    return " · ".join(parts)


def show(
    data: MarketData,
    asked_interval: str,
    fallbacks: Sequence[Fallback],
    active_label: str,
    *,
    where: Any = None,
) -> None:
    """The badge and a "Source details" popover with the fallbacks and the source's note (in ``where``)."""
    parent = where if where is not None else st
    row = parent.container(
        horizontal=True, vertical_alignment="center", gap="small", width="content", key="source_badge"
    )
    colour = "orange" if fallbacks else _COLOURS.get(data.source, "gray")
    icon = ":material/warning:" if fallbacks or data.source != "live" else ":material/bolt:"
    row.badge(messages.plain(badge_text(data, asked_interval, fallbacks)), icon=icon, color=colour)
    with row.popover("Source details", icon=":material/info:"):
        _details(data, fallbacks, active_label)


def _details(data: MarketData, fallbacks: Sequence[Fallback], active_label: str) -> None:
    for fb in fallbacks:
        st.warning(messages.plain(fb.reason), icon=":material/warning:")
    note = messages.plain(data.note)
    if fallbacks and data.note and data.note in fallbacks[-1].reason:
        st.caption(f"**Active source: {active_label}** (described above).")
    else:
        st.caption(f"**Active source: {active_label}.** {note}")
