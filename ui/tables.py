"""The levels and swept tables a page shows, and the levels CSV: built from an estimate, nothing drawn.

They live apart from ``ui.panels`` (which draws them) so that ``ui.cache`` can keep them per view
(:func:`levels_tables`): a rerun of a page whose estimate is cached reads them instead of building them
again. Every price, USD amount and percentage is written by ``liq._format``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import liq
from liq import MarketData
from liq._chart_payload import drawn_levels
from liq._check.overlay import RecordedVsEstimated
from liq._format import format_price, format_usd, price_decimals
from liq._recorded_payload import level_hit_texts, swept_recorded_texts
from liq._sources._common import INTERVAL_MS

__all__ = [
    "LEVEL_LINES",
    "SWEPT_ROWS",
    "TABLE_COLUMNS",
    "LevelsTables",
    "levels_csv",
    "levels_table",
    "levels_tables",
    "nearest_level_index",
    "on_chart",
    "shown_table",
    "swept_table",
]

#: Level lines drawn on the chart (the largest levels by estimated USD); the page's table lists the same.
LEVEL_LINES = 12
#: Rows of the swept list (the most recent sweeps).
SWEPT_ROWS = 15
SIDE_NAMES = {"long": "Long (below)", "short": "Short (above)"}
TABLE_COLUMNS = [
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


@dataclass(frozen=True)
class LevelsTables:
    """What the levels panel and the swept list show for one estimate.

    ``table`` holds the levels drawn on the chart, nearest first, with numbers (``levels_table`` then
    ``on_chart``); ``shown`` is the same rows as the page writes them (USD as text, the cascade flag as a
    mark); ``csv`` holds every level; ``swept`` the :data:`SWEPT_ROWS` most recent sweeps; ``n_levels`` counts
    every level of the estimate; ``swept_usd`` is the estimated USD swept per side over the whole range.
    """

    table: pd.DataFrame
    shown: pd.DataFrame
    csv: bytes
    swept: pd.DataFrame
    n_levels: int
    swept_usd: dict[str, float]


def levels_tables(
    est: liq.Estimate, data: MarketData | None = None, recorded: RecordedVsEstimated | None = None
) -> LevelsTables:
    """Every table of the levels panel and the swept list of ``est`` (``data`` names the CSV's interval and
    source; ``recorded`` adds the recorded columns)."""
    full = levels_table(est, recorded)
    table = on_chart(full, est) if len(full) else full
    n_levels = 0 if est.levels is None else len(est.levels)
    has_swept = est.swept is not None and len(est.swept) > 0
    swept = swept_table(est, SWEPT_ROWS, recorded) if has_swept else pd.DataFrame()
    sw = est.swept
    swept_usd = {
        side: float(sw.loc[sw["side"] == side, "notional_usd"].sum()) if has_swept else 0.0
        for side in ("long", "short")
    }
    return LevelsTables(table, shown_table(table), levels_csv(full, est, data), swept, n_levels, swept_usd)


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
        return pd.DataFrame(columns=TABLE_COLUMNS)
    d = price_decimals(est.last_price)
    age = (pd.Timestamp(est.last_time) - pd.to_datetime(lv["first_seen"], utc=True)).map(_age_text)
    table = pd.DataFrame(
        {
            "Price": lv["price"].astype(float).round(d),
            "Side": lv["side"].map(SIDE_NAMES).fillna(lv["side"]),
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


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as the page writes it: USD as compact text, the cascade flag as a mark."""
    shown = table.copy()
    shown["Est. USD"] = [format_usd(x) for x in shown["Est. USD"]]
    shown["Cascade risk"] = np.where(shown["Cascade risk"], "⚠ stacked", "")
    return shown


def on_chart(table: pd.DataFrame, est: liq.Estimate) -> pd.DataFrame:
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


def swept_table(est: liq.Estimate, limit: int, recorded: RecordedVsEstimated | None = None) -> pd.DataFrame:
    """The ``limit`` most recent sweeps of ``est``: side, price, band, estimated USD, when (and what was recorded)."""
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
