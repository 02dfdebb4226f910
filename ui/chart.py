"""The lightweight-charts component (``liq_chart``) as the pages use it: cached payload, errors as messages."""

from __future__ import annotations

from typing import Any

import streamlit as st

import liq
from ui import cache
from ui.pipeline import View

__all__ = ["show"]


def show(view: View, *, levels: bool = True, key: str = "chart", height: int = 580) -> dict[str, Any] | None:
    """Draw the chart for ``view`` (with or without level lines); return the last click ``{time, price}``."""
    try:
        from liq_chart import liq_chart
    except ImportError as err:  # the component is optional for the rest of the page
        st.warning(f"The interactive chart is not available here ({err}); the tables below still work.")
        return None
    s = view.settings
    try:
        payload = cache.chart_payload(
            cache.data_key(view.data, view.upload_id),
            view.config,
            float(s.colour_threshold),
            12 if levels else 0,
            view.est,
        )
    except (liq.LiqError, ValueError) as err:
        st.warning(f"The chart could not be drawn: {err}")
        return None
    return liq_chart(payload=payload, height=height, key=key)
