"""Rendering helpers shared by the pages: metrics, the levels panel, swept levels, Altair charts, help text.

Everything here takes results from ``liq`` and draws them; nothing here computes a model number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import liq

__all__ = [
    "ESTIMATE_NOTE",
    "asymmetry_gauge",
    "fmt_price",
    "fmt_usd",
    "heatmap_chart",
    "heatmap_frame",
    "how_to_read",
    "levels_panel",
    "levels_table",
    "liquidation_map",
    "liquidation_map_chart",
    "metrics_row",
    "nearest_level_index",
    "show_error",
    "swept_list",
]

ESTIMATE_NOTE = (
    "Estimated by a model from candles (and open interest when available); not observed liquidations."
)

LONG_COLOUR = "#f6465d"  # longs are liquidated below price: drawn in the "down" colour
SHORT_COLOUR = "#0ecb81"  # shorts are liquidated above price: drawn in the "up" colour
PRICE_COLOUR = "#f0b90b"
#: Vega label expression: SI "G" (giga) reads as "B" (billion) for money.
BILLIONS = "replace(datum.label, 'G', 'B')"


# --- formatting --------------------------------------------------------------------------------------------
def fmt_usd(x: float | None) -> str:
    """``12_400_000`` -> ``"$12.4M"``."""
    if x is None or not math.isfinite(float(x)):
        return "–"
    x = float(x)
    sign = "−" if x < 0 else ""
    a = abs(x)
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{sign}${a / div:.1f}{suffix}"
    return f"{sign}${a:,.0f}"


def fmt_price(p: float | None) -> str:
    """Price with a sensible number of decimals for its size."""
    if p is None or not math.isfinite(float(p)):
        return "–"
    p = float(p)
    if p >= 1000:
        return f"{p:,.1f}"
    if p >= 1:
        return f"{p:,.3f}"
    return f"{p:.6g}"


def price_format(price: float) -> str:
    """printf format for prices of this size: 2 decimals for BTC-like prices, more for cheap coins."""
    p = abs(float(price)) if math.isfinite(float(price)) else 1.0
    return "%.2f" if p >= 100 else "%.4f" if p >= 1 else "%.6f"


def show_error(err: BaseException, *, level: str = "error") -> None:
    """Show an error from ``liq`` as a message (never a traceback)."""
    text = str(err) or err.__class__.__name__
    if level == "warning":
        st.warning(text, icon=":material/warning:")
    else:
        st.error(text, icon=":material/error:")


# --- header metrics ----------------------------------------------------------------------------------------
def asymmetry_gauge(asymmetry: float) -> alt.LayerChart:
    """A small horizontal gauge from −1 (downward pull) to +1 (upward pull) with a marker at ``asymmetry``."""
    steps = np.linspace(-1, 1, 41)
    band = pd.DataFrame({"x": steps[:-1], "x2": steps[1:], "mid": (steps[:-1] + steps[1:]) / 2})
    scale = alt.Scale(domain=[-1, 0, 1], range=[LONG_COLOUR, "#5e6673", SHORT_COLOUR])
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
    value = 0.0 if not math.isfinite(asymmetry) else float(np.clip(asymmetry, -1, 1))
    marker = (
        alt.Chart(
            pd.DataFrame(
                {"x": [value], "label": [f"{asymmetry:+.2f}" if math.isfinite(asymmetry) else "n/a"]}
            )
        )
        .mark_point(shape="triangle-down", size=160, filled=True, color="white", yOffset=-9)
        .encode(x="x:Q", tooltip=alt.Tooltip("label:N", title="Asymmetry (estimate)"))
    )
    return alt.layer(base, marker).properties(height=42)


def metrics_row(summary: liq.Summary) -> None:
    """Last price, nearest levels, USD within ±1/2/5 % per side, asymmetry gauge and reading."""
    row = st.container(horizontal=True, gap="medium", key="header_metrics")
    c1, c2, c3, c4 = (row.container(width="stretch") for _ in range(4))
    c1.metric("Last price", fmt_price(summary.last_price))
    below, above = summary.nearest_below, summary.nearest_above
    if below is not None:
        c2.metric(
            "Long level below (est.)",
            fmt_price(below.price),
            delta=f"{below.distance_pct:+.2f} % · {fmt_usd(below.notional_usd)}",
            delta_color="off",
            help="The closest significant cluster of estimated long liquidations under the price, how far away "
            "it is, and the estimated USD that would be force-sold there.",
        )
    else:
        c2.metric("Long level below (est.)", "none", help="No significant long level below the price.")
    if above is not None:
        c3.metric(
            "Short level above (est.)",
            fmt_price(above.price),
            delta=f"{above.distance_pct:+.2f} % · {fmt_usd(above.notional_usd)}",
            delta_color="off",
            help="The closest significant cluster of estimated short liquidations over the price, how far away "
            "it is, and the estimated USD that would be force-bought there.",
        )
    else:
        c3.metric("Short level above (est.)", "none", help="No significant short level above the price.")
    asym = summary.asymmetry
    c4.metric(
        "Asymmetry ±5 % (est.)",
        f"{asym:+.2f}" if math.isfinite(asym) else "n/a",
        help="(shorts above − longs below) ÷ (shorts above + longs below), counting estimated USD within 5 % "
        "of price. +1: only shorts above (upward pull); −1: only longs below (downward pull).",
    )
    c4.altair_chart(asymmetry_gauge(asym), width="stretch")

    d1, d2 = st.columns([3, 2])
    rows = []
    for pct in (1, 2, 5):
        rows.append(
            {
                "Within": f"±{pct} %",
                "Longs below (est. USD)": fmt_usd(summary.long_usd_within.get(pct)),
                "Shorts above (est. USD)": fmt_usd(summary.short_usd_within.get(pct)),
            }
        )
    d1.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    with d2:
        st.markdown(f"**Reading:** {summary.reading}")
        st.caption(ESTIMATE_NOTE)


# --- levels panel ------------------------------------------------------------------------------------------
def _age_text(delta: pd.Timedelta) -> str:
    hours = delta.total_seconds() / 3600.0
    if not math.isfinite(hours) or hours < 0:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def levels_table(est: liq.Estimate) -> pd.DataFrame:
    """The levels as a display/export table (one row per level, nearest first)."""
    lv = est.levels
    if lv is None or len(lv) == 0:
        return pd.DataFrame(
            columns=[
                "Price",
                "Side",
                "Est. USD",
                "Distance %",
                "Zone low",
                "Zone high",
                "Approaches survived",
            ]
        )
    age = (pd.Timestamp(est.last_time) - pd.to_datetime(lv["first_seen"], utc=True)).map(_age_text)
    table = pd.DataFrame(
        {
            "Price": lv["price"].astype(float).round(6),
            "Side": lv["side"].map({"long": "Long (below)", "short": "Short (above)"}).fillna(lv["side"]),
            "Est. USD": lv["notional_usd"].astype(float).round(0),
            "Distance %": lv["distance_pct"].astype(float).round(3),
            "Zone low": lv["zone_low"].astype(float).round(6),
            "Zone high": lv["zone_high"].astype(float).round(6),
            "Approaches survived": lv["approaches"].astype(int),
            "Age": age.to_numpy(),
            "Cascade risk": lv["cascade"].astype(bool) if "cascade" in lv else False,
        }
    )
    order = table["Distance %"].abs().sort_values(kind="stable").index
    return table.loc[order].reset_index(drop=True)


def nearest_level_index(table: pd.DataFrame, price: float) -> int | None:
    """Row of ``table`` whose price is nearest to ``price`` (None when the table is empty)."""
    if len(table) == 0 or price is None or not math.isfinite(float(price)):
        return None
    return int(np.argmin(np.abs(table["Price"].to_numpy(dtype=float) - float(price))))


def _click_price(click: object) -> float | None:
    """The price of a chart click value ``{time, price}`` (None when there is no click)."""
    if click is None:
        return None
    price = None
    if isinstance(click, dict):
        price = click.get("price")
    else:
        price = getattr(click, "price", None)
        if price is None and hasattr(click, "get"):
            price = click.get("price")  # type: ignore[union-attr]
    try:
        value = float(price)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def levels_panel(est: liq.Estimate, click: object = None, *, key: str = "levels") -> pd.DataFrame:
    """Sortable levels table with cascade flags; highlights the level nearest to a chart click; CSV export."""
    table = levels_table(est)
    st.subheader("Liquidation levels (estimated)")
    if len(table) == 0:
        st.info(
            "No significant level on either side: lower the significance threshold in Model settings, or pick a "
            "longer range."
        )
        return table
    price = _click_price(click)
    hit = nearest_level_index(table, price) if price is not None else None
    if hit is not None:
        row = table.iloc[hit]
        st.info(
            f"Chart click at {fmt_price(price)}: the nearest level is {row['Side'].split()[0].lower()} "
            f"{fmt_price(row['Price'])} ({fmt_usd(row['Est. USD'])} est., {row['Distance %']:+.2f} % from price), "
            "highlighted below."
        )
    n_cascade = int(table["Cascade risk"].sum())
    if n_cascade:
        st.warning(
            f"{n_cascade} levels sit close to a neighbour on the same side (⚠ in the table): if price reaches "
            "one, the forced orders can push it straight into the next one: a cascade.",
            icon=":material/warning:",
        )
    shown = table.copy()
    shown["Cascade risk"] = np.where(shown["Cascade risk"], "⚠ stacked", "")

    def highlight(r: pd.Series) -> list[str]:
        on = hit is not None and r.name == hit
        return ["background-color: rgba(240,185,11,0.35); font-weight: 600" if on else "" for _ in r]

    styled = shown.style.apply(highlight, axis=1) if hit is not None else shown
    pf = price_format(est.last_price)
    st.container(key=f"{key}_panel").dataframe(
        styled,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(shown)),
        key=f"{key}_table",
        column_config={
            "Price": st.column_config.NumberColumn("Price", format=pf, help="Estimated level price"),
            "Est. USD": st.column_config.NumberColumn(
                "Est. USD", format="compact", help="Estimated notional that would be liquidated there (USD)"
            ),
            "Distance %": st.column_config.NumberColumn("Distance %", format="%+.2f %%"),
            "Zone low": st.column_config.NumberColumn("Zone low", format=pf),
            "Zone high": st.column_config.NumberColumn("Zone high", format=pf),
            "Approaches survived": st.column_config.NumberColumn(
                "Approaches survived",
                help="How many times price came close without touching it: a level that survives approaches "
                "suggests positions that are holding on.",
            ),
            "Age": st.column_config.TextColumn(
                "Age", help="Time since the level's first positions were opened"
            ),
            "Cascade risk": st.column_config.TextColumn(
                "Cascade risk", help="Close to another level on the same side: one can trigger the next"
            ),
        },
    )
    st.download_button(
        "Download levels (CSV)",
        table.to_csv(index=False).encode(),
        file_name=f"{est.symbol or 'levels'}_levels_estimate.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv",
    )
    return table


# --- swept levels ------------------------------------------------------------------------------------------
def swept_list(est: liq.Estimate, *, limit: int = 15) -> None:
    """What the model says was cleared recently: side, price band, estimated USD, when."""
    st.subheader("Swept levels (estimated)")
    sw = est.swept
    if sw is None or len(sw) == 0:
        st.caption("Nothing was swept in this range.")
        return
    recent = sw.sort_values("swept_last", ascending=False).head(limit)
    last = pd.Timestamp(est.last_time)
    swept_last = pd.to_datetime(recent["swept_last"], utc=True)
    table = pd.DataFrame(
        {
            "Side": recent["side"]
            .map({"long": "Longs flushed", "short": "Shorts squeezed"})
            .fillna(recent["side"]),
            "Price": recent["price"].astype(float),
            "Band": [
                f"{fmt_price(a)} – {fmt_price(b)}"
                for a, b in zip(recent["bin_low"], recent["bin_high"], strict=True)
            ],
            "Est. USD": recent["notional_usd"].astype(float).round(0),
            "Swept at (UTC)": swept_last.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Ago": (last - swept_last).map(_age_text).to_numpy(),
        }
    )
    total_long = float(sw.loc[sw["side"] == "long", "notional_usd"].sum())
    total_short = float(sw.loc[sw["side"] == "short", "notional_usd"].sum())
    st.caption(
        f"In this range the model estimates {fmt_usd(total_long)} of longs and {fmt_usd(total_short)} of shorts "
        f"were liquidated. The {len(table)} most recent sweeps:"
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Price": st.column_config.NumberColumn(format=price_format(est.last_price)),
            "Est. USD": st.column_config.NumberColumn(format="compact"),
        },
    )


# --- liquidation map (Altair) ------------------------------------------------------------------------------
def liquidation_map_chart(est: liq.Estimate, window_pct: float = 10.0) -> alt.LayerChart | None:
    """Bars of estimated USD per price bin stacked by leverage tier, cumulative curves, current-price rule."""
    prof = est.profile
    if prof is None or len(prof) == 0:
        return None
    price = float(est.last_price)
    lo, hi = price * (1 - window_pct / 100), price * (1 + window_pct / 100)
    p = prof[(prof["bin_high"] > lo) & (prof["bin_low"] < hi) & (prof["notional_usd"] > 0)].copy()
    if len(p) == 0:
        return None
    p["mid"] = (p["bin_low"] + p["bin_high"]) / 2
    p["tier"] = p["leverage"].map(lambda x: f"{x:g}x")
    p["side_label"] = p["side"].map({"long": "long", "short": "short"})
    tiers = sorted(p["leverage"].unique())
    tier_order = [f"{x:g}x" for x in tiers]

    # Cumulative curves: longs add up from the price downwards, shorts from the price upwards.
    by_bin = p.groupby(["side", "mid"], as_index=False)["notional_usd"].sum()
    longs = by_bin[by_bin["side"] == "long"].sort_values("mid", ascending=False)
    longs = longs.assign(cum=longs["notional_usd"].cumsum(), curve="Cumulative longs (below)")
    shorts = by_bin[by_bin["side"] == "short"].sort_values("mid")
    shorts = shorts.assign(cum=shorts["notional_usd"].cumsum(), curve="Cumulative shorts (above)")
    curves = pd.concat([longs, shorts], ignore_index=True)

    x = alt.X(
        "bin_low:Q", title="Price", scale=alt.Scale(domain=[lo, hi], nice=False), axis=alt.Axis(format="~s")
    )
    bars = (
        alt.Chart(p)
        .mark_bar(opacity=0.9)
        .encode(
            x=x,
            x2="bin_high:Q",
            y=alt.Y(
                "sum(notional_usd):Q",
                title="Est. USD per price bin",
                axis=alt.Axis(format="$~s", labelExpr=BILLIONS),
            ),
            color=alt.Color(
                "tier:N",
                title="Leverage",
                sort=tier_order,
                scale=alt.Scale(scheme="plasma", domain=tier_order),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("leverage:Q"),
            tooltip=[
                alt.Tooltip("side_label:N", title="Side"),
                alt.Tooltip("tier:N", title="Leverage"),
                alt.Tooltip("bin_low:Q", title="From", format=",.2f"),
                alt.Tooltip("bin_high:Q", title="To", format=",.2f"),
                alt.Tooltip("sum(notional_usd):Q", title="Est. USD", format="$,.0f"),
            ],
        )
    )
    lines = (
        alt.Chart(curves)
        .mark_line(strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("mid:Q", scale=alt.Scale(domain=[lo, hi], nice=False)),
            y=alt.Y(
                "cum:Q",
                title="Cumulative est. USD",
                axis=alt.Axis(format="$~s", orient="right", labelExpr=BILLIONS),
            ),
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
                alt.Tooltip("mid:Q", title="Price", format=",.2f"),
                alt.Tooltip("cum:Q", title="Cumulative est. USD", format="$,.0f"),
            ],
        )
    )
    rule_df = pd.DataFrame({"price": [price], "label": [f"Last {fmt_price(price)}"]})
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
    return (
        alt.layer(alt.layer(bars, rule, text), lines)
        .resolve_scale(y="independent", color="independent")
        .properties(height=380)
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
        "Bars: estimated USD that would be liquidated in each price bin, stacked by assumed leverage. Lines: running "
        "totals from the current price outwards, longs to the left and shorts to the right. Dashed line: last price."
    )


# --- heatmap (Altair) --------------------------------------------------------------------------------------
def _block_edges(n: int, blocks: int) -> np.ndarray:
    return np.unique(np.linspace(0, n, min(n, blocks) + 1).round().astype(int))


def heatmap_frame(
    est: liq.Estimate, *, max_cells: int = 15_000, colour_threshold: float = 0.0, pad_pct: float = 4.0
) -> pd.DataFrame:
    """Pre-bin the heatmap into at most ``max_cells`` (time × price) cells, in numpy.

    Time blocks average the columns (the grid is a state, alive notional, not a flow); price blocks sum bins.
    The price range is cropped to the candles' range plus ``pad_pct`` so the picture is not mostly empty.
    Cells below ``colour_threshold`` × the top cell are dropped.
    """
    hm = est.heatmap
    total = np.asarray(hm.long_usd, dtype=float) + np.asarray(hm.short_usd, dtype=float)
    edges = np.asarray(hm.price_edges, dtype=float)
    candles = est.candles
    lo = float(candles["low"].min()) * (1 - pad_pct / 100)
    hi = float(candles["high"].max()) * (1 + pad_pct / 100)
    p0 = max(int(np.searchsorted(edges, lo, side="right")) - 1, 0)
    p1 = min(int(np.searchsorted(edges, hi, side="left")), len(edges) - 1)
    if p1 <= p0:
        p0, p1 = 0, len(edges) - 1
    n_t, n_p = total.shape[0], p1 - p0
    # aim for roughly 2 time cells per price cell, within the budget
    p_blocks = int(max(10, min(n_p, math.sqrt(max_cells / 2))))
    t_blocks = int(max(1, min(n_t, max_cells // p_blocks)))
    te = _block_edges(n_t, t_blocks)
    pe = _block_edges(n_p, p_blocks) + p0

    def reduce(grid: np.ndarray) -> np.ndarray:
        g = grid[:, p0:p1]
        g = np.add.reduceat(g, pe[:-1] - p0, axis=1)  # sum over price bins
        counts = np.diff(te)[:, None]
        return np.add.reduceat(g, te[:-1], axis=0) / counts  # mean over time columns

    long_c, short_c = (
        reduce(np.asarray(hm.long_usd, dtype=float)),
        reduce(np.asarray(hm.short_usd, dtype=float)),
    )
    times = pd.to_datetime(np.asarray(hm.times)).tz_localize(None) if len(hm.times) else pd.DatetimeIndex([])
    step = pd.Timedelta(minutes=1)
    if len(est.candles) > 1:
        step = pd.Timedelta(pd.to_datetime(est.candles["open_time"]).diff().median())
    t_start = times[te[:-1]]
    t_end_idx = te[1:] - 1
    t_end = times[t_end_idx] + step
    ti, pi = np.meshgrid(np.arange(len(te) - 1), np.arange(len(pe) - 1), indexing="ij")
    frame = pd.DataFrame(
        {
            "t0": np.asarray(t_start)[ti.ravel()],
            "t1": np.asarray(t_end)[ti.ravel()],
            "p0": edges[pe[:-1]][pi.ravel()],
            "p1": edges[pe[1:]][pi.ravel()],
            "long_usd": long_c.ravel(),
            "short_usd": short_c.ravel(),
        }
    )
    frame["total_usd"] = frame["long_usd"] + frame["short_usd"]
    top = float(frame["total_usd"].max()) if len(frame) else 0.0
    keep = frame["total_usd"] > max(top * float(colour_threshold), 0.0)
    return frame[keep].reset_index(drop=True)


def heatmap_chart(
    est: liq.Estimate, *, max_cells: int = 15_000, colour_threshold: float = 0.0, height: int = 520
) -> alt.LayerChart | None:
    """Altair heatmap (pre-binned) with the close-price line, tooltips and PNG/SVG export in the action menu."""
    frame = heatmap_frame(est, max_cells=max_cells, colour_threshold=colour_threshold)
    if len(frame) == 0:
        return None
    # top colour at the 99th percentile (clamped) so one extreme cell does not darken the rest
    top = float(np.quantile(frame["total_usd"], 0.99)) or float(frame["total_usd"].max())
    cells = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("t0:T", title="Time (UTC)"),
            x2="t1:T",
            y=alt.Y("p0:Q", title="Price", scale=alt.Scale(zero=False, nice=False)),
            y2="p1:Q",
            color=alt.Color(
                "total_usd:Q",
                title="Est. USD",
                scale=alt.Scale(scheme="viridis", domain=[0, top], clamp=True),
                legend=alt.Legend(format="$~s", orient="right", gradientLength=220, labelExpr=BILLIONS),
            ),
            tooltip=[
                alt.Tooltip("t0:T", title="From (UTC)", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("p0:Q", title="Price from", format=",.2f"),
                alt.Tooltip("p1:Q", title="Price to", format=",.2f"),
                alt.Tooltip("long_usd:Q", title="Longs (est. USD)", format="$,.0f"),
                alt.Tooltip("short_usd:Q", title="Shorts (est. USD)", format="$,.0f"),
            ],
        )
    )
    c = est.candles
    step = max(1, len(c) // 1500)
    close = pd.DataFrame(
        {"t": pd.to_datetime(c["open_time"]).dt.tz_localize(None), "close": c["close"].astype(float)}
    )
    close = close.iloc[::step]
    line = (
        alt.Chart(close)
        .mark_line(color="white", strokeWidth=1.2, opacity=0.9)
        .encode(
            x="t:T",
            y="close:Q",
            tooltip=[alt.Tooltip("t:T", title="Time"), alt.Tooltip("close:Q", format=",.2f")],
        )
    )
    return (
        alt.layer(cells, line)
        .properties(height=height)
        .properties(
            usermeta={
                "embedOptions": {
                    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
                    "downloadFileName": f"{est.symbol or 'liq'}_liquidation_heatmap",
                }
            }
        )
    )


def chart_html_download(chart: alt.TopLevelMixin, name: str) -> None:
    """Offer an Altair chart as a standalone HTML file; its ⋯ menu exports PNG and SVG.

    Streamlit's own chart toolbar offers PNG only, so SVG comes from this file (opening it loads the Vega
    libraries from their public CDN, in the user's browser).
    """

    def build() -> bytes:  # runs only when the button is clicked (the file is a few MB)
        with alt.data_transformers.enable("default", max_rows=None):  # the cells are already pre-binned
            html = chart.properties(width=1100).to_html(
                embed_options={
                    "actions": {"export": True, "source": False, "compiled": False, "editor": False}
                }
            )
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


# --- help --------------------------------------------------------------------------------------------------
def how_to_read(*, expanded: bool = False, extra: Sequence[str] = ()) -> None:
    """The "How to read this" expander, in plain words."""
    with st.expander("How to read this", expanded=expanded, icon=":material/help:"):
        st.markdown(
            """
