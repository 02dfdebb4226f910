"""A trader's first screen (issue 11): failures in the open, presets that survive a link, the chart first.

AppTest checks on the built-in sample with the network blocked (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import clear_caches
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import pipeline, settings

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --- 1: a failed load is explained in the open, with what to do ------------------------------------------------
def test_a_failed_load_is_explained_outside_the_folded_status() -> None:
    at = _app(sym="NOPEUSDT", src="sample")
    at.run()
    _no_exception(at)
    errors = [str(e.value) for e in at.error]
    assert any("NOPEUSDT" in e for e in errors), errors
    # not inside the (collapsed) status box: the explanation is on the page itself
    inside = [str(e.value) for s in at.status for e in s.error]
    assert not any("NOPEUSDT" in e for e in inside), inside
    assert any(str(c.value) == pipeline.NEXT_STEP for c in at.caption)
    assert [s.label for s in at.status if s.state == "error"], "the status names the failure"
    assert not at.metric  # nothing half-drawn below the message


def test_a_rerun_of_the_same_data_shows_the_status_without_its_pause() -> None:
    """``st.status`` pauses 50 ms as it opens; a rerun of data just read draws the same folded box without it."""
    at = _app(sym="BTCUSDT", iv="5m", range="7d", src="sample")
    at.run()
    _no_exception(at)
    (first,) = at.status
    assert first.state == "complete" and first.label.startswith("BTCUSDT 5m · ") and "candles" in first.label
    at.run()  # the same data (a click, a table selection, a colour change)
    _no_exception(at)
    assert not at.status
    (box,) = [e for e in at.expander if e.label == first.label]
    assert box.icon == ":material/check:"
    assert any("candles from Built-in sample" in str(m.value) for m in box.markdown)
    assert at.metric, "the page below is drawn as before"
    # other data: the status again, with its progress
    at.selectbox(key="sb_symbol").set_value("ETHUSDT").run()
    _no_exception(at)
    assert [s.label for s in at.status if s.label.startswith("ETHUSDT 5m")]


def test_the_quiet_status_shows_a_failure_like_the_status() -> None:
    def page() -> None:
        import streamlit as st

        from ui.progress import QuietStatus

        box = QuietStatus(st.container(), "Loading BTCUSDT 5m, last 7d…")
        box.write("Fetching candles…")
        box.update(label="Stopped while estimating the levels: the reason is shown above", state="error")

    at = AppTest.from_function(page, default_timeout=TIMEOUT)
    at.run()
    _no_exception(at)
    (box,) = at.expander
    assert box.label.startswith("Stopped while estimating") and box.icon == ":material/error:"
    assert [str(m.value) for m in box.markdown] == ["Fetching candles…"]


# --- 3: every preset survives a reload and a share link ----------------------------------------------------------
@pytest.mark.parametrize("key", [k for k in settings.PRESETS if k != "custom"])
def test_a_preset_survives_the_rounding_of_a_link(key: str) -> None:
    s = settings.Settings(preset=key, weights=settings.preset_weights(key))
    back, problems = settings.decode(settings.encode(s))
    assert problems == []
    assert back.preset == key


def test_a_mix_that_is_not_a_preset_stays_custom() -> None:
    near_high = ((25.0, 0.47), (50.0, 0.30), (100.0, 0.23))
    assert settings.preset_of(near_high) == "custom"
    assert settings.preset_of(((25.0, 6.0), (50.0, 4.0), (100.0, 3.0))) == "high"  # same shares, unnormalised


def test_high_leverage_comes_back_from_its_share_link() -> None:
    link = settings.encode(settings.Settings(preset="high", weights=settings.preset_weights("high")))
    at = _app(**link)
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_preset").value == "high"
    assert at.query_params["preset"] == "high"
    at.run()  # a reload of the rewritten link
    assert at.selectbox(key="sb_preset").value == "high"


# --- 9: a one-line source badge, the details one click away ------------------------------------------------------
def test_the_source_is_a_one_line_badge_with_details_in_a_popover() -> None:
    at = _app()
    at.run()
    _no_exception(at)
    badges = [str(m.value) for m in at.markdown if "-badge[" in str(m.value)]
    assert len(badges) == 1, badges
    assert "SAMPLE" in badges[0] and "5m bars" in badges[0] and "2 fallbacks" in badges[0]
    # the fallbacks are no longer a paragraph over the header: each sits in the "Source details" popover
    found = list(_warnings_with_ancestors(at.main, ()))
    assert any("Live Binance unavailable" in text for text, _ in found)
    for text, ancestors in found:
        if "unavailable" in text:
            assert "popover" in ancestors, (text, ancestors)


def _warnings_with_ancestors(
    node: object, ancestors: tuple[str, ...]
) -> Iterator[tuple[str, tuple[str, ...]]]:
    for child in getattr(node, "children", {}).values():
        if type(child).__name__ == "Warning":
            yield str(child.value), ancestors
        yield from _warnings_with_ancestors(child, (*ancestors, str(getattr(child, "type", ""))))


def test_badge_text_names_source_days_and_bars() -> None:
    import pandas as pd

    from liq import Fallback, MarketData
    from ui.source_badge import badge_text

    times = pd.date_range("2025-10-16 04:00", "2025-10-22 23:45", freq="15min", tz="UTC")
    candles = pd.DataFrame(
        {"open_time": times, **{c: 1.0 for c in ("open", "high", "low", "close", "volume")}}
    )
    data = MarketData(candles, None, "BTCUSDT", "15m", "sample", "note")
    assert badge_text(data, "15m") == "SAMPLE · 16–22 Oct 2025 · 15m bars"
    assert badge_text(data, "5m", [Fallback("live", "down")]) == (
        "SAMPLE · 16–22 Oct 2025 · 15m bars (you chose 5m) · 1 fallback"
    )


# --- 7: the live toggle tells the truth ---------------------------------------------------------------------------
def test_live_toggle_is_off_and_says_why_when_the_source_cannot_be_live() -> None:
    from ui import sidebar

    at = _app(src="sample", live="1")
    at.run()
    _no_exception(at)
    toggle = at.toggle(key="sb_live")
    assert toggle.value is False and toggle.disabled
    assert at.query_params["live"] == "0"
    assert any(str(c.value) == sidebar.LIVE_NEEDS for c in at.sidebar.caption)


def test_live_refresh_pauses_and_says_so_when_auto_fell_back_to_the_sample() -> None:
    at = _app(live="1")
    at.run()
    _no_exception(at)
    assert at.toggle(key="sb_live").value is True  # the user's choice stands: live may answer next time
    paused = pipeline.LIVE_PAUSED.format(source="Built-in sample")
    assert any(str(c.value) == paused for c in at.main.caption)


# --- 17: one upload limit everywhere -----------------------------------------------------------------------------
def test_one_upload_limit_in_the_config_the_widget_the_check_and_the_readme() -> None:
    import tomllib

    from liq._sources._files import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB

    root = Path(APP).parent
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 1_000_000
    assert f"**{MAX_UPLOAD_MB} MB** per file" in (root / "README.md").read_text(encoding="utf-8")
    at = _app(src="upload")
    at.run()
    _no_exception(at)
    sizes = {f.proto.max_upload_size_mb for f in at.get("file_uploader")}
    assert sizes == {MAX_UPLOAD_MB}, sizes


# --- 16: the levels CSV says what it is ---------------------------------------------------------------------------
def test_levels_csv_names_symbol_interval_source_and_as_of() -> None:
    import io
    from datetime import datetime, timezone

    import pandas as pd

    import liq
    from ui import tables

    end = datetime(2025, 10, 22, tzinfo=timezone.utc)
    data = liq.load_market_data("ETHUSDT", "15m", end - pd.Timedelta(days=3), end, "sample").data
    est = liq.estimate(data.candles, open_interest=data.open_interest, symbol=data.symbol)
    table = tables.levels_table(est)
    csv = pd.read_csv(io.BytesIO(tables.levels_csv(table, est, data)))
    assert list(csv.columns[:4]) == ["Symbol", "Interval", "Source", "As of (UTC)"]
    assert list(csv.columns[4:]) == list(table.columns)
    assert len(csv) == len(table) > 0
    assert (
        set(csv["Symbol"]) == {"ETHUSDT"}
        and set(csv["Interval"]) == {"15m"}
        and set(csv["Source"]) == {"sample"}
    )
    last_close = pd.Timestamp(est.last_time) + pd.Timedelta(minutes=15)
    assert set(csv["As of (UTC)"]) == {f"{last_close:%Y-%m-%d %H:%M}"}


# --- 6: the pair box reads common spellings and suggests real names -----------------------------------------------
@pytest.mark.parametrize(("typed", "read"), [("BTC/USDT", "BTCUSDT"), ("btc", "BTCUSDT"), ("sol", "SOLUSDT")])
def test_common_spellings_of_a_pair_are_read_as_binance_names_it(typed: str, read: str) -> None:
    at = _app(sym=typed)
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_symbol").value == read
    assert at.query_params["sym"] == read
    assert any(f"Binance names that perpetual {read}" in str(w.value) for w in at.sidebar.warning)


def test_an_unknown_pair_gets_the_nearest_real_names() -> None:
    at = _app(sym="BTCUSTD", src="sample")
    at.run()
    _no_exception(at)
    hints = [str(w.value) for w in at.sidebar.warning if "the app knows of" in str(w.value)]
    assert hints and "Did you mean BTCUSDT" in hints[0], hints
    at = _app(sym="ETHUSDT", src="sample")
    at.run()
    assert not [w for w in at.sidebar.warning if "the app knows of" in str(w.value)]


# --- 12: the cascade rule is explained in the help ---------------------------------------------------------------
def test_help_explains_the_cascade_rule_with_the_models_numbers() -> None:
    import liq
    from liq._levels import CASCADE_MIN_SHARE, CASCADE_REACH_PCT, cascade_rule

    at = _app(src="sample")
    at.run()
    _no_exception(at)
    text = " ".join(str(m.value) for m in at.markdown)
    rule = cascade_rule(liq.ModelConfig().cascade_gap_pct)
    assert rule in text
    assert f"{CASCADE_REACH_PCT:g} % of price" in rule and f"{CASCADE_MIN_SHARE * 100:g} %" in rule
    assert "swept clusters" in text


# --- 13: one colour scale for the chart and the still picture ------------------------------------------------------
def test_the_chart_and_the_still_picture_share_one_colour_scale() -> None:
    from datetime import datetime, timezone

    import numpy as np
    import pandas as pd

    import liq
    from liq._palette import HEATMAP_RAMP, HEATMAP_TOP_QUANTILE
    from ui import vega_specs

    end = datetime(2025, 10, 22, tzinfo=timezone.utc)
    data = liq.load_market_data("BTCUSDT", "15m", end - pd.Timedelta(days=3), end, "sample").data
    est = liq.estimate(data.candles, open_interest=data.open_interest, symbol=data.symbol)
    payload = liq.build_chart_payload(est)
    assert payload["colour_ramp"] == [[t, c] for t, c in HEATMAP_RAMP]
    picture = vega_specs.heatmap(est)
    assert picture is not None
    scale = picture.spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["range"] == [c for _, c in HEATMAP_RAMP]
    frame = vega_specs.heatmap_frame(est)
    top = float(np.quantile(frame["total_usd"], HEATMAP_TOP_QUANTILE))
    assert scale["domain"][-1] == pytest.approx(top)
    # the browser code holds no colour anchors of its own: it draws the payload's ramp
    js = (Path(APP).parent / "liq_chart" / "frontend" / "liq_chart.js").read_text(encoding="utf-8")
    assert "[253, 231, 37]" not in js and "colour_ramp" in js


# --- 4: an upload's pair comes from its file name, else it is stated ----------------------------------------------
def _upload_page(file_name: str, pair: str) -> AppTest:
    def page(file_name: str, pair: str) -> None:
        import streamlit as st

        from ui import pipeline, settings
        from ui.sidebar import SidebarResult, Upload

        s = settings.Settings(symbol=pair, source="upload")
        sb = SidebarResult(s, None, None, Upload(b"x", file_name, None, ""), st.empty())
        st.text(pipeline.upload_symbol(sb))
        pipeline._upload_note(sb)

    at = AppTest.from_function(page, args=(file_name, pair), default_timeout=TIMEOUT)
    at.run()
    _no_exception(at)
    return at


def test_an_archive_named_upload_is_read_as_its_own_pair_and_a_mismatch_is_a_warning() -> None:
    at = _upload_page("BTCUSDT-5m-2024-12-01.csv", "ETHUSDT")
    assert at.text[0].value == "BTCUSDT"
    warning = " ".join(str(w.value) for w in at.warning)
    assert "holds BTCUSDT candles" in warning and "ETHUSDT" in warning
    at = _upload_page("BTCUSDT-5m-2024-12-01.csv", "BTCUSDT")
    assert at.text[0].value == "BTCUSDT" and not at.warning


def test_an_upload_without_a_pair_in_its_name_says_which_pair_it_is_read_as() -> None:
    at = _upload_page("my_candles.csv", "SOLUSDT")
    assert at.text[0].value == "SOLUSDT"
    assert not at.warning
    assert any("read as SOLUSDT" in str(c.value) for c in at.caption)


# --- 8: the model check's headline is the holdout, the tuning figure beside it -----------------------------------
def test_model_check_headline_is_the_holdout_with_the_tuning_figure_labelled() -> None:
    at = _app()
    at.run()
    at.switch_page("views/model_check.py").run()
    _no_exception(at)
    metrics = {m.label: m for m in at.metric}
    for side in ("Longs", "Shorts"):
        metric = metrics[f"{side}: edge over baseline (holdout)"]
        assert "tuning windows" in str(metric.proto.delta), metric.proto.delta
    assert any("Headline: the holdout windows" in str(c.value) for c in at.caption)
    # the other built-in recordings have no tuning/holdout split: no such label
    at.radio(key="mc_recording").set_value("oct2025").run()
    _no_exception(at)
    assert not [m for m in at.metric if "holdout" in m.label]


# --- 5: only interval/range pairs that can work are offered -------------------------------------------------------
def test_every_offered_interval_gives_enough_candles_for_its_range() -> None:
    from liq._sources._common import MIN_CANDLES

    for range_key, span in settings.RANGES.items():
        for interval in settings.intervals_for(range_key):
            candles = span.total_seconds() / 60 / settings.INTERVAL_MINUTES[interval]
            assert candles >= MIN_CANDLES, (range_key, interval, candles)
    assert "4h" not in settings.intervals_for("12h") and "1d" not in settings.intervals_for("1d")


def test_the_sidebar_offers_only_the_intervals_that_suit_the_range() -> None:
    at = _app(range="12h", iv="5m", src="sample")
    at.run()
    _no_exception(at)
    assert list(at.selectbox(key="sb_interval").options) == list(settings.intervals_for("12h"))
    assert "4h" not in at.selectbox(key="sb_interval").options
