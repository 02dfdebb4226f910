"""The engine's fast paths give what the plain numpy (or pandas) operation they replace gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liq
from liq._engine import _cumsum_rows, _decayed_cumsums, first_touch
from liq._errors import DataValidationError
from liq._formula import check_positive_prices, unchecked_liquidation_price, unchecked_liquidation_price_into
from liq._levels import descending_order


def test_first_touch_start_before_zero_searches_from_zero() -> None:
    v = np.array([5.0, 4.0, 6.0, 3.0])
    assert first_touch(v, np.array([-3, -1, 0]), np.array([4.0, 5.0, 3.0])).tolist() == [1, 0, 3]


def test_first_touch_start_past_the_end_finds_nothing() -> None:
    v = np.array([1.0, 2.0])
    assert first_touch(v, np.array([2, 7]), np.array([9.0, 9.0])).tolist() == [2, 2]


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 70), cols=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_cumsum_rows_equals_numpy_cumsum(rows: int, cols: int, seed: int) -> None:
    a = np.random.default_rng(seed).normal(size=(rows, cols))
    want = np.cumsum(a, axis=0)
    _cumsum_rows(a)
    np.testing.assert_allclose(a, want, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 90), seed=st.integers(0, 2**32 - 1))
def test_cumsum_rows_scales_and_clips_each_row(rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, 3))
    factor = np.exp(rng.normal(size=rows))
    want = np.maximum(np.cumsum(a, axis=0) * factor[:, None], 0.0)
    _cumsum_rows(a, factor, clip=True)
    np.testing.assert_allclose(a, want, rtol=1e-12, atol=1e-12)


def test_decayed_cumsums_equal_one_series_at_a_time_across_blocks() -> None:
    rng = np.random.default_rng(3)
    xs = (rng.random(1000), rng.random(1000))
    logd = -0.9  # blocks of 333 candles
    got = _decayed_cumsums(xs, logd)
    for x, y in zip(xs, got, strict=True):
        want = [sum(x[k] * np.exp((t - k) * logd) for k in range(t + 1)) for t in (0, 1, 332, 333, 334, 999)]
        np.testing.assert_allclose(y[[0, 1, 332, 333, 334, 999]], want, rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(0, 6), min_size=1, max_size=120))
def test_descending_order_is_sort_values_order_with_ties(values: list[int]) -> None:
    v = np.asarray(values, dtype=np.float64)
    frame = pd.DataFrame({"v": v, "i": np.arange(len(v))})
    want = frame.sort_values("v", ascending=False, ignore_index=True)["i"].to_numpy()
    assert descending_order(v).tolist() == want.tolist()
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.asarray(values), unit="min")
    times = frame.assign(v=t.tz_localize("UTC"))
    want_t = times.sort_values("v", ascending=False, ignore_index=True)["i"].to_numpy()
    assert descending_order(t.to_numpy(dtype="datetime64[ns]")).tolist() == want_t.tolist()


def test_unchecked_formula_is_the_public_one_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    entry = rng.uniform(10.0, 1e5, 50)
    for side, sign in (("long", 1.0), ("short", -1.0)):
        for lev in (2.0, 10.0, 125.0):
            qty = 10_000.0 / entry
            public = liq.liquidation_price(entry, lev, side, 0.004, 25.0, qty)
            core = unchecked_liquidation_price(entry, lev, sign, 0.004, 25.0 / qty)
            assert np.array_equal(public, core)


def test_positive_price_check_keeps_the_public_message() -> None:
    with pytest.raises(DataValidationError, match="maintenance amount is too large"):
        check_positive_prices(np.array([1.0, 0.0]))
    with pytest.raises(DataValidationError, match="maintenance amount is too large"):
        liq.liquidation_price(100.0, 2.0, "long", 0.004, 60.0, 1.0)


@pytest.mark.parametrize(
    "trend", [1.0, 1.03]
)  # a random walk (one cluster per side) and a steady rise (many)
def test_swept_clusters_span_the_sides_first_and_last_sweeps(trend: float) -> None:
    rng = np.random.default_rng(11)
    n = 400
    close = 100.0 * np.cumprod(trend ** (1 / 40) * np.exp(rng.normal(0, 0.004, n)))
    open_ = np.r_[100.0, close[:-1]]
    df = pd.DataFrame(
        {
            "open_time": pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": 100.0,
        }
    )
    est = liq.estimate(df, symbol="BTCUSDT", config=liq.ModelConfig(price_bins=200))
    spc = est.swept_per_candle
    for side in ("long", "short"):
        rows = est.swept[est.swept["side"] == side]
        swept_at = spc.loc[spc[f"{side}_usd"] > 0, "open_time"]
        if swept_at.empty:
            assert rows.empty
            continue
        assert rows["swept_first"].min() == swept_at.iloc[0]
        assert rows["swept_last"].max() == swept_at.iloc[-1]
        assert (rows["created_first"] <= rows["created_last"]).all()
        assert (rows["created_last"] < rows["swept_last"]).all()
        assert rows["notional_usd"].sum() == pytest.approx(spc[f"{side}_usd"].sum())


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(-5, 5), min_size=0, max_size=60),
    queries=st.lists(st.tuples(st.integers(-3, 65), st.integers(-6, 6)), min_size=0, max_size=30),
)
def test_first_touch_above_is_first_touch_of_the_negated_values(
    values: list[int], queries: list[tuple[int, int]]
) -> None:
    v = np.asarray(values, dtype=np.float64)
    start = np.asarray([q[0] for q in queries], dtype=np.int64)
    thr = np.asarray([q[1] for q in queries], dtype=np.float64)
    want = first_touch(-v, start, -thr)
    np.testing.assert_array_equal(first_touch(v, start, thr, above=True), want)
    # and both equal a plain scan
    scan = [
        next((i for i in range(max(s, 0), len(v)) if v[i] >= h), len(v))
        for s, h in zip(start, thr, strict=True)
    ]
    np.testing.assert_array_equal(want, np.asarray(scan, dtype=np.int64))


@settings(max_examples=80, deadline=None)
@given(
    entries=st.lists(st.floats(0.01, 1e6), min_size=1, max_size=20),
    leverage=st.floats(1.01, 125.0),
    sign=st.sampled_from([1.0, -1.0]),
    mmr=st.floats(0.0, 0.5),
    cum=st.one_of(st.just(0.0), st.floats(0.0, 1e4)),
    qty=st.floats(0.001, 100.0),
)
def test_liquidation_price_in_place_is_the_formula_bit_for_bit(
    entries: list[float], leverage: float, sign: float, mmr: float, cum: float, qty: float
) -> None:
    e = np.asarray(entries)
    want = unchecked_liquidation_price(e, leverage, sign, mmr, cum / qty)
    signed = None if cum == 0 else sign * np.full(len(e), cum / qty)
    got = unchecked_liquidation_price_into(e, leverage, sign, mmr, signed, np.empty(len(e)))
    np.testing.assert_array_equal(got, want)
