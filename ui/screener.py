"""The Levels screener page's pieces: which pairs, the bounded and cached run, the table, opening a pair.

Each pair's row is cached on its own (``ui.cache.screen_row``, keyed by the model config, the pair, the
interval, the bucketed range and the source), so pairs computed once are shared by every session until the
cache expires. The pairs run in ``liq``'s bounded pool; the progress bar is drawn in the script's thread.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

import liq
from liq._format import MISSING, format_pct, format_price, format_usd, price_decimals
from liq._palette import PRICE_COLOUR
from liq._screen import (
    COLUMN_LABELS,
    PCT_COLUMNS,
    PRICE_COLUMNS,
    USD_COLUMNS,
    Screen,
    ScreenRow,
    screen,
    screen_pair,
)
from liq._screen_cli import screen_csv
from ui import cache, messages, settings, sidebar
from ui.settings import SPEC, Settings

__all__ = [
    "HIGHLIGHT_DEFAULT_PCT",
    "MAIN_PAGE",
    "SORTS",
    "highlight_mask",
    "main_page_link",
    "open_pair",
    "run",
    "sorted_rows",
    "table_frame",
]

logger = logging.getLogger(__name__)

#: The page a row opens (the default page, at ``/``).
MAIN_PAGE = "views/heatmap_levels.py"
#: Rows whose nearest level is at most this far from price (in %) are highlighted, unless the user changes it.
HIGHLIGHT_DEFAULT_PCT = 1.0
HIGHLIGHT_MAX_PCT = 20.0
#: Row orders offered: label -> (column, ascending). Failed pairs always go last.
SORTS: dict[str, tuple[str, bool]] = {
    "Nearest level first": ("nearest_distance_pct", True),
    "Largest level (USD)": ("largest_usd", False),
    "Most USD within ±2 %": ("within_2pct_usd", False),
    "Asymmetry, most positive": ("asymmetry", False),
    "Asymmetry, most negative": ("asymmetry", True),
    "Swept in 24 h (USD)": ("swept_24h_usd", False),
    "As listed": ("rank", True),
}
#: The highlight of a row whose nearest level is close (the price colour, translucent).
_HIGHLIGHT = f"background-color: {PRICE_COLOUR}59; font-weight: 600"
_SHOWN = ("symbol", *(c for c in COLUMN_LABELS if c not in ("symbol", "error")), "error")
#: The column of links that open a pair on the main page.
OPEN_COLUMN = "Open"


def _range(s: Settings) -> tuple[datetime, datetime]:
    """The screened window: the settings' end (a past view) or now, bucketed so that sessions share rows."""
    end = s.end_time or cache.end_bucket(minutes=5 if s.source in ("auto", "live") else 60)
    return end - s.range, end


def _cached_rows(
    s: Settings, config: liq.ModelConfig, pairs: tuple[str, ...], window: tuple[datetime, datetime]
) -> dict[str, ScreenRow]:
    """The rows of ``pairs`` already in the shared cache, looked up from the script thread."""
    known: dict[str, ScreenRow] = {}
    for sym in dict.fromkeys(p.strip().upper() for p in pairs if p.strip()):
        try:
            known[sym] = cache.screen_row(config, sym, s.interval, *window, s.source, _look_only=True)
        except cache.NotCached:
            pass
    return known


def run(s: Settings, config: liq.ModelConfig, pairs: tuple[str, ...]) -> Screen:
    """Screen ``pairs`` with ``s``'s interval, range and source, showing a progress bar meanwhile.

    Cached rows come from the shared cache; the others are computed by the pool (plain ``liq``, no Streamlit in
    its threads) and stored in the cache afterwards, from the script thread.
    """
    start, end = _range(s)
    bar = st.progress(0.0, text=f"Computing {len(pairs)} pairs…")
    known = _cached_rows(s, config, pairs, (start, end))
    computed: list[str] = []

    def pair(sym: str) -> ScreenRow:
        if sym in known:
            return known[sym]
        computed.append(sym)
        return screen_pair(sym, s.interval, start, end, s.source, config)

    def progress(done: int, total: int, sym: str) -> None:
        bar.progress(done / total, text=f"Computed {messages.plain(sym)} ({done}/{total})")

    try:
        res = screen(pairs, s.interval, start, end, s.source, config, progress=progress, pair_fn=pair)
    finally:
        bar.empty()
    for row in res.rows:
        if row.symbol in computed:
            cache.screen_row(config, row.symbol, s.interval, start, end, s.source, _row=row)
    return res


