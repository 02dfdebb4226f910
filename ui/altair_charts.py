"""The Model check page's charts (Altair), in the same axis and tooltip style as the market pages' Vega-Lite
specs (``ui.vega_specs``), and how an Altair chart is compiled once into a :class:`~ui.vega_specs.VegaSpec`
(:func:`to_spec`) that the cached layer keeps, so a rerun only draws it."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from liq._format import format_usd
from liq._palette import PRICE_COLOUR, SIDE_COLOURS
from ui import vega_specs
from ui.vega_specs import VegaSpec

__all__ = ["scatter", "time_tooltips", "timeseries", "to_spec", "usd_axis"]

#: Sub-chart lists of Altair's compound charts, walked to find every chart's own data.
_COMPOUND = ("layer", "hconcat", "vconcat", "concat")


def usd_axis(**kwargs: object) -> alt.Axis:
    """An axis of USD amounts in the app's compact style."""
    return alt.Axis(**vega_specs.usd_axis(**kwargs))


def time_tooltips(time_field: str, time_title: str, *labels: tuple[str, str]) -> list[alt.Tooltip]:
    """A time (UTC, to the minute) and text fields already formatted in Python: ``(field, title)`` each."""
    return [
        alt.Tooltip(f"{time_field}:T", title=time_title, format="%Y-%m-%d %H:%M"),
        *(alt.Tooltip(f"{field}:N", title=title) for field, title in labels),
    ]


def scatter(per_candle: pd.DataFrame, side: str) -> alt.Chart:
    """Model vs recorded USD per candle, one dot per 5-minute candle, in the side's colour."""
    d = per_candle[per_candle["side"] == side].assign(
        predicted_label=lambda f: [format_usd(x) for x in f["predicted_usd"]],
        realised_label=lambda f: [format_usd(x) for x in f["realised_usd"]],
        baseline_label=lambda f: [f"{x:,.0f}" for x in f["baseline_usd"]],
    )
    return (
        alt.Chart(d)
        .mark_circle(size=36, opacity=0.6, color=SIDE_COLOURS[side])
        .encode(
            x=alt.X(
                "predicted_usd:Q",
                title="Model: swept USD in the candle (estimate)",
                scale=alt.Scale(type="sqrt"),
                axis=usd_axis(),
            ),
            y=alt.Y(
                "realised_usd:Q",
                title="Recorded liquidations USD",
                scale=alt.Scale(type="sqrt"),
                axis=usd_axis(),
            ),
            tooltip=time_tooltips(
                "open_time",
                "Candle (UTC)",
                ("predicted_label", "Model (est.)"),
                ("realised_label", "Recorded"),
                ("baseline_label", "Baseline (move × volume)"),
                ("events", "Events"),
            ),
        )
        .properties(height=300, title=f"{side.capitalize()} liquidations, one dot per 5-minute candle")
    )


def timeseries(per_candle: pd.DataFrame, window: int | None, side: str) -> alt.Chart:
    """Model and recording over time for one side, each scaled to its own maximum."""
    d = per_candle if window is None else per_candle[per_candle["window"] == window]
    part = d[d["side"] == side]
    frames = []
    for col, name in (("predicted_usd", "Model (estimate)"), ("realised_usd", "Recorded")):
        top = float(part[col].max()) if len(part) else 0.0
        frames.append(
            pd.DataFrame(
                {
                    "open_time": part["open_time"],
                    "window": part["window"],
                    "series": name,
                    "usd": [format_usd(x) for x in part[col]],
                    "share": part[col] / top if top > 0 else 0.0,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=12), strokeWidth=1.5)
        .encode(
            x=alt.X("open_time:T", title="Time (UTC)"),
            y=alt.Y("share:Q", title="Share of own maximum", axis=alt.Axis(format="%")),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=["Model (estimate)", "Recorded"], range=[PRICE_COLOUR, "#9aa4b2"]),
                legend=alt.Legend(title=None),
            ),
            detail="window:N",
            tooltip=time_tooltips("open_time", "Candle (UTC)", ("series", "Series"), ("usd", "USD")),
        )
        .properties(height=220)
    )


def _detach(chart: Any, frames: dict[str, pd.DataFrame | bytes]) -> None:
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
    compile in parallel threads).
    """
    frames: dict[str, pd.DataFrame | bytes] = {}
    copy = chart.copy(deep=True)
    _detach(copy, frames)
    out = {k: f.reset_index(drop=True) if isinstance(f, pd.DataFrame) else f for k, f in frames.items()}
    return VegaSpec(spec=copy.to_dict(), frames=out)
