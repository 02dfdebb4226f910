"""Built-in sample source (liq/data): slicing, resampling, out-of-range behaviour."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liq
from liq._errors import InvalidSymbolError
from liq._sources.sample import load_sample, sample_coverage
from liq._sources.validate import validate_candles

UTC = timezone.utc


def dt(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


SET_E = (
    "ADAUSDT",
    "AVAXUSDT",
    "BNBUSDT",
    "BTCUSDT",
    "DOGEUSDT",
    "DOTUSDT",
    "ETHUSDT",
    "LINKUSDT",
    "SOLUSDT",
    "XRPUSDT",
)


def test_symbols() -> None:
    assert liq.sample_symbols() == SET_E


@pytest.mark.parametrize("symbol", SET_E)
def test_each_pair_has_the_last_30_days(symbol: str) -> None:
    d = load_sample(symbol, "5m", dt(2025, 12, 30), dt(2026, 1, 29, 6, 35))
    assert len(d.candles) == 8719 and "covers only" not in d.note
    assert d.candles["open_time"].diff().iloc[1:].eq(pd.Timedelta(minutes=5)).all()  # gap-free
    validate_candles(d.candles)


def test_1d_candles_are_whole_utc_days() -> None:
    d = load_sample("SOLUSDT", "1d", dt(2026, 1, 1), dt(2026, 1, 11))
    assert len(d.candles) == 10 and (d.candles["open_time"].dt.hour == 0).all()
    five = load_sample("SOLUSDT", "5m", dt(2026, 1, 1), dt(2026, 1, 2)).candles
    assert (
        d.candles["high"].iloc[0] == five["high"].max()
        and d.candles["close"].iloc[0] == five["close"].iloc[-1]
    )


def test_slice_inside_the_sample_is_exact() -> None:
    d = load_sample("BTCUSDT", "5m", dt(2024, 12, 10), dt(2024, 12, 17))
    assert len(d.candles) == 7 * 288
    assert d.candles["open_time"].iloc[0] == pd.Timestamp("2024-12-10", tz="UTC")
    assert d.candles["open_time"].iloc[-1] == pd.Timestamp("2024-12-16 23:55", tz="UTC")
    assert d.open_interest is None and d.source == "sample"
    assert d.note.startswith("Built-in sample: BTCUSDT 5m, 2024-12-10 00:00 → 2024-12-16 23:55 UTC")
    assert "outside" not in d.note
    validate_candles(d.candles)  # engine-ready


@pytest.mark.parametrize(("interval", "n"), [("15m", 96), ("1h", 24), ("4h", 6)])
def test_resampled_intervals(interval: str, n: int) -> None:
    five = load_sample("ETHUSDT", "5m", dt(2024, 12, 5), dt(2024, 12, 6)).candles
    d = load_sample("ETHUSDT", interval, dt(2024, 12, 5), dt(2024, 12, 6))
    c = d.candles
    assert len(c) == n and d.interval == interval and "Resampled from 5m" in d.note
    k = 288 // n
    assert c["open"].iloc[0] == five["open"].iloc[0]
    assert c["close"].iloc[0] == five["close"].iloc[k - 1]
    assert c["high"].iloc[0] == five["high"].iloc[:k].max()
    assert c["low"].iloc[0] == five["low"].iloc[:k].min()
    assert c["volume"].iloc[0] == pytest.approx(five["volume"].iloc[:k].sum())
    assert c["open_time"].dtype == "datetime64[ns, UTC]"


def test_4h_buckets_are_aligned_to_midnight() -> None:
    c = load_sample("BTCUSDT", "4h", dt(2024, 12, 5, 2), dt(2024, 12, 6)).candles
    assert (c["open_time"].dt.hour % 4 == 0).all()
    assert c["open_time"].iloc[0] == pd.Timestamp("2024-12-05 04:00", tz="UTC")  # 02:00-04:00 is incomplete


def test_1m_is_served_as_5m_with_a_note() -> None:
    d = load_sample("BTCUSDT", "1m", dt(2024, 12, 5), dt(2024, 12, 6))
    assert d.interval == "5m" and len(d.candles) == 288
    assert "1m candles are not in the built-in sample" in d.note


def test_range_outside_the_sample_uses_its_latest_days() -> None:
    d = load_sample("BTCUSDT", "5m", dt(2026, 11, 19), dt(2026, 11, 26))
    assert d.candles["open_time"].iloc[-1] == pd.Timestamp("2026-01-29 06:30", tz="UTC")
    assert len(d.candles) == 7 * 288
    assert "outside the built-in sample" in d.note and "latest 7 day(s)" in d.note


def test_long_range_outside_uses_the_newest_segment_long_enough() -> None:
    d = load_sample("ETHUSDT", "1h", dt(2026, 10, 1), dt(2026, 10, 31))
    assert len(d.candles) == 30 * 24 - 1  # the last 30 days end at 06:35: both end buckets are incomplete
    assert d.candles["open_time"].iloc[-1] == pd.Timestamp("2026-01-29 05:00", tz="UTC")
    d = load_sample("ETHUSDT", "1h", dt(2026, 9, 1), dt(2026, 10, 31))  # 60 days: no segment is that long
    assert d.candles["open_time"].iloc[0] == pd.Timestamp("2025-12-30", tz="UTC")  # the newest, whole


def test_dec_2024_is_still_served_when_asked_for() -> None:
    for sym in ("BTCUSDT", "ETHUSDT"):
        d = load_sample(sym, "5m", dt(2024, 12, 4), dt(2024, 12, 7))
        assert len(d.candles) == 3 * 288 and "outside" not in d.note


def test_partial_overlap_is_noted() -> None:
    d = load_sample("BTCUSDT", "5m", dt(2025, 1, 3), dt(2025, 1, 10))
    assert d.candles["open_time"].iloc[-1] == pd.Timestamp("2025-01-05 23:55", tz="UTC")
    assert "covers only" in d.note


def test_unknown_symbol() -> None:
    with pytest.raises(InvalidSymbolError, match="no LTCUSDT; it holds ADAUSDT, AVAXUSDT, .*, XRPUSDT only"):
        load_sample("LTCUSDT", "5m", dt(2024, 12, 5), dt(2024, 12, 6))


def test_callers_cannot_corrupt_the_cached_sample() -> None:
    a = load_sample("BTCUSDT", "5m", dt(2024, 12, 5), dt(2024, 12, 6))
    a.candles.loc[:, "close"] = np.nan
    b = load_sample("BTCUSDT", "5m", dt(2024, 12, 5), dt(2024, 12, 6))
    assert b.candles["close"].notna().all()


def test_coverage() -> None:
    spans = sample_coverage("BTCUSDT")
    assert spans[0][0] == pd.Timestamp("2024-11-20", tz="UTC") and spans[-1][1] == pd.Timestamp(
        "2026-01-29 06:35", tz="UTC"
    )


@settings(max_examples=60, deadline=None)
@given(
    interval=st.sampled_from(["5m", "15m", "1h", "4h", "1d"]),
    start_min=st.integers(0, 20 * 24 * 60),
    length_min=st.integers(0, 10 * 24 * 60),
)
def test_a_range_of_the_sample_is_the_resampled_5m_candles_of_that_range(
    interval: str, start_min: int, length_min: int
) -> None:
    """A range is sliced from the whole file resampled once; it equals resampling just that range's 5m
    candles (buckets cut by either end are incomplete and left out), even for ends off the 5m grid."""
    from liq._sources import sample

    seg = next(s for s in sample._segments() if s.symbol == "SOLUSDT")
    a = seg.first + pd.Timedelta(minutes=start_min)
    b = a + pd.Timedelta(minutes=length_min)
    frame = sample._read(seg.filename)
    times = frame["open_time"]
    direct = sample._resample(frame[(times >= a) & (times < b)], interval)
    pd.testing.assert_frame_equal(sample._window(seg.filename, interval, a, b), direct)
