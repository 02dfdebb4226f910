"""AppTest of the Levels screener page on the built-in sample (network blocked, see conftest.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import liq
from liq import _screen
from liq._format import format_price, format_usd, price_decimals
from liq._screen import COLUMN_LABELS
from tests.support.apptest import app_test, fresh_caches  # noqa: F401 (fresh_caches: an autouse fixture)
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import screener, settings

PAGE = "views/screener.py"


def _screener(**params: str) -> AppTest:
    at = app_test({"src": "sample", **params})
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest) -> pd.DataFrame:
    for df in at.dataframe:
        if isinstance(df.value, pd.DataFrame) and COLUMN_LABELS["long_price"] in df.value.columns:
            return df.value
    raise AssertionError("no screener table on the page")


def _captions(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.caption)


def test_the_sample_pairs_are_rows_with_their_levels() -> None:
    at = _screener()
    assert "Levels screener" in [t.value for t in at.title]
    table = _table(at)
    assert set(table[COLUMN_LABELS["symbol"]]) == set(liq.sample_symbols())
    ok = table[table[COLUMN_LABELS["error"]] == ""]
    assert len(ok) == 10
    assert (ok[COLUMN_LABELS["long_price"]] < ok[COLUMN_LABELS["last_price"]]).all()
    assert (ok[COLUMN_LABELS["short_price"]] > ok[COLUMN_LABELS["last_price"]]).all()
    assert "the built-in sample's 10 pairs" in _captions(at)
    assert any(b.label == "Download the screener (CSV)" for b in at.get("download_button"))
    links = table[screener.OPEN_COLUMN]
    assert links.str.startswith("/?").all() and links.str.contains("sym=BTCUSDT").any()
    assert not at.get("progress")  # gone once the pairs are computed


def test_sorting_orders_the_rows() -> None:
    at = _screener()
    at.selectbox(key="scr_sort").set_value("Largest level (USD)").run()
    usd = _table(at)[COLUMN_LABELS["largest_usd"]].to_numpy()
    assert (usd[:-1] >= usd[1:]).all()
    at.selectbox(key="scr_sort").set_value("Nearest level first").run()
    table = _table(at)
    nearest = pd.concat(
        [table[COLUMN_LABELS["long_distance_pct"]].abs(), table[COLUMN_LABELS["short_distance_pct"]].abs()],
        axis=1,
    ).min(axis=1)
    assert nearest.is_monotonic_increasing


def test_rows_with_a_close_level_are_counted_as_highlighted() -> None:
    at = _screener()
    table = _table(at)
    nearest = pd.concat(
        [table[COLUMN_LABELS["long_distance_pct"]].abs(), table[COLUMN_LABELS["short_distance_pct"]].abs()],
        axis=1,
    ).min(axis=1)
    within = float(nearest.median())
    at.number_input(key="scr_within").set_value(within).run()
    expected = int((nearest <= within).sum())
    assert 0 < expected < 10
    assert f"{expected} with a level within {within:g} % of price (highlighted)" in _captions(at)
    at.number_input(key="scr_within").set_value(0.0).run()
    assert "0 with a level within 0 % of price" in _captions(at)


def test_the_highlight_styles_exactly_the_close_rows() -> None:
    end = datetime(2026, 1, 29, 6, 35, tzinfo=timezone.utc)
    res = _screen.screen(
        ["BTCUSDT", "ETHUSDT", "SOLUSDT", "NOPEUSDT"], "1h", end - timedelta(days=7), end, "sample"
    )
    frame = screener.sorted_rows(screener.table_frame(res), "As listed")
    within = float(frame["nearest_distance_pct"].iloc[:3].median())
    mask = screener.highlight_mask(frame, within)
    assert not mask.iloc[3]  # the failed pair
    styler = screener.styled(frame, within, ["/?"] * len(frame))
    styler.set_uuid("scr")
    css = styler.to_html().split("</style>")[0]
    highlighted = {int(row) for row in re.findall(r"#T_scr_row(\d+)_col\d+", css)}
    assert highlighted == {i for i, on in enumerate(mask) if on} and highlighted
    body = styler.to_html().split("</style>")[1]
    assert format_usd(frame["largest_usd"].iloc[0]) in body  # numbers written by liq._format
    assert format_price(frame["long_price"].iloc[2], price_decimals(frame["last_price"].iloc[2])) in body


def test_a_failing_pair_is_a_row_with_its_reason() -> None:
    at = _screener(watch="BTCUSDT,NOPEUSDT,ETHUSDT")
    table = _table(at)
    assert list(table[COLUMN_LABELS["symbol"]]) == ["BTCUSDT", "ETHUSDT", "NOPEUSDT"]  # failed pairs last
    problem = table.set_index(COLUMN_LABELS["symbol"]).loc["NOPEUSDT", COLUMN_LABELS["error"]]
    assert "built-in sample has no NOPEUSDT" in problem
    assert "1 could not be screened" in _captions(at)
    assert not at.error


def test_the_watchlist_is_carried_by_the_link() -> None:
    at = _screener(watch="SOLUSDT,XRPUSDT")
    assert set(_table(at)[COLUMN_LABELS["symbol"]]) == {"SOLUSDT", "XRPUSDT"}
    assert at.query_params["watch"] == "SOLUSDT,XRPUSDT"
    at.text_input(key=settings.SPEC["watchlist"].widget_key).input("dogeusdt, adausdt").run()
    assert set(_table(at)[COLUMN_LABELS["symbol"]]) == {"DOGEUSDT", "ADAUSDT"}
    assert at.query_params["watch"] == "DOGEUSDT,ADAUSDT"


def test_a_bad_watchlist_in_a_link_is_explained() -> None:
    at = _screener(watch="BTCUSDT,<b>x</b>")
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "watch" in warnings and "BTCUSDT" in warnings


def test_opening_a_pair_shows_the_main_page_with_the_same_settings() -> None:
    at = _screener(iv="1h", range="14d", sig="0.3")
    at.selectbox(key="scr_open_pick").set_value("SOLUSDT")
    at.button(key="scr_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Liq. Heatmap & Levels" in [t.value for t in at.title]
    assert at.query_params["sym"] == "SOLUSDT"
    assert (at.query_params["iv"], at.query_params["range"], at.query_params["sig"]) == ("1h", "14d", "0.3")
    assert at.query_params["src"] == "sample"


def test_rows_are_cached_per_pair_and_shared_between_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = screener.screen_pair

    def counting(symbol: str, *args: object, **kwargs: object) -> _screen.ScreenRow:
        calls.append(symbol)
        return real(symbol, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(screener, "screen_pair", counting)
    _screener(watch="BTCUSDT,ETHUSDT")
    assert sorted(calls) == ["BTCUSDT", "ETHUSDT"]
    _screener(watch="ETHUSDT,SOLUSDT")  # a second session: only the new pair is computed
    assert sorted(calls) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


def test_upload_source_explains_that_the_screener_loads_pairs_itself() -> None:
    at = _screener(src="upload")
    assert any("loads every pair itself" in str(i.value) for i in at.info)
    with pytest.raises(AssertionError, match="no screener table"):
        _table(at)


def test_the_end_setting_screens_a_past_window() -> None:
    at = _screener(watch="BTCUSDT,ETHUSDT", end="2024-12-10T00:00", iv="1h", range="3d")
    table = _table(at).set_index(COLUMN_LABELS["symbol"])
    end = datetime(2024, 12, 10, tzinfo=timezone.utc)
    for sym in ("BTCUSDT", "ETHUSDT"):
        candles = liq.load_market_data(sym, "1h", end - timedelta(days=3), end, source="sample").data.candles
        assert table.loc[sym, COLUMN_LABELS["last_price"]] == candles["close"].iloc[-1]
    assert "3d to 2024-12-10T00:00 UTC" in _captions(at)
