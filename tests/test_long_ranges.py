"""Long ranges (90 days, 180 days, 1 year) and the 1d interval: which pairs are offered, links, every source."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import responses
from streamlit.testing.v1 import AppTest

import liq
from liq._sources._common import INTERVAL_MS, MIN_CANDLES
from liq._sources.live import KLINES_PAGE_LIMIT, load_live
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from tests.test_market_live import FakeBinance
from ui import settings

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180
UTC = timezone.utc
LONG = ("90d", "180d", "1y")


def _notes(at: AppTest) -> str:
    """The page's notes (the active source is an info box or a caption)."""
    return " ".join(str(e.value) for e in [*at.info, *at.caption])


def candles(range_key: str, interval: str) -> float:
    return settings.RANGES[range_key] / timedelta(milliseconds=INTERVAL_MS[interval])


def test_long_ranges_offer_hourly_four_hourly_and_daily_candles_only() -> None:
    assert {"90d", "180d", "1y"} <= set(settings.RANGES)
    assert settings.RANGES["1y"] == timedelta(days=365)
    for key in LONG:
        assert settings.intervals_for(key) == ("1h", "4h", "1d")


def test_every_offered_pair_has_enough_candles_and_not_too_many() -> None:
    for key in settings.RANGES:
        offered = settings.intervals_for(key)
        assert offered, key
        for iv in offered:
            assert MIN_CANDLES <= candles(key, iv) <= 45_000, (key, iv)
        for iv in set(settings.INTERVAL_MINUTES) - set(offered):  # what is left out would not work well
            n = candles(key, iv)
            assert n < 12 or n > 45_000 or key in LONG or iv == "1d", (key, iv)
    assert "1d" not in settings.intervals_for("14d") and "1d" in settings.intervals_for("30d")
    assert "4h" not in settings.intervals_for("1d") and "4h" in settings.intervals_for("3d")


def test_a_range_the_interval_does_not_suit_switches_to_the_nearest_interval() -> None:
    s = settings.Settings(interval="5m", range_key="7d")
    moved = settings.follow(settings.SPEC["range_key"], settings.Settings(interval="5m", range_key="1y"))
    assert moved.interval == "1h" and moved.range_key == "1y"
    assert settings.follow(settings.SPEC["range_key"], s) == s  # a suitable pair stays as it is
    daily = settings.follow(settings.SPEC["range_key"], settings.Settings(interval="1d", range_key="7d"))
    assert daily.interval == "4h"


def test_a_link_with_a_pair_that_does_not_work_is_fixed_with_a_sentence() -> None:
    s, problems = settings.decode({"iv": "1m", "range": "1y"})
    assert (s.interval, s.range_key) == ("1h", "1y")
    assert len(problems) == 1 and "1m" in problems[0] and "1h" in problems[0]
    s, problems = settings.decode({"iv": "1d", "range": "90d"})
    assert (s.interval, s.range_key, problems) == ("1d", "90d", [])


def test_the_sidebar_offers_only_the_intervals_of_the_range() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {"src": "sample", "iv": "4h", "range": "90d"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sb_interval").options == ["1h", "4h", "1d"]
    assert "90d" in at.selectbox(key="sb_range").options and "1y" in at.selectbox(key="sb_range").options
    note = _notes(at)
    assert "Built-in sample" in note and "4h" in note  # the sample's newest 30 days, resampled
    at.selectbox(key="sb_range").set_value("12h").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["range"] == "12h" and at.query_params["iv"] == "1h"  # 4h does not suit 12 hours
    assert at.selectbox(key="sb_interval").options == ["1m", "5m", "15m", "1h"]


@pytest.mark.parametrize(("range_key", "interval"), [("180d", "1d"), ("1y", "4h")])
def test_each_long_range_renders_the_main_page_on_the_sample(range_key: str, interval: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {"src": "sample", "iv": interval, "range": range_key}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert (at.query_params["iv"], at.query_params["range"]) == (interval, range_key)
    note = _notes(at)
    assert f"Built-in sample\\: BTCUSDT {interval}, 2025-12-30 00\\:00" in note  # the newest 30 days


def test_a_year_of_daily_candles_on_the_sample_is_the_newest_month() -> None:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    d = liq.load_market_data("BTCUSDT", "1d", end - timedelta(days=365), end, source="sample").data
    assert d.interval == "1d" and len(d.candles) == 30  # the whole UTC days 2025-12-30 → 2026-01-28
    assert d.candles["open_time"].iloc[0] == pd.Timestamp("2025-12-30", tz="UTC")
    assert d.candles["open_time"].iloc[-1] == pd.Timestamp("2026-01-28", tz="UTC")  # Jan 29 is incomplete
    est = liq.estimate(d.candles, symbol="BTCUSDT")
    assert math.isfinite(est.last_price)


def test_live_fetches_a_year_of_4h_in_pages(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    now = datetime(2025, 1, 6, tzinfo=UTC)
    data = load_live("BTCUSDT", "4h", now - timedelta(days=365), now, now=now)
    expected_pages = math.ceil(365 * 6 / KLINES_PAGE_LIMIT)
    assert len(fake.kline_queries) <= expected_pages
    assert all(q["interval"] == "4h" for q in fake.kline_queries)
    assert (
        data.interval == "4h" and (data.candles["open_time"].diff().dropna() == pd.Timedelta(hours=4)).all()
    )
    assert fake.oi_queries and all(q["period"] == "4h" for q in fake.oi_queries)  # the last 30 days only


def test_live_daily_candles_use_daily_open_interest(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    now = datetime(2025, 1, 6, tzinfo=UTC)
    data = load_live("BTCUSDT", "1d", now - timedelta(days=40), now, now=now)
    assert data.interval == "1d" and len(data.candles) >= MIN_CANDLES
    assert fake.oi_queries and all(q["period"] == "1d" for q in fake.oi_queries)
