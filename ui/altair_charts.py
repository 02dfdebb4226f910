"""The Altair charts: the asymmetry gauge, the liquidation map, the still heatmap and its HTML export.

Colours come from ``liq._palette`` and tooltip text from ``liq._format`` (each chart's frame carries the
formatted labels), so the numbers read as they do in the tables and on the chart. Only axis ticks are
formatted by Vega, in the same style (``$1.5K``, ``$2.5M``, ``$1.2B``; prices with comma separators).
"""

from __future__ import annotations

import math
from typing import cast

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import liq
from liq._chart_payload import downsample_grid
from liq._format import format_price, format_usd, price_decimals
from liq._palette import (
    HEATMAP_RAMP,
    HEATMAP_TOP_QUANTILE,
    LONG_COLOUR,
    NEUTRAL_COLOUR,
    PRICE_COLOUR,
    SHORT_COLOUR,
)

__all__ = [
    "USD_AXIS",
    "asymmetry_gauge",
    "chart_html_download",
    "heatmap_chart",
    "heatmap_frame",
    "heatmap_scale",
    "liquidation_map",
    "liquidation_map_chart",
    "time_tooltips",
    "usd_axis",
]

#: Vega label expression: SI "k" and "G" read as "K" and "B" for money, as ``liq._format.format_usd`` writes them.
USD_AXIS = "replace(replace(datum.label, 'G', 'B'), 'k', 'K')"
_EXPORT = {"export": True, "source": False, "compiled": False, "editor": False}


def usd_axis(**kwargs: object) -> alt.Axis:
    """An axis of USD amounts in the app's compact style."""
    return alt.Axis(format="$~s", labelExpr=USD_AXIS, **kwargs)  # type: ignore[arg-type]


def _price_axis(price: float, **kwargs: object) -> alt.Axis:
    return alt.Axis(format=f",.{price_decimals(price)}~f", **kwargs)  # type: ignore[arg-type]


def time_tooltips(time_field: str, time_title: str, *labels: tuple[str, str]) -> list[alt.Tooltip]:
    """A time (UTC, to the minute) and text fields already formatted in Python: ``(field, title)`` each."""
    return [
        alt.Tooltip(f"{time_field}:T", title=time_title, format="%Y-%m-%d %H:%M"),
        *(alt.Tooltip(f"{field}:N", title=title) for field, title in labels),
    ]


def _labels(values: pd.Series, fmt: object) -> list[str]:
    return [fmt(float(v)) for v in values]  # type: ignore[operator]


# --- gauge -------------------------------------------------------------------------------------------------
def asymmetry_gauge(asymmetry: float) -> alt.LayerChart:
    """A small horizontal gauge from −1 (downward pull) to +1 (upward pull) with a marker at ``asymmetry``."""
    steps = np.linspace(-1, 1, 41)
    band = pd.DataFrame({"x": steps[:-1], "x2": steps[1:], "mid": (steps[:-1] + steps[1:]) / 2})
    scale = alt.Scale(domain=[-1, 0, 1], range=[LONG_COLOUR, NEUTRAL_COLOUR, SHORT_COLOUR])
    base = (
        alt.Chart(band)
        .mark_rect(height=10)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[-1, 1]), axis=alt.Axis(values=[-1, 0, 1], title=None)),
            x2="x2:Q",
            color=alt.Color("mid:Q", scale=scale, legend=None),
            tooltip=alt.value(None),
        )
    )
    ok = math.isfinite(asymmetry)
    marker_frame = pd.DataFrame(
        {
            "x": [float(np.clip(asymmetry, -1, 1)) if ok else 0.0],
            "label": [f"{asymmetry:+.2f}" if ok else "n/a"],
        }
    )
    marker = (
        alt.Chart(marker_frame)
        .mark_point(shape="triangle-down", size=160, filled=True, color="white", yOffset=-9)
        .encode(x="x:Q", tooltip=alt.Tooltip("label:N", title="Asymmetry (estimate)"))
    )
    return alt.layer(base, marker).properties(height=42)


