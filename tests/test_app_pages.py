"""AppTest checks of every page, on the built-in sample, with the network blocked (see conftest.py).

The default source is "Auto": offline it must fall back to the built-in sample quickly and say so.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import TIMEOUT, app_test, fresh_caches  # noqa: F401 (an autouse fixture)
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import settings

PAGES = ("views/heatmap_levels.py", "views/liquidation_heatmap.py", "views/model_check.py")


def _app(**params: str) -> AppTest:
    return app_test(params)


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in at.get(kind)]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _levels(at: AppTest) -> pd.DataFrame:
    """The levels table (the dataframe with a 'Price' and 'Side' column and 'Approaches survived')."""
    for df in at.dataframe:
        value = df.value
        if isinstance(value, pd.DataFrame) and "Approaches survived" in value.columns:
            return value
    raise AssertionError("no levels table on the page")


# --- every page renders ---------------------------------------------------------------------------------------
def test_default_page_renders_on_sample_quickly_with_auto_source() -> None:
    at = _app()
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    _no_exception(at)
    assert elapsed < 60, f"Auto took {elapsed:.1f} s to fall back offline"
    assert "Liq. Heatmap & Levels" in _texts(at, "title")
    # active source and each fallback are shown
    warnings = " ".join(_texts(at, "warning"))
    assert "Live Binance unavailable" in warnings
    assert "Binance public archive unavailable" in warnings
    assert "built-in sample" in warnings.lower()
    assert any("Active source: Built-in sample" in c for c in _texts(at, "caption"))
    # the model note (sidebar): which model, what sets the USD size, the bracket date, the estimate's notes
    note = next(c for c in _texts(at, "caption") if c.startswith("Model in use"))
    assert "USD figures" in note and "Margin brackets as of" in note
    m = _metrics(at)
    assert set(m) >= {
        "Last price",
        "Long level below (est.)",
        "Short level above (est.)",
        "Asymmetry ±5 % (est.)",
    }
    levels = _levels(at)
    assert len(levels) > 0
    assert set(levels["Side"]) <= {"Long (below)", "Short (above)"}
    assert {
        "Liquidation levels (estimated)",
        "Swept levels (estimated)",
        "Liquidation map (estimated)",
    } <= set(_texts(at, "subheader"))
    assert any(b.label == "Download levels (CSV)" for b in at.get("download_button"))
    assert any(e.label == "How to read this" for e in at.expander)
    # every setting is mirrored in the URL
    assert set(at.query_params) >= set(settings.encode(settings.DEFAULTS))
    assert at.query_params["sym"] == "BTCUSDT"


@pytest.mark.parametrize("page", PAGES[1:])
def test_other_pages_render(page: str) -> None:
    at = _app()
    at.run()
    at.switch_page(page).run()
    _no_exception(at)
    assert not _texts(at, "error")


def test_liquidation_heatmap_page_has_both_views() -> None:
    at = _app()
    at.run()
    at.switch_page("views/liquidation_heatmap.py").run()
    _no_exception(at)
    assert "Liquidation Heatmap" in _texts(at, "title")
    assert "Still picture" in _texts(at, "subheader")
    assert not any("Approaches survived" in getattr(df.value, "columns", []) for df in at.dataframe)


def test_model_check_page_builtin_recordings() -> None:
    at = _app()
    at.run()
    at.switch_page("views/model_check.py").run()
    _no_exception(at)
    m = _metrics(at)
    assert "Longs: edge over baseline (holdout)" in m  # Dec 2024: the holdout is the headline (issue 11)
    assert m["Recorded events used"] == "2,463"
    assert any(
        isinstance(df.value, pd.DataFrame) and "Longs 95 % interval" in df.value.columns
        for df in at.dataframe
    )
    assert any("lower bound" in str(md.value) for md in at.markdown)
    # the Oct 2025 excerpt holds two symbols: a picker appears and ETHUSDT can be checked
    at.radio(key="mc_recording").set_value("oct2025").run()
    _no_exception(at)
    at.selectbox(key="mc_symbol_oct2025").set_value("ETHUSDT").run()
    _no_exception(at)
    assert not _texts(at, "error")
    assert "Recorded events used" in _metrics(at)


# --- settings change outputs ---------------------------------------------------------------------------------
def test_changing_pair_interval_range_model_changes_outputs() -> None:
    at = _app()
    at.run()
    base_metrics, base_levels = _metrics(at), _levels(at)

    at.selectbox(key="sb_symbol").set_value("ETHUSDT").run()
    _no_exception(at)
    eth = _metrics(at)
    assert eth["Last price"] != base_metrics["Last price"]
    assert at.query_params["sym"] == "ETHUSDT"

    at.selectbox(key="sb_interval").set_value("1h").run()
    _no_exception(at)
    assert at.query_params["iv"] == "1h"
    assert any("ETHUSDT 1h" in str(s.label) for s in at.get("status")) or any(
        "ETHUSDT · 1h" in c for c in _texts(at, "caption")
    )
    eth_1h = _levels(at)

    at.selectbox(key="sb_range").set_value("14d").run()
    _no_exception(at)
    assert at.query_params["range"] == "14d"
    assert not _levels(at).equals(eth_1h)

    at.selectbox(key="sb_preset").set_value("high").run()
    _no_exception(at)
    assert at.query_params["w"] == settings.encode_weights(settings.preset_weights("high"))
    assert at.query_params["preset"] == "high"
    high = _levels(at)
    at.selectbox(key="sb_preset").set_value("all").run()
    assert not _levels(at).equals(high)

    at.slider(key="sb_sig").set_value(0.5).run()
    _no_exception(at)
    assert len(_levels(at)) <= len(high) or not _levels(at).equals(high)
    assert at.query_params["sig"] == "0.5"
    assert not base_levels.empty


def test_tier_weights_change_outputs() -> None:
    a = _app(w="5:1,10:0,25:0,50:0,100:0")
    a.run()
    b = _app(w="5:0,10:0,25:0,50:0,100:1")
    b.run()
    _no_exception(a)
    _no_exception(b)
    la, lb = _levels(a), _levels(b)
    assert not la.equals(lb)
    # 100x positions sit far closer to price than 5x positions
    assert lb["Distance %"].abs().min() < la["Distance %"].abs().min()
    assert a.query_params["preset"] == "custom"
    assert any("Weights used: 5x 100 %" in c for c in _texts(a, "caption"))


# --- the URL reproduces the view -----------------------------------------------------------------------------
def test_query_params_restore_the_view_on_every_page() -> None:
    params = {
        "sym": "ETHUSDT",
        "iv": "15m",
        "range": "3d",
        "src": "sample",
        "w": "25:1,50:1",
        "decay": "12",
        "bins": "300",
        "sig": "0.3",
        "thr": "0.1",
        "live": "0",
    }
    at = _app(**params)
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_symbol").value == "ETHUSDT"
    assert at.selectbox(key="sb_interval").value == "15m"
    assert at.selectbox(key="sb_range").value == "3d"
    assert at.selectbox(key="sb_source").value == "sample"
    assert at.selectbox(key="sb_preset").value == "custom"
    assert at.number_input(key="sb_decay").value == 12.0
    assert at.select_slider(key="sb_bins").value == 300
    assert at.slider(key="sb_sig").value == pytest.approx(0.3)
    assert at.slider(key="sb_thr").value == pytest.approx(0.1)
    assert any("Weights used: 25x 50 %, 50x 50 %" in c for c in _texts(at, "caption"))
    assert not [w for w in _texts(at, "warning") if "unavailable" in w]  # a named source does not fall back
    for page in PAGES[1:]:
        at.switch_page(page).run()
        _no_exception(at)
        for k, v in params.items():
            assert at.query_params[k] == v, (page, k)
    at.switch_page(PAGES[0]).run()
    assert at.selectbox(key="sb_symbol").value == "ETHUSDT"
    assert at.slider(key="sb_sig").value == pytest.approx(0.3)


def test_share_button_shows_a_link_with_every_setting() -> None:
    at = _app(sym="ETHUSDT", range="1d")
    at.run()
    at.button(key="sb_share").click().run()
    _no_exception(at)
    codes = [str(c.value) for c in at.code]
    assert codes, "no share link shown"
    link = codes[0]
    for key in settings.encode(settings.DEFAULTS):
        assert f"{key}=" in link
    assert "sym=ETHUSDT" in link and "range=1d" in link


def test_state_round_trip() -> None:
    s = settings.Settings(
        symbol="SOLUSDT",
        interval="4h",
        range_key="30d",
        source="archive",
        preset="custom",
        weights=((10.0, 0.5), (20.0, 0.5)),
        decay_hours=6.5,
        bins=800,
        significance=0.35,
        colour_threshold=0.25,
        live=True,
    )
    decoded, problems = settings.decode(settings.encode(s))
    assert problems == []
    assert decoded == s


# --- bad settings give messages ------------------------------------------------------------------------------
def test_tier_weights_adding_up_to_zero_give_a_message_on_every_page() -> None:
    at = _app(w="5:0,10:0,25:0")
    at.run()
    _no_exception(at)
    errors = " ".join(_texts(at, "error"))
    assert "add up to 0" in errors
    assert "Model settings" in errors  # the page says where to fix it
    at.switch_page("views/model_check.py").run()
    _no_exception(at)
    assert "add up to 0" in " ".join(_texts(at, "error"))


@pytest.mark.parametrize(
    ("weights", "expected"), [("5:-1,10:1", "zero or positive"), ("200:1", "out of range")]
)
def test_tier_weights_out_of_bounds_in_a_link_are_replaced_with_a_warning(
    weights: str, expected: str
) -> None:
    at = _app(w=weights)
    at.run()
    _no_exception(at)
    warning = " ".join(_texts(at, "warning"))
    assert expected in warning and "w=" in warning
    assert at.query_params["w"] == settings.encode(settings.DEFAULTS)["w"]
    assert not _texts(at, "error")


def test_unknown_symbol_gives_a_message() -> None:
    # AppTest cannot type a new option into a selectbox; a link carries the same value to the same place
    at = _app(sym="NOPEUSDT")
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_symbol").value == "NOPEUSDT"
    errors = " ".join(_texts(at, "error"))
    assert "NOPEUSDT" in errors
    # a named source explains itself too
    at.selectbox(key="sb_source").set_value("sample").run()
    _no_exception(at)
    assert "NOPEUSDT" in " ".join(_texts(at, "error"))


@pytest.mark.parametrize(
    ("key", "value"), [("iv", "7m"), ("range", "2y"), ("bins", "abc"), ("sym", "BTC/USDT")]
)
def test_malformed_link_values_are_explained_and_ignored(key: str, value: str) -> None:
    at = _app(**{key: value})
    at.run()
    _no_exception(at)
    assert any(f"{key}={value!r}" in w for w in _texts(at, "warning"))
    assert at.query_params[key] == settings.encode(settings.DEFAULTS)[key]


def test_upload_source_without_a_file_asks_for_one() -> None:
    at = _app(src="upload")
    at.run()
    _no_exception(at)
    assert any("Upload a klines CSV" in i for i in _texts(at, "info"))


def test_still_heatmap_stays_under_the_cell_budget() -> None:
    from datetime import datetime, timezone

    import liq
    from liq import load_market_data
    from ui import vega_specs

    data = load_market_data(
        "BTCUSDT",
        "5m",
        datetime(2024, 12, 1, tzinfo=timezone.utc),
        datetime(2024, 12, 15, tzinfo=timezone.utc),
        "sample",
    ).data
    est = liq.estimate(data.candles, symbol="BTCUSDT")
    frame = vega_specs.heatmap_frame(est, max_cells=15_000)
    assert 0 < len(frame) <= 15_000
    # price blocks sum bins, so the last column's total is kept (inside the cropped price range)
    assert frame["total_usd"].max() > 0
    picture = vega_specs.heatmap(est)
    assert picture is not None and len(picture.frames["cells"]) == len(frame)
    assert vega_specs.liquidation_map(est) is not None


def _apply_editor_edits() -> None:
    """AppTest script: feed one set of tier-table edits through the editor's callback and show the result."""
    import streamlit as st

    from ui import settings, sidebar

    settings.load()
    st.session_state["_liq_weights_base"] = [[5.0, 0.1], [10.0, 0.25], [25.0, 0.3]]
    st.session_state["edits"] = st.session_state["_edits_under_test"]
    sidebar._on_weights_edit("edits")
    st.write(repr(settings.load().weights), settings.load().preset)
    for problem in st.session_state["_liq_weight_problems"]:
        st.warning(problem)


