"""The lightweight-charts component (``liq_chart``) as the pages use it: cached payload, errors as messages."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

import liq
from liq._recorded_payload import with_recorded
from ui import cache, messages
from ui.pipeline import View
from ui.recorded import Shown
from ui.tables import LEVEL_LINES

__all__ = ["LEVEL_LINES", "show"]

logger = logging.getLogger(__name__)


def show(
    view: View,
    *,
    levels: bool = True,
    key: str = "chart",
    height: int = 580,
    recorded: Shown | None = None,
) -> dict[str, Any] | None:
    """Draw the chart for ``view`` (with or without level lines, with ``recorded`` liquidations over it);
    return the last click ``{time, price}``."""
    try:
        from liq_chart import liq_chart
    except ImportError:  # the component is optional for the rest of the page
        logger.exception("The chart component could not be imported")
        st.warning("The interactive chart is not available here; the tables below still work.")
        return None
    threshold, max_levels = float(view.settings.colour_threshold), LEVEL_LINES if levels else 0
    # the exported PNG's title line names the source (laid over the cached payload, which is never changed)
    extra = {"source_label": view.data.source.upper()}
    try:
        if recorded is None:
            text = cache.chart_payload_json(view.config, view.data, threshold, max_levels)
            return liq_chart(payload_json=text, extra=extra, height=height, key=key)
        payload = cache.chart_payload(view.config, view.data, threshold, max_levels)
    except liq.LiqError as err:
        st.warning(f"The chart could not be drawn: {messages.plain(err)}", icon=":material/warning:")
        return None
    payload = with_recorded(payload, recorded.recorded, recorded.comparison)
    return liq_chart(payload=payload, extra=extra, height=height, key=key)