# --- liquidation map ---------------------------------------------------------------------------------------
def _map_frames(est: liq.Estimate, lo: float, hi: float) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Bars (profile rows inside the window) and cumulative curves from the price outwards."""
    prof = est.profile
    if prof is None or len(prof) == 0:
        return None
    p = prof[(prof["bin_high"] > lo) & (prof["bin_low"] < hi) & (prof["notional_usd"] > 0)].copy()
    if len(p) == 0:
        return None
    d = price_decimals(est.last_price)
    p["mid"] = (p["bin_low"] + p["bin_high"]) / 2
    p["tier"] = p["leverage"].map(lambda x: f"{x:g}x")
    p["from_label"] = _labels(p["bin_low"], lambda v: format_price(v, d))
    p["to_label"] = _labels(p["bin_high"], lambda v: format_price(v, d))
    p["usd_label"] = _labels(p["notional_usd"], format_usd)
    by_bin = p.groupby(["side", "mid"], as_index=False)["notional_usd"].sum()
    longs = by_bin[by_bin["side"] == "long"].sort_values("mid", ascending=False)
    longs = longs.assign(cum=longs["notional_usd"].cumsum(), curve="Cumulative longs (below)")
    shorts = by_bin[by_bin["side"] == "short"].sort_values("mid")
    shorts = shorts.assign(cum=shorts["notional_usd"].cumsum(), curve="Cumulative shorts (above)")
    curves = pd.concat([longs, shorts], ignore_index=True)
    curves["price_label"] = _labels(curves["mid"], lambda v: format_price(v, d))
    curves["cum_label"] = _labels(curves["cum"], format_usd)
    return p, curves


def _map_bars(p: pd.DataFrame, x: alt.X) -> alt.Chart:
    tier_order = [f"{t:g}x" for t in sorted(p["leverage"].unique())]
    return (
        alt.Chart(p)
        .mark_bar(opacity=0.9)
        .encode(
            x=x,
            x2="bin_high:Q",
            y=alt.Y("sum(notional_usd):Q", title="Est. USD per price bin", axis=usd_axis()),
            color=alt.Color(
                "tier:N",
                title="Leverage",
                sort=tier_order,
                scale=alt.Scale(scheme="plasma", domain=tier_order),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("leverage:Q"),
            tooltip=[
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("tier:N", title="Leverage"),
                alt.Tooltip("from_label:N", title="From"),
                alt.Tooltip("to_label:N", title="To"),
                alt.Tooltip("usd_label:N", title="Est. USD (this tier)"),
            ],
        )
    )


def _map_curves(curves: pd.DataFrame, lo: float, hi: float) -> alt.Chart:
    return (
        alt.Chart(curves)
        .mark_line(strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("mid:Q", scale=alt.Scale(domain=[lo, hi], nice=False)),
            y=alt.Y("cum:Q", title="Cumulative est. USD", axis=usd_axis(orient="right")),
            color=alt.Color(
                "curve:N",
                title=None,
                scale=alt.Scale(
                    domain=["Cumulative longs (below)", "Cumulative shorts (above)"],
                    range=[LONG_COLOUR, SHORT_COLOUR],
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("curve:N", title="Curve"),
                alt.Tooltip("price_label:N", title="Price"),
                alt.Tooltip("cum_label:N", title="Cumulative est. USD"),
            ],
        )
    )


def _price_rule(price: float) -> alt.LayerChart:
    rule_df = pd.DataFrame({"price": [price], "label": [f"Last {format_price(price)}"]})
    rule = (
        alt.Chart(rule_df)
        .mark_rule(color=PRICE_COLOUR, strokeDash=[4, 3], strokeWidth=2)
        .encode(x="price:Q", tooltip=alt.Tooltip("label:N", title="Current price"))
    )
    text = (
        alt.Chart(rule_df)
        .mark_text(color=PRICE_COLOUR, align="left", dx=4, dy=-4, baseline="top", fontWeight="bold")
        .encode(x="price:Q", y=alt.value(0), text="label:N")
    )
    return cast(alt.LayerChart, alt.layer(rule, text))


def liquidation_map_chart(est: liq.Estimate, window_pct: float = 10.0) -> alt.LayerChart | None:
    """Bars of estimated USD per price bin stacked by leverage tier, cumulative curves, current-price rule."""
    price = float(est.last_price)
    lo, hi = price * (1 - window_pct / 100), price * (1 + window_pct / 100)
    frames = _map_frames(est, lo, hi)
    if frames is None:
        return None
    p, curves = frames
    x = alt.X(
        "bin_low:Q", title="Price", scale=alt.Scale(domain=[lo, hi], nice=False), axis=_price_axis(price)
    )
    layered = alt.layer(alt.layer(_map_bars(p, x), _price_rule(price)), _map_curves(curves, lo, hi))
    return cast(
        alt.LayerChart, layered.resolve_scale(y="independent", color="independent").properties(height=380)
    )


def liquidation_map(est: liq.Estimate, *, key: str = "liqmap") -> None:
    """The Altair liquidation map with a window selector."""
    st.subheader("Liquidation map (estimated)")
    window = st.segmented_control(
        "Price window around the last price",
        options=[3, 5, 10, 20],
        default=10,
        format_func=lambda v: f"±{v} %",
        key=f"{key}_window",
    )
    chart = liquidation_map_chart(est, float(window or 10))
    if chart is None:
        st.caption("No estimated liquidations inside this window.")
        return
    st.altair_chart(chart, width="stretch")
    st.caption(
        "Bars: estimated USD that would be liquidated in each price bin, stacked by assumed leverage. Lines: "
        "running totals from the current price outwards, longs to the left and shorts to the right. Dashed "
        "line: last price."
    )


# --- heatmap -----------------------------------------------------------------------------------------------
def _price_window(est: liq.Estimate, edges: np.ndarray, pad_pct: float) -> tuple[int, int]:
    """First and last (exclusive) price bin inside the candles' range plus ``pad_pct``."""
    lo = float(est.candles["low"].min()) * (1 - pad_pct / 100)
    hi = float(est.candles["high"].max()) * (1 + pad_pct / 100)
    p0 = max(int(np.searchsorted(edges, lo, side="right")) - 1, 0)
    p1 = min(int(np.searchsorted(edges, hi, side="left")), len(edges) - 1)
    return (p0, p1) if p1 > p0 else (0, len(edges) - 1)