def table_frame(res: Screen) -> pd.DataFrame:
    """The rows as a numeric table for sorting and styling (``rank`` keeps the order they were listed in)."""
    frame = res.frame()
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame["within_2pct_usd"] = frame["long_usd_2pct"] + frame["short_usd_2pct"]
    frame["swept_24h_usd"] = frame["swept_long_usd_24h"] + frame["swept_short_usd_24h"]
    frame["error"] = frame["error"].fillna("")
    return frame


def sorted_rows(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """``frame`` in the order ``sort`` names (a key of :data:`SORTS`); failed pairs last."""
    col, ascending = SORTS.get(sort, SORTS["As listed"])
    failed = frame["error"] != ""
    ok = frame[~failed].sort_values(col, ascending=ascending, na_position="last", kind="stable")
    return pd.concat([ok, frame[failed]], ignore_index=True)


def highlight_mask(frame: pd.DataFrame, within_pct: float) -> pd.Series:
    """True for rows whose nearest level is at most ``within_pct`` % from the last price."""
    return frame["nearest_distance_pct"].le(float(within_pct)) & (frame["error"] == "")


def _label(col: str) -> str:
    return COLUMN_LABELS.get(col, col)


def _formats(styler: Styler, last_prices: pd.Series) -> Styler:
    """Every number as ``liq._format`` writes it; prices with the decimals of their row's last price."""
    prices = [_label(c) for c in PRICE_COLUMNS]
    for i, price in zip(last_prices.index, last_prices, strict=True):
        d = price_decimals(price)
        styler = styler.format(
            lambda v, d=d: format_price(v, d), subset=pd.IndexSlice[[i], prices], na_rep=MISSING
        )
    usd = pd.Index([_label(c) for c in USD_COLUMNS if c in COLUMN_LABELS])
    pct = pd.Index([_label(c) for c in PCT_COLUMNS if c in COLUMN_LABELS])
    styler = styler.format(lambda v: format_usd(v), subset=usd, na_rep=MISSING)
    styler = styler.format(lambda v: format_pct(v), subset=pct, na_rep=MISSING)
    asym = pd.Index([_label("asymmetry")])
    return styler.format(lambda v: f"{v:+.2f}" if math.isfinite(v) else MISSING, subset=asym, na_rep=MISSING)


def styled(frame: pd.DataFrame, within_pct: float, links: list[str | None]) -> Styler:
    """``frame``'s shown columns (labelled) plus an "Open" link per row, close rows highlighted."""
    data = frame[list(_SHOWN)].rename(columns=COLUMN_LABELS)
    data.insert(1, OPEN_COLUMN, links)
    mask = highlight_mask(frame, within_pct).to_numpy()
    styler = _formats(data.style, frame["last_price"])
    return styler.apply(lambda r: [_HIGHLIGHT if mask[r.name] else "" for _ in r], axis=1)


def main_page_link(s: Settings, symbol: str) -> str:
    """A relative link to the main page for ``symbol`` with every other setting of ``s``."""
    return "/?" + urlencode(settings.encode(replace(s, symbol=symbol)), safe=":,")


def open_pair(s: Settings, symbol: str) -> None:
    """Open the main page for ``symbol`` with the same settings (stored for the session, then switched)."""
    checked = settings.check(SPEC["symbol"], symbol, s.symbol)
    new = replace(s, symbol=checked.value)
    settings.save(new)
    st.switch_page(MAIN_PAGE, query_params=settings.encode(new))


def column_config() -> dict[str, Any]:
    """The link column and the help texts of the table's columns (shown on hover)."""
    return {
        OPEN_COLUMN: st.column_config.LinkColumn(
            OPEN_COLUMN, display_text="Open ↗", help="Open this pair on the main page with the same settings"
        ),
        COLUMN_LABELS["long_price"]: st.column_config.Column(
            help="The nearest significant long level below the price: longs are force-sold there"
        ),
        COLUMN_LABELS["short_price"]: st.column_config.Column(
            help="The nearest significant short level above the price: shorts are force-bought there"
        ),
        COLUMN_LABELS["asymmetry"]: st.column_config.Column(
            help="(shorts − longs) / (shorts + longs) within ±5 %: above 0 more fuel above the price"
        ),
        COLUMN_LABELS["swept_long_usd_24h"]: st.column_config.Column(
            help="Estimated long liquidations the last 24 hours of candles ran through"
        ),
        COLUMN_LABELS["error"]: st.column_config.Column(help="Why a pair could not be screened"),
    }


def csv_bytes(res: Screen) -> bytes:
    """The download: every column, written like ``python -m liq screen --format csv``."""
    return screen_csv(res).encode()


# --- the page ----------------------------------------------------------------------------------------------
_WITHIN_KEY = "scr_within"
_SORT_KEY = "scr_sort"
_TABLE_KEY = "scr_table"
_OPEN_KEY = "scr_open_pick"
_WATCH_NOTE = "_liq_watch_note"


def _on_watchlist() -> None:
    spec = SPEC["watchlist"]
    s = settings.load()
    checked = settings.check(spec, st.session_state.get(spec.widget_key), s.watchlist)
    settings.save(replace(s, watchlist=checked.value))
    st.session_state[_WATCH_NOTE] = checked.problem


def _watchlist(s: Settings) -> None:
    spec = SPEC["watchlist"]
    st.session_state[spec.widget_key] = settings.to_text(spec, s.watchlist)
    st.text_input(
        spec.label,
        key=spec.widget_key,
        on_change=_on_watchlist,
        help=spec.help,
        placeholder="BTCUSDT, ETHUSDT",
    )
    note = st.session_state.get(_WATCH_NOTE)
    if note:
        st.warning(messages.plain(note), icon=":material/warning:")


def _pairs(s: Settings) -> tuple[tuple[str, ...], str]:
    if s.watchlist:
        return tuple(s.watchlist), f"Pairs: your watchlist ({len(s.watchlist)})."
    return cache.screen_pairs(s.source)


def _controls() -> tuple[float, str]:
    left, right = st.columns(2)
    within = left.number_input(
        "Highlight rows whose nearest level is within (%)",
        min_value=0.0,
        max_value=HIGHLIGHT_MAX_PCT,
        value=HIGHLIGHT_DEFAULT_PCT,
        step=0.25,
        key=_WITHIN_KEY,
        help="A highlighted row has a long or short level at most this far from its last price.",
    )
    sort = right.selectbox("Sort by", list(SORTS), key=_SORT_KEY)
    return float(within), str(sort)


def _open_controls(s: Settings, frame: pd.DataFrame, event: Any) -> None:
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if rows and 0 <= rows[0] < len(frame):
        open_pair(s, str(frame["symbol"].iloc[rows[0]]))
    ok = [str(x) for x in frame.loc[frame["error"] == "", "symbol"]]
    if not ok:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.selectbox("Open a pair on the main page", ok, key=_OPEN_KEY)
    if right.button("Open", icon=":material/open_in_new:", key="scr_open", width="stretch"):
        open_pair(s, str(pick))


def _table(s: Settings, res: Screen, within: float, sort: str) -> None:
    frame = sorted_rows(table_frame(res), sort)
    close = int(highlight_mask(frame, within).sum())
    st.caption(
        f"{len(frame)} pairs · {close} with a level within {within:g} % of price (highlighted) · "
        f"{len(res.failed)} could not be screened. Click a column header to sort; select a row to open it."
    )
    links = [
        None if err else main_page_link(s, str(sym))
        for sym, err in zip(frame["symbol"], frame["error"], strict=True)
    ]
    event = st.dataframe(
        styled(frame, within, links),
        hide_index=True,
        width="stretch",
        height=min(640, 38 + 35 * len(frame)),
        column_config=column_config(),
        on_select="rerun",
        selection_mode="single-row",
        placeholder=MISSING,
        key=_TABLE_KEY,
    )
    st.download_button(
        "Download the screener (CSV)",
        csv_bytes(res),
        file_name=f"levels_screener_{s.interval}_{s.range_key}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="scr_csv",
    )
    for sym, err in zip(frame["symbol"], frame["error"], strict=True):
        if err:
            st.warning(messages.plain(f"{sym}: {err}"), icon=":material/error:")
    _open_controls(s, frame, event)


def page() -> None:
    """The whole screener page: sidebar, watchlist, controls, the run with its progress bar, the table."""
    sb = sidebar.render()
    s = sb.settings
    st.title("Levels screener")
    span = f"{s.range_key} to {s.end} UTC" if s.end else f"last {s.range_key}"
    st.caption(
        f"{s.interval} · {span} · nearest estimated liquidation levels of many Binance USD-M "
        "perpetuals at once. Every USD figure is a model estimate."
    )
    if sb.config is None:
        st.error(
            f"The model settings need fixing first: {messages.plain(sb.config_error)} (Model settings).",
            icon=":material/error:",
        )
        return
    if s.source == "upload":
        st.info(
            "The screener loads every pair itself: choose Auto, Live Binance, the archive or the built-in sample "
            "as the data source.",
            icon=":material/info:",
        )
        return
    _watchlist(s)
    within, sort = _controls()
    try:
        pairs, where = _pairs(s)
        res = run(s, sb.config, pairs)
    except Exception as err:  # a LiqError is shown as its message; anything else is logged first
        messages.show_unexpected(err, "screening the pairs")
        return
    st.caption(messages.plain(" ".join([where, *res.notes])))
    _table(s, res, within, sort)
