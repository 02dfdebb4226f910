"""The page panels: header metrics, the levels table (with its CSV), the swept list.

Everything here takes results from ``liq`` and draws them; nothing here computes a model number. Every
price, USD amount and percentage is written by ``liq._format``, so a level reads the same in the header,
the table, the chart, the CSV and the command line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import liq
from liq import MarketData
from liq._chart_payload import drawn_levels
from liq._check.overlay import RecordedVsEstimated
from liq._format import format_pct, format_price, format_usd, price_decimals, price_printf
from liq._levels import cascade_rule
from liq._recorded_payload import level_hit_texts, swept_recorded_texts
from liq._sources._common import INTERVAL_MS
from ui import cache, messages, vega_specs
from ui.chart import LEVEL_LINES
from ui.help import ESTIMATE_NOTE

__all__ = [
    "levels_csv",
    "levels_panel",
    "levels_table",
    "liquidation_map",
    "metrics_row",
    "nearest_level_index",
    "reading_row",
    "swept_list",
]

_SIDE_NAMES = {"long": "Long (below)", "short": "Short (above)"}
_TABLE_COLUMNS = [
    "Price",
    "Side",
    "Est. USD",
    "Distance %",
    "Zone low",
    "Zone high",
    "Approaches survived",
    "Age",
    "Cascade risk",
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
def _age_text(delta: pd.Timedelta) -> str:
    hours = delta.total_seconds() / 3600.0
    if not math.isfinite(hours) or hours < 0:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def levels_table(est: liq.Estimate, recorded: RecordedVsEstimated | None = None) -> pd.DataFrame:
    """The levels as a table, nearest first; prices rounded as they are shown (this is also the CSV).

    With ``recorded``, a "Recorded" column says what recorded liquidations hit within each level's zone.
    """
    lv = est.levels
    if lv is None or len(lv) == 0:
        return pd.DataFrame(columns=_TABLE_COLUMNS)
    d = price_decimals(est.last_price)
    age = (pd.Timestamp(est.last_time) - pd.to_datetime(lv["first_seen"], utc=True)).map(_age_text)
    table = pd.DataFrame(
        {
            "Price": lv["price"].astype(float).round(d),
            "Side": lv["side"].map(_SIDE_NAMES).fillna(lv["side"]),
            "Est. USD": lv["notional_usd"].astype(float).round(0),
            "Distance %": lv["distance_pct"].astype(float).round(2),
            "Zone low": lv["zone_low"].astype(float).round(d),
            "Zone high": lv["zone_high"].astype(float).round(d),
            "Approaches survived": lv["approaches"].astype(int),
            "Age": age.to_numpy(),
            "Cascade risk": lv["cascade"].astype(bool) if "cascade" in lv else False,
        }
    )
    if recorded is not None and len(recorded.levels) == len(table):
        table["Recorded"] = level_hit_texts(recorded)
    order = table["Distance %"].abs().sort_values(kind="stable").index
    return table.loc[order].reset_index(drop=True)


def nearest_level_index(table: pd.DataFrame, price: float | None) -> int | None:
    """Row of ``table`` whose price is nearest to ``price`` (None when the table is empty)."""
    if len(table) == 0 or price is None or not math.isfinite(float(price)):
        return None
    return int(np.argmin(np.abs(table["Price"].to_numpy(dtype=float) - float(price))))


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


def _shown_table(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    shown["Est. USD"] = [format_usd(x) for x in shown["Est. USD"]]
    shown["Cascade risk"] = np.where(shown["Cascade risk"], "⚠ stacked", "")
    return shown


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


def levels_panel(
    est: liq.Estimate,
    click: object = None,
    *,
    key: str = "levels",
    recorded: RecordedVsEstimated | None = None,
    data: MarketData | None = None,
) -> pd.DataFrame:
    """Sortable levels table with cascade flags; highlights the level nearest to a chart click; CSV export.

    ``data`` (the market data behind ``est``) names the interval and source in the CSV.
    """
    table = levels_table(est, recorded)
    st.subheader("Liquidation levels (estimated)")
    csv = levels_csv(table, est, data)
    table = _on_chart(table, est)
    if len(table) == 0:
        st.info(
            "No significant level on either side: lower the significance threshold in Model settings, or pick a "
            "longer range."
        )
        return table
    d = price_decimals(est.last_price)
    price = _click_price(click)
    hit = nearest_level_index(table, price)
    if hit is not None and price is not None:
        _click_note(table, hit, price, d)
    n_cascade = int(table["Cascade risk"].sum())
    if n_cascade:
        st.warning(
            f"{n_cascade} levels sit close to a neighbour on the same side (⚠ in the table): if price reaches "
            "one, the forced orders can push it straight into the next one: a cascade.",
            icon=":material/warning:",
        )
    shown = _shown_table(table)

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
    n_all = len(est.levels)
    if n_all > len(table):
        st.caption(
            f"The table lists the {len(table)} levels drawn on the chart: the {LEVEL_LINES} largest and the "
            f"nearest on each side of the price. The CSV holds all {n_all}."
        )
    st.download_button(
        "Download levels (CSV)",
        csv,
        file_name=f"{est.symbol or 'levels'}_levels_estimate.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv",
    )
    return table


def _on_chart(table: pd.DataFrame, est: liq.Estimate) -> pd.DataFrame:
    """The rows of ``table`` whose level the chart draws (every level the page names is on the chart)."""
    drawn = drawn_levels(est.levels, float(est.last_price), LEVEL_LINES)
    d = price_decimals(est.last_price)
    keep = table["Price"].isin(drawn["price"].astype(float).round(d))
    return table[keep.to_numpy()].reset_index(drop=True)


def levels_csv(table: pd.DataFrame, est: liq.Estimate, data: MarketData | None = None) -> bytes:
    """The levels CSV: the table with the pair, the interval, the source and the as-of time in front.

    "As of (UTC)" is the close of the last candle the estimate used, so a shared file says how old it is.
    """
    last = pd.Timestamp(est.last_time)
    interval = data.interval if data is not None else ""
    as_of = last + pd.Timedelta(milliseconds=INTERVAL_MS[interval]) if interval in INTERVAL_MS else last
    meta = {
        "Symbol": est.symbol or (data.symbol if data is not None else ""),
        "Interval": interval,
        "Source": data.source if data is not None else "",
        "As of (UTC)": f"{as_of:%Y-%m-%d %H:%M}",
    }
    out = table.copy()
    for i, (name, value) in enumerate(meta.items()):
        out.insert(i, name, value)
    return out.to_csv(index=False).encode()


# --- swept levels ------------------------------------------------------------------------------------------
def _swept_table(est: liq.Estimate, limit: int, recorded: RecordedVsEstimated | None = None) -> pd.DataFrame:
    recent = est.swept.sort_values("swept_last", ascending=False).head(limit)
    rows = est.swept.index.get_indexer(recent.index)
    d = price_decimals(est.last_price)
    swept_last = pd.to_datetime(recent["swept_last"], utc=True)
    return pd.DataFrame(
        {
            "Side": recent["side"]
            .map({"long": "Longs flushed", "short": "Shorts squeezed"})
            .fillna(recent["side"]),
            "Price": recent["price"].astype(float).round(d),
            "Band": [
                f"{format_price(a, d)} – {format_price(b, d)}"
                for a, b in zip(recent["bin_low"], recent["bin_high"], strict=True)
            ],
            "Est. USD": [format_usd(x) for x in recent["notional_usd"]],
            **_recorded_column(recorded, rows),
            "Swept at (UTC)": swept_last.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Ago": (pd.Timestamp(est.last_time) - swept_last).map(_age_text).to_numpy(),
        }
    )


def _recorded_column(recorded: RecordedVsEstimated | None, rows: Any) -> dict[str, list[str]]:
    """The "Recorded USD" column of the swept list for the given rows of ``Estimate.swept`` (none without)."""
    if recorded is None or len(recorded.swept) == 0:
        return {}
    texts = swept_recorded_texts(recorded)
    return {"Recorded USD": [texts[i] for i in rows]}


def swept_list(est: liq.Estimate, *, limit: int = 15, recorded: RecordedVsEstimated | None = None) -> None:
    """What the model says was cleared recently: side, price band, estimated USD, when."""
    st.subheader("Swept levels (estimated)")
    sw = est.swept
    if sw is None or len(sw) == 0:
        st.caption("Nothing was swept in this range.")
        return
    table = _swept_table(est, limit, recorded)
    total = {side: float(sw.loc[sw["side"] == side, "notional_usd"].sum()) for side in ("long", "short")}
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