def _candle_step(est: liq.Estimate) -> pd.Timedelta:
    if len(est.candles) > 1:
        return pd.Timedelta(pd.to_datetime(est.candles["open_time"]).diff().median())
    return pd.Timedelta(minutes=1)


def heatmap_frame(
    est: liq.Estimate, *, max_cells: int = 15_000, colour_threshold: float = 0.0, pad_pct: float = 4.0
) -> pd.DataFrame:
    """Pre-bin the heatmap into at most ``max_cells`` (time × price) cells, in numpy.

    The chart payload's down-sampling is reused: time blocks average the columns (the grid is a state, alive
    notional, not a flow) and price blocks sum bins. The price range is cropped to the candles' range plus
    ``pad_pct`` so the picture is not mostly empty. Cells below ``colour_threshold`` × the top cell are dropped.
    """
    hm = est.heatmap
    edges = np.asarray(hm.price_edges, dtype=float)
    p0, p1 = _price_window(est, edges, pad_pct)
    n_t, n_p = len(hm.times), p1 - p0
    # aim for roughly 2 time cells per price cell, within the budget
    p_blocks = int(max(10, min(n_p, math.sqrt(max_cells / 2))))
    row_factor = max(1, math.ceil(n_p / p_blocks))
    n_rows = -(-n_p // row_factor)
    t_blocks = int(max(1, min(n_t, max_cells // n_rows)))
    col_index = (np.arange(n_t) * t_blocks) // max(n_t, 1)
    long_c, _ = downsample_grid(
        np.asarray(hm.long_usd, dtype=float)[:, p0:p1], col_index, t_blocks, row_factor
    )
    short_c, _ = downsample_grid(
        np.asarray(hm.short_usd, dtype=float)[:, p0:p1], col_index, t_blocks, row_factor
    )
    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(hm.times), utc=True)).tz_localize(None)
    starts = np.searchsorted(col_index, np.arange(t_blocks))
    ends = np.searchsorted(col_index, np.arange(t_blocks), side="right") - 1
    row_lo = edges[p0 + np.arange(n_rows) * row_factor]
    row_hi = edges[np.minimum(p0 + (np.arange(n_rows) + 1) * row_factor, p1)]
    ti, ri = np.meshgrid(np.arange(t_blocks), np.arange(n_rows), indexing="ij")
    frame = pd.DataFrame(
        {
            "t0": np.asarray(times[starts])[ti.ravel()],
            "t1": np.asarray(times[ends] + _candle_step(est))[ti.ravel()],
            "p0": row_lo[ri.ravel()],
            "p1": row_hi[ri.ravel()],
            "long_usd": long_c.ravel(),
            "short_usd": short_c.ravel(),
        }
    )
    frame["total_usd"] = frame["long_usd"] + frame["short_usd"]
    top = float(frame["total_usd"].max()) if len(frame) else 0.0
    return frame[frame["total_usd"] > max(top * float(colour_threshold), 0.0)].reset_index(drop=True)


def _labelled(frame: pd.DataFrame, price: float) -> pd.DataFrame:
    d = price_decimals(price)
    return frame.assign(
        p0_label=_labels(frame["p0"], lambda v: format_price(v, d)),
        p1_label=_labels(frame["p1"], lambda v: format_price(v, d)),
        long_label=_labels(frame["long_usd"], format_usd),
        short_label=_labels(frame["short_usd"], format_usd),
    )


def _close_line(est: liq.Estimate) -> alt.Chart:
    c = est.candles
    d = price_decimals(est.last_price)
    close = pd.DataFrame(
        {"t": pd.to_datetime(c["open_time"]).dt.tz_localize(None), "close": c["close"].astype(float)}
    ).iloc[:: max(1, len(c) // 1500)]
    close["close_label"] = _labels(close["close"], lambda v: format_price(v, d))
    return (
        alt.Chart(close)
        .mark_line(color="white", strokeWidth=1.2, opacity=0.9)
        .encode(
            x="t:T",
            y="close:Q",
            tooltip=[alt.Tooltip("t:T", title="Time"), alt.Tooltip("close_label:N", title="Close")],
        )
    )


def heatmap_scale(top: float) -> alt.Scale:
    """The heatmap's colour scale up to ``top`` USD: the ramp the interactive chart draws with."""
    return alt.Scale(
        domain=[t * top for t, _ in HEATMAP_RAMP], range=[c for _, c in HEATMAP_RAMP], clamp=True
    )


def heatmap_chart(
    est: liq.Estimate, *, max_cells: int = 15_000, colour_threshold: float = 0.0, height: int = 520
) -> alt.LayerChart | None:
    """Altair heatmap (pre-binned) with the close-price line, tooltips and PNG/SVG export in the action menu."""
    frame = heatmap_frame(est, max_cells=max_cells, colour_threshold=colour_threshold)
    if len(frame) == 0:
        return None
    # the chart's colour scale and rule: the ramp of liq._palette, its top at the same quantile (clamped)
    top = float(np.quantile(frame["total_usd"], HEATMAP_TOP_QUANTILE)) or float(frame["total_usd"].max())
    cells = (
        alt.Chart(_labelled(frame, est.last_price))
        .mark_rect()
        .encode(
            x=alt.X("t0:T", title="Time (UTC)"),
            x2="t1:T",
            y=alt.Y(
                "p0:Q",
                title="Price",
                scale=alt.Scale(zero=False, nice=False),
                axis=_price_axis(est.last_price),
            ),
            y2="p1:Q",
            color=alt.Color(
                "total_usd:Q",
                title="Est. USD",
                scale=heatmap_scale(top),
                legend=alt.Legend(format="$~s", orient="right", gradientLength=220, labelExpr=USD_AXIS),
            ),
            tooltip=time_tooltips(
                "t0",
                "From (UTC)",
                ("p0_label", "Price from"),
                ("p1_label", "Price to"),
                ("long_label", "Longs (est. USD)"),
                ("short_label", "Shorts (est. USD)"),
            ),
        )
    )
    embed = {"actions": _EXPORT, "downloadFileName": f"{est.symbol or 'liq'}_liquidation_heatmap"}
    return alt.layer(cells, _close_line(est)).properties(height=height, usermeta={"embedOptions": embed})


def chart_html_download(chart: alt.TopLevelMixin, name: str) -> None:
    """Offer an Altair chart as a standalone HTML file; its ⋯ menu exports PNG and SVG.

    Streamlit's own chart toolbar offers PNG only, so SVG comes from this file (opening it loads the Vega
    libraries from their public CDN, in the user's browser).
    """

    def build() -> bytes:  # runs only when the button is clicked (the file is a few MB)
        with alt.data_transformers.enable("default", max_rows=None):  # the cells are already pre-binned
            html = chart.properties(width=1100).to_html(embed_options={"actions": _EXPORT})
        return html.encode("utf-8")

    st.download_button(
        "Download as interactive HTML (PNG / SVG export inside)",
        build,
        file_name=f"{name}.html",
        mime="text/html",
        icon=":material/download:",
        key=f"html_{name}",
        on_click="ignore",
    )
