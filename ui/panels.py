"""The page panels: header metrics, the levels table (with its CSV), the swept list (tables: ``ui.tables``).

Everything here takes results from ``liq`` and draws them; nothing here computes a model number. Every
price, USD amount and percentage is written by ``liq._format``, so a level reads the same in the header,
the table, the chart, the CSV and the command line.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

import liq
from liq import MarketData
from liq._check.overlay import RecordedVsEstimated
from liq._format import format_pct, format_price, format_usd, price_decimals, price_printf
from liq._levels import cascade_rule
from ui import cache, messages, tables, vega_specs
from ui.help import ESTIMATE_NOTE

__all__ = [
    "levels_panel",
    "liquidation_map",
    "metrics_row",
    "reading_row",
    "swept_list",
    "tables_for",
]


# --- header metrics ----------------------------------------------------------------------------------------
def _level_metric(
    col: st.delta_generator.DeltaGenerator, label: str, level: liq.Level | None, d: int, help: str
) -> None:
    if level is None:
        col.metric(
            label, "none", help=f"No significant {label.split()[0].lower()} level on that side of the price."
        )
        return
    col.metric(
        label,
        format_price(level.price, d),
        delta=f"{format_pct(level.distance_pct)} · {format_usd(level.notional_usd)}",
        delta_color="off",
        help=help,
    )


def _within_table(summary: liq.Summary) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Within": f"±{pct} %",
            "Longs below (est. USD)": format_usd(summary.long_usd_within.get(pct)),
            "Shorts above (est. USD)": format_usd(summary.short_usd_within.get(pct)),
        }
        for pct in (1, 2, 5)
    )


def metrics_row(summary: liq.Summary) -> None:
    """Last price, nearest levels, asymmetry and its gauge: one row, above the chart."""
    d = price_decimals(summary.last_price)
    row = st.container(horizontal=True, gap="medium", key="header_metrics")
    c1, c2, c3, c4 = (row.container(width="stretch") for _ in range(4))
    c1.metric("Last price", format_price(summary.last_price, d))
    _level_metric(
        c2,
        "Long level below (est.)",
        summary.nearest_below,
        d,
        "The closest significant cluster of estimated long liquidations under the price, how far away it is, "
        "and the estimated USD that would be force-sold there.",
    )
    _level_metric(
        c3,
        "Short level above (est.)",
        summary.nearest_above,
        d,
        "The closest significant cluster of estimated short liquidations over the price, how far away it is, "
        "and the estimated USD that would be force-bought there.",
    )
    asym = summary.asymmetry
    c4.metric(
        "Asymmetry ±5 % (est.)",
        f"{asym:+.2f}" if math.isfinite(asym) else "n/a",
        help="(shorts above − longs below) ÷ (shorts above + longs below), counting estimated USD within 5 % "
        "of price. +1: only shorts above (upward pull); −1: only longs below (downward pull).",
    )
    vega_specs.draw(cache.gauge_spec(round(asym, 2) if math.isfinite(asym) else math.nan), c4)


def liquidation_map(config: liq.ModelConfig, data: MarketData, *, key: str = "liqmap") -> None:
    """The liquidation map of the estimate of ``data`` with ``config`` (built once per view, cached), with a
    window selector."""
    st.subheader("Liquidation map (estimated)")
    window = st.segmented_control(
        "Price window around the last price",
        options=list(vega_specs.MAP_WINDOWS_PCT),
        default=vega_specs.MAP_DEFAULT_WINDOW_PCT,
        format_func=lambda v: f"±{v} %",
        key=f"{key}_window",
    )
    spec = cache.liquidation_map_spec(config, data, float(window or vega_specs.MAP_DEFAULT_WINDOW_PCT))
    if spec is None:
        st.caption("No estimated liquidations inside this window.")
        return
    vega_specs.draw(spec)
    st.caption(
        "Bars: estimated USD that would be liquidated in each price bin, stacked by assumed leverage. Lines: "
        "running totals from the current price outwards, longs to the left and shorts to the right. Dashed "
        "line: last price."
    )


def reading_row(summary: liq.Summary) -> None:
    """USD within ±1/2/5 % per side and the reading in words (under the chart, so the chart comes first)."""
    d1, d2 = st.columns([3, 2])
    d1.dataframe(_within_table(summary), hide_index=True, width="stretch")
    with d2:
        st.markdown(f"**Reading:** {messages.plain(summary.reading)}")
        st.caption(ESTIMATE_NOTE)


# --- levels panel ------------------------------------------------------------------------------------------
def _click_price(click: object) -> float | None:
    """The price of a chart click value ``{time, price}`` (None when there is no click)."""
    price = click.get("price") if isinstance(click, dict) else getattr(click, "price", None)
    try:
        value = float(price)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _click_note(table: pd.DataFrame, hit: int, price: float, d: int) -> None:
    row = table.iloc[hit]
    side = str(row["Side"]).split()[0].lower()
    text = (
        f"Chart click at {format_price(price, d)}: the nearest level is {side} {format_price(row['Price'], d)} "
        f"({format_usd(row['Est. USD'])} est., {format_pct(row['Distance %'])} from price), highlighted below."
    )
    st.info(messages.plain(text))


def _table_columns(price: float) -> dict[str, Any]:
    pf = price_printf(price)
    return {
        "Price": st.column_config.NumberColumn("Price", format=pf, help="Estimated level price"),
        "Est. USD": st.column_config.TextColumn(
            "Est. USD",
            help="Estimated value (USD) of the positions whose liquidation price sits at this level: an "
            "estimate of what is there, not a forecast of how much will be liquidated",
        ),
        "Distance %": st.column_config.NumberColumn("Distance %", format="%+.2f %%"),
        "Zone low": st.column_config.NumberColumn("Zone low", format=pf),
        "Zone high": st.column_config.NumberColumn("Zone high", format=pf),
        "Approaches survived": st.column_config.NumberColumn(
            "Approaches survived",
            help="How many times price came close without touching it: a level that survives approaches "
            "suggests positions that are holding on.",
        ),
        "Age": st.column_config.TextColumn("Age", help="Time since the level's first positions were opened"),
        "Cascade risk": st.column_config.TextColumn(
            "Cascade risk",
            help=f"Flagged for {cascade_rule(liq.ModelConfig().cascade_gap_pct)}: one can trigger the next",
        ),
        "Recorded": st.column_config.TextColumn(
            "Recorded",
            help="USD of real liquidations recorded on this side within the level's zone during the window, and "
            "when (a lower bound: Binance reports at most one liquidation per pair per second)",
        ),
    }


def tables_for(
    config: liq.ModelConfig, data: MarketData, recorded: RecordedVsEstimated | None = None
) -> tables.LevelsTables:
    """The levels panel's and swept list's tables for the estimate of ``data`` with ``config``: kept per view
    (:func:`ui.cache.levels_tables`), or built for this rerun when a recording is laid over them."""
    if recorded is None:
        return cache.levels_tables(config, data)
    return tables.levels_tables(cache.page_estimate(config, data), data, recorded)


def levels_panel(
    est: liq.Estimate, t: tables.LevelsTables, click: object = None, *, key: str = "levels"
) -> pd.DataFrame:
    """Sortable levels table with cascade flags; highlights the level nearest to a chart click; CSV export.

    ``t`` holds the tables of ``est`` (:func:`tables_for`); the table shown is returned.
    """
    table = t.table
    st.subheader("Liquidation levels (estimated)")
    if len(table) == 0:
        st.info(
            "No significant level on either side: lower the significance threshold in Model settings, or pick a "
            "longer range."
        )
        return table
    d = price_decimals(est.last_price)
    price = _click_price(click)
    hit = tables.nearest_level_index(table, price)
    if hit is not None and price is not None:
        _click_note(table, hit, price, d)
    n_cascade = int(table["Cascade risk"].sum())
    if n_cascade:
        st.warning(
            f"{n_cascade} levels sit close to a neighbour on the same side (⚠ in the table): if price reaches "
            "one, the forced orders can push it straight into the next one: a cascade.",
            icon=":material/warning:",
        )
    shown = t.shown

    def highlight(r: pd.Series) -> list[str]:
        on = hit is not None and r.name == hit
        return ["background-color: rgba(240,185,11,0.35); font-weight: 600" if on else "" for _ in r]

    st.container(key=f"{key}_panel").dataframe(
        shown.style.apply(highlight, axis=1) if hit is not None else shown,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(shown)),
        key=f"{key}_table",
        column_config=_table_columns(est.last_price),
    )
    if t.n_levels > len(table):
        st.caption(
            f"The table lists the {len(table)} levels drawn on the chart: the {tables.LEVEL_LINES} largest and "
            f"the nearest on each side of the price. The CSV holds all {t.n_levels}."
        )
    st.download_button(
        "Download levels (CSV)",
        t.csv,
        file_name=f"{est.symbol or 'levels'}_levels_estimate.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv",
    )
    return table


# --- swept levels ------------------------------------------------------------------------------------------
def swept_list(est: liq.Estimate, t: tables.LevelsTables) -> None:
    """What the model says was cleared recently: side, price band, estimated USD, when (``t``: the tables of
    ``est``, :func:`tables_for`)."""
    st.subheader("Swept levels (estimated)")
    sw = est.swept
    if sw is None or len(sw) == 0:
        st.caption("Nothing was swept in this range.")
        return
    table = t.swept
    total = t.swept_usd
    st.caption(
        messages.plain(
            f"In this range the model estimates {format_usd(total['long'])} of longs and "
            f"{format_usd(total['short'])} of shorts were liquidated. The {len(table)} most recent sweeps:"
        )
    )
    if "Recorded USD" in table:
        st.caption(
            "Recorded USD: real liquidations recorded in the same price bins while the cluster was being swept, "
            "beside the model's estimate (a lower bound; “not recorded”: the recording was not listening then)."
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"Price": st.column_config.NumberColumn(format=price_printf(est.last_price))},
    )
