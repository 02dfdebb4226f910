"""Passes that handle positions a chunk at a time give what one pass over all positions gives."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liq
import liq._engine as engine
from tests.test_engine import _check_against_oracle, candle_series, configs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=candle_series(with_oi=True), cfg=configs, chunk=st.integers(1, 9), use_oi=st.booleans())
def test_small_chunks_still_equal_the_oracle(data, cfg, chunk: int, use_oi: bool) -> None:
    df, oi = data
    with mock.patch.object(engine, "_CHUNK", chunk):
        _check_against_oracle(df, oi if use_oi else None, cfg)


def _walk(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.exponential(0.002, n))
    low = np.minimum(open_, close) * (1 - rng.exponential(0.002, n))
    return pd.DataFrame(
        {
            "open_time": pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC"),
            "open": open_, "high": high, "low": low, "close": close, "volume": rng.lognormal(3, 1, n),
        }
    )  # fmt: skip


def test_chunked_passes_are_bit_identical_to_one_pass() -> None:
    # off-grid positions (a 2 % pad leaves the 5x tiers outside), several chunks per pass
    df = _walk(3000, 4)
    cfg = liq.ModelConfig(price_pad_pct=2.0, time_columns=90)
    with mock.patch.object(engine, "_CHUNK", 1 << 30):
        one = liq.estimate(df, config=cfg, symbol="BTCUSDT")
    with mock.patch.object(engine, "_CHUNK", 1000):
        many = liq.estimate(df, config=cfg, symbol="BTCUSDT")
    assert one.totals["outside_grid_usd"] > 0
    np.testing.assert_array_equal(many.heatmap.long_usd, one.heatmap.long_usd)
    np.testing.assert_array_equal(many.heatmap.short_usd, one.heatmap.short_usd)
    pd.testing.assert_frame_equal(many.profile, one.profile)
    pd.testing.assert_frame_equal(many.levels, one.levels)
    pd.testing.assert_frame_equal(many.swept, one.swept)