@pytest.mark.parametrize(
    ("edits", "weights", "problem"),
    [
        ({"edited_rows": {0: {"Weight": 0.5}}}, ((5.0, 0.5), (10.0, 0.25), (25.0, 0.3)), None),
        ({"deleted_rows": [0, 2]}, ((10.0, 0.25),), None),
        (
            {"added_rows": [{"Leverage (x)": 75.0, "Weight": 0.2}]},
            ((5.0, 0.1), (10.0, 0.25), (25.0, 0.3), (75.0, 0.2)),
            None,
        ),
        (
            {"added_rows": [{"Leverage (x)": 75.0}]},
            ((5.0, 0.1), (10.0, 0.25), (25.0, 0.3)),
            "Row 4 needs both",
        ),
        ({"edited_rows": {1: {"Weight": -1.0}}}, None, "weights must be zero or positive"),
        ({"edited_rows": {0: {"Leverage (x)": 200.0}}}, None, "out of range"),
        ({"deleted_rows": [0, 1, 2]}, None, "The table is empty"),
        (
            {"added_rows": [{"Leverage (x)": 30.0 + n, "Weight": 0.1} for n in range(10)]},
            ((5.0, 0.1), (10.0, 0.25), (25.0, 0.3), *((30.0 + n, 0.1) for n in range(9))),
            "at most 12 leverage tiers",
        ),
    ],
)
def test_tier_table_edits_are_applied(edits: dict, weights: tuple | None, problem: str | None) -> None:
    at = AppTest.from_function(_apply_editor_edits, default_timeout=TIMEOUT)
    at.session_state["_edits_under_test"] = edits
    at.run()
    _no_exception(at)
    shown = str(at.markdown[0].value)
    if weights is not None:
        assert shown.startswith(repr(weights))
        assert shown.endswith("custom")
    else:  # refused: the stored weights are still the defaults
        assert shown.startswith(repr(settings.DEFAULTS.weights))
    problems = " ".join(_texts(at, "warning"))
    assert (problem in problems) if problem else not problems