**Everything here is an estimate.** Binance does not publish where traders' liquidation prices are. The app
replays recent candles (and open interest when it has it), assumes a mix of leverage for the positions opened
in each candle, and works out where each of those positions would be force-closed. Positions that price has
already run through are removed.

- **Heatmap (density):** the colour of a cell is the estimated USD that would be liquidated if price traded
  there at that time. Brighter means more. Long positions are liquidated *below* the price, shorts *above*.
- **Level:** one price where the estimate piles up, with its USD. The line on the chart is the USD-weighted
  average of the exact liquidation prices in that pile, not the middle of a colour band.
- **Zone:** the price band around a level where the density stays above the significance threshold.
- **Distance:** how far price must move, in percent, to reach the level.
- **Approaches survived:** how often price came near a level without reaching it.
- **Swept:** levels that price already ran through; those positions are gone.

**Readings that lean bullish**
- Large short levels close above price: if price gets there, forced buying can speed the move up.
- Long levels below that were recently swept: the downside fuel has already been burned.

**Readings that lean bearish**
- Large long levels just under price: a small dip can set off forced selling.
- Several long levels stacked close together (flagged as cascade risk): one can trigger the next.

**How big are the dollars?** The USD figures are the estimated value of positions whose liquidation price
sits there. Read them to compare levels with each other, not as a forecast of the liquidation total: many
traders close or get stopped out before their liquidation price. Measured on Binance BTCUSDT over 2023 to
mid-2024, the model's daily swept USD ranked the days well (rank correlation +0.8 with recorded liquidations)
but was about 90 times the recorded amounts. In the volume model positions only leave by being swept, so the
totals also grow with the length of the range; the decay setting fades old positions.

**Asymmetry** compares shorts above with longs below within ±5 %. A clearly positive number says more
liquidation fuel sits above (an upward pull); a clearly negative one says it sits below (a downward pull).

**Tips**
- Levels work as targets and as places to keep your stop away from: price is often drawn to them and may
  reverse after clearing them.
- Do not count on price stopping at the first level: a cascade can run through several in a row.
- Check levels against ordinary chart levels (support, resistance, round numbers); where they agree the
  level is more convincing.
- Compare the picture across ranges and leverage presets: a level that shows up in all of them is sturdier.
"""
        )
        for line in extra:
            st.markdown(line)
