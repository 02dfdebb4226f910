"""Altair helpers for the Model check page's charts: the same axis and tooltip style as the market pages'
Vega-Lite specs (``ui.vega_specs``)."""

from __future__ import annotations

import altair as alt

from ui.vega_specs import USD_AXIS

__all__ = ["time_tooltips", "usd_axis"]


def usd_axis(**kwargs: object) -> alt.Axis:
    """An axis of USD amounts in the app's compact style."""
    return alt.Axis(format="$~s", labelExpr=USD_AXIS, **kwargs)  # type: ignore[arg-type]


def time_tooltips(time_field: str, time_title: str, *labels: tuple[str, str]) -> list[alt.Tooltip]:
    """A time (UTC, to the minute) and text fields already formatted in Python: ``(field, title)`` each."""
    return [
        alt.Tooltip(f"{time_field}:T", title=time_title, format="%Y-%m-%d %H:%M"),
        *(alt.Tooltip(f"{field}:N", title=title) for field, title in labels),
    ]
