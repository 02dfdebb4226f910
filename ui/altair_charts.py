"""Altair helpers for the Model check page's charts, and how an Altair chart is compiled once into a
:class:`ui.vega_specs.VegaSpec` (:func:`to_spec`) that the cached layer keeps and every rerun only draws.

The market pages' charts are written as plain Vega-Lite specs (``ui.vega_specs``); these helpers give the
Altair charts the same axis and tooltip style.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ui.vega_specs import USD_AXIS, VegaSpec

__all__ = ["time_tooltips", "to_spec", "usd_axis"]

#: Sub-chart lists of Altair's compound charts, walked to find every chart's own data.
_COMPOUND = ("layer", "hconcat", "vconcat", "concat")


def usd_axis(**kwargs: object) -> alt.Axis:
    """An axis of USD amounts in the app's compact style."""
    return alt.Axis(format="$~s", labelExpr=USD_AXIS, **kwargs)  # type: ignore[arg-type]


def time_tooltips(time_field: str, time_title: str, *labels: tuple[str, str]) -> list[alt.Tooltip]:
    """A time (UTC, to the minute) and text fields already formatted in Python: ``(field, title)`` each."""
    return [
        alt.Tooltip(f"{time_field}:T", title=time_title, format="%Y-%m-%d %H:%M"),
        *(alt.Tooltip(f"{field}:N", title=title) for field, title in labels),
    ]


def _detach(chart: Any, frames: dict[str, pd.DataFrame]) -> None:
    """Swap every DataFrame in ``chart`` (a copy) for a named reference, collecting it in ``frames``."""
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        name = next((k for k, f in frames.items() if f is data), f"data_{len(frames)}")
        frames[name] = data
        chart.data = alt.NamedData(name=name)
    for attr in _COMPOUND:
        subs = getattr(chart, attr, alt.Undefined)
        for sub in subs if isinstance(subs, list) else ():
            _detach(sub, frames)


def to_spec(chart: alt.Chart | alt.LayerChart) -> VegaSpec:
    """Compile ``chart`` to a :class:`~ui.vega_specs.VegaSpec` (the chart itself is not changed).

    The data stays as DataFrames, not inlined, so no global Altair data transformer is involved (sessions
    compile in parallel threads) and Streamlit sends the frames as Arrow.
    """
    frames: dict[str, pd.DataFrame] = {}
    copy = chart.copy(deep=True)
    _detach(copy, frames)
    return VegaSpec(spec=copy.to_dict(), frames={k: f.reset_index(drop=True) for k, f in frames.items()})
