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
from liq._sources._common import INTERVAL_MS, utc_ns

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
    swept_usd = {"long": 0.0, "short": 0.0}
    if has_swept:
        sides, usd = est.swept["side"].to_numpy(dtype=object), est.swept["notional_usd"].to_numpy(dtype=float)
        swept_usd = {side: float(usd[sides == side].sum()) for side in swept_usd}
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
    # numbers as numpy columns, sorted once (nearest first), then one frame: the levels are few, so pandas'
    # per-operation cost was most of the time
    distance = np.round(lv["distance_pct"].to_numpy(dtype=float), 2)
    order = np.argsort(np.abs(distance), kind="stable")
    sides = lv["side"].to_numpy(dtype=object)[order]
    cols: dict[str, Any] = {
        "Price": np.round(lv["price"].to_numpy(dtype=float), d)[order],
        "Side": np.array([SIDE_NAMES.get(x, x) for x in sides], dtype=object),
        "Est. USD": np.round(lv["notional_usd"].to_numpy(dtype=float), 0)[order],
        "Distance %": distance[order],
        "Zone low": np.round(lv["zone_low"].to_numpy(dtype=float), d)[order],
        "Zone high": np.round(lv["zone_high"].to_numpy(dtype=float), d)[order],
        "Approaches survived": lv["approaches"].to_numpy().astype(int)[order],
        "Age": _ages(est.last_time, utc_ns(lv["first_seen"]))[order],
        "Cascade risk": lv["cascade"].to_numpy().astype(bool)[order] if "cascade" in lv else False,
    }
    if recorded is not None and len(recorded.levels) == len(lv):
        cols["Recorded"] = np.asarray(level_hit_texts(recorded), dtype=object)[order]
    return pd.DataFrame(cols)


def _ages(last_time: pd.Timestamp, times_ns: np.ndarray) -> np.ndarray:
    """:func:`_age_text` of ``last_time`` − each of ``times_ns`` (UTC epoch nanoseconds), an array of text."""
    last_ns = pd.Timestamp(last_time).value
    return np.array([_age_text(pd.Timedelta(int(last_ns - x))) for x in times_ns], dtype=object)


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
    n = len(table)
    cols: dict[str, Any] = {k: np.full(n, v, dtype=object) for k, v in meta.items()}
    out = pd.DataFrame({**cols, **{str(k): v for k, v in table.items()}})
    return out.to_csv(index=False).encode()


def swept_table(est: liq.Estimate, limit: int, recorded: RecordedVsEstimated | None = None) -> pd.DataFrame:
    """The ``limit`` most recent sweeps of ``est``: side, price, band, estimated USD, when (and what was recorded)."""
    sw = est.swept
    rows = _latest_first(sw["swept_last"])[:limit]
    swept_ns = utc_ns(sw["swept_last"])[rows]
    d = price_decimals(est.last_price)
    names = {"long": "Longs flushed", "short": "Shorts squeezed"}
    lows, highs = sw["bin_low"].to_numpy(dtype=float)[rows], sw["bin_high"].to_numpy(dtype=float)[rows]
    when = pd.to_datetime(swept_ns, utc=True)
    return pd.DataFrame(
        {
            "Side": np.array(
                [names.get(x, x) for x in sw["side"].to_numpy(dtype=object)[rows]], dtype=object
            ),
            "Price": np.round(sw["price"].to_numpy(dtype=float)[rows], d),
            "Band": [
                f"{format_price(a, d)} – {format_price(b, d)}" for a, b in zip(lows, highs, strict=True)
            ],
            "Est. USD": [format_usd(x) for x in sw["notional_usd"].to_numpy(dtype=float)[rows]],
            **_recorded_column(recorded, rows),
            "Swept at (UTC)": np.asarray(when.strftime("%Y-%m-%d %H:%M"), dtype=object),
            "Ago": _ages(est.last_time, swept_ns),
        },
        index=sw.index[rows],  # each row keeps its row label in ``Estimate.swept``
    )


def _latest_first(times: pd.Series) -> np.ndarray:
    """Row positions, latest first (ties in the order ``sort_values`` gives them)."""
    return np.asarray(times.reset_index(drop=True).sort_values(ascending=False).index)


def _recorded_column(recorded: RecordedVsEstimated | None, rows: Any) -> dict[str, list[str]]:
    """The "Recorded USD" column of the swept list for the given rows of ``Estimate.swept`` (none without)."""
    if recorded is None or len(recorded.swept) == 0:
        return {}
    texts = swept_recorded_texts(recorded)
    return {"Recorded USD": [texts[i] for i in rows]}