def test_live_refresh_runs_as_a_fragment_offline() -> None:
    at = _app(live="1")
    at.run()
    _no_exception(at)
    assert at.toggle(key="sb_live").value is True
    assert at.query_params["live"] == "1"
    assert len(_levels(at)) > 0  # the body ran (inside the timed fragment) on the sample


@pytest.mark.parametrize("source", ["live", "archive"])
def test_named_source_offline_gives_a_message_not_a_traceback(source: str) -> None:
    at = _app(src=source)
    at.run()
    _no_exception(at)
    errors = " ".join(_texts(at, "error"))
    assert "Binance" in errors
    assert not at.metric  # nothing half-drawn below the message


def test_live_source_with_refresh_and_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for live Binance (sample candles labelled live): progress steps, then the timed refresh."""
    import dataclasses

    import liq
    from ui import cache

    real = liq.load_market_data
    calls: list[str] = []

    def fake_live(symbol, interval, start, end, source="auto", *, progress=None, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(source)
        if progress is not None:
            progress("Fetching klines 1/1 pages…")
        res = real(symbol, interval, start, end, "sample")
        data = dataclasses.replace(res.data, source="live", note="Live Binance USD-M (test stand-in).")
        return liq.LoadResult(data, [])

    monkeypatch.setattr(cache, "load_market_data", fake_live)
    at = _app(src="live", live="1")
    at.run()
    _no_exception(at)
    assert "live" in calls
    assert any("Active source: Live Binance" in c for c in _texts(at, "caption"))
    assert any(c.startswith("Live: updated") for c in _texts(at, "caption"))
    assert len(_levels(at)) > 0
    # a second run hits the caches (no traceback from replaying the progress messages)
    at.run()
    _no_exception(at)


def test_decay_hours_convert_to_candles_of_the_data() -> None:
    s = settings.Settings(interval="5m", decay_hours=2.0)
    assert s.model_config().decay_half_life_candles == pytest.approx(24.0)
    assert s.model_config(60).decay_half_life_candles == pytest.approx(2.0)
    assert settings.Settings().model_config().decay_half_life_candles is None


@pytest.mark.parametrize("key", [k for k in settings.PRESETS if k != "custom"])
def test_every_leverage_preset_is_offered_and_round_trips(key: str) -> None:
    s, problems = settings.decode({"preset": key})
    assert problems == []
    assert s.preset == key
    assert settings.preset_of(s.weights) == key
    at = _app(preset=key)
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_preset").value == key
    assert at.query_params["w"] == settings.encode_weights(s.weights)


# --- one number reads the same everywhere --------------------------------------------------------------------
def test_one_level_reads_the_same_in_header_table_chart_csv_and_cli() -> None:
    """The nearest long level: the header, the levels table, the chart label, the CSV and the CLI agree."""
    import io
    from datetime import datetime, timedelta, timezone

    import liq
    from liq._cli import main
    from liq._format import format_price, format_usd, price_decimals
    from ui import cache, tables

    at = _app(src="sample", sym="BTCUSDT", iv="5m", range="7d")
    at.run()
    _no_exception(at)
    metric = next(m for m in at.metric if m.label == "Long level below (est.)")
    header_price, header_usd = str(metric.value), str(metric.delta).split(" · ")[-1]

    # the same estimate the page drew (the sample answers a range after its data with its latest 7 days)
    now = datetime.now(timezone.utc)
    data = liq.load_market_data("BTCUSDT", "5m", now - timedelta(days=7), now, "sample").data
    est = cache.estimate(settings.DEFAULTS.model_config(), data)
    level = est.summary.nearest_below
    assert level is not None
    d = price_decimals(est.last_price)
    assert header_price == format_price(level.price, d)
    assert header_usd == format_usd(level.notional_usd)

    table = _levels(at)
    row = table.iloc[int((table["Price"] - level.price).abs().argmin())]
    assert format_price(row["Price"], d) == header_price and row["Est. USD"] == header_usd

    payload = liq.build_chart_payload(est, max_levels=len(est.levels))
    assert f"L {header_price} · {header_usd}" in [lv["label"] for lv in payload["levels"]]

    csv = pd.read_csv(io.StringIO(tables.levels_table(est).to_csv(index=False)))
    csv_row = csv.iloc[int((csv["Price"] - level.price).abs().argmin())]
    assert format_price(csv_row["Price"], d) == header_price
    assert format_usd(csv_row["Est. USD"]) == header_usd

    out = io.StringIO()
    argv = ["levels", "--source", "sample", "--symbol", "BTCUSDT", "--days", "7", "--quiet"]
    assert main(argv, stdout=out, stderr=io.StringIO()) == 0
    assert f"Nearest below: {header_price} (long, {header_usd}, " in out.getvalue()
