"""The estimation engine: hand-computed cases, oracle equivalence (hypothesis), and real-data sanity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liq
from liq import DataValidationError, ModelConfig, estimate, liquidation_price
from liq._config import DEFAULT_LEVERED_SHARE
from liq._engine import _entry_prices, _inputs, _positions, _tiers, first_touch
from liq._sources.validate import validate_candles
from tests.support.oracle import oracle_estimate

# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def frame(highs, lows, *, opens=None, closes=None, volume=1000.0, **extra) -> pd.DataFrame:
    n = len(highs)
    highs = np.asarray(highs, float)
    lows = np.asarray(lows, float)
    mid = (highs + lows) / 2
    opens = mid if opens is None else np.asarray(opens, float)
    closes = mid if closes is None else np.asarray(closes, float)
    df = pd.DataFrame(
        {
            "open_time": pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC"),
            "open": opens,
            "high": highs,
            "low": lows,
            "close": closes,
            "volume": volume,
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


ONE_TIER = {"leverage_tiers": (10.0,), "tier_weights": (1.0,)}
#: The bare mechanics: every position levered, no closures (so no prior), as in the hand computations below.
PLAIN = {**ONE_TIER, "levered_share": 1.0, "position_half_life_hours": math.inf}


# ---------------------------------------------------------------------------------------------------------
# the formula
# ---------------------------------------------------------------------------------------------------------


def test_formula_long_100x_btc() -> None:
    assert liquidation_price(100_000, 100, "long", 0.004) == pytest.approx(99_397.59, abs=0.005)


def test_formula_short_by_hand() -> None:
    # (E(1+1/L)) / (1+m) = 100000 * 1.1 / 1.005
    assert liquidation_price(100_000, 10, "short", 0.005) == pytest.approx(110_000 / 1.005)


def test_formula_with_maintenance_amount() -> None:
    # long: (E(1-1/L) - cum/q) / (1-m) with E=100k, L=20, cum=50, q=1, m=0.005
    got = liquidation_price(100_000, 20, "long", 0.005, maint_amount_usd=50, quantity=1.0)
    assert got == pytest.approx((95_000 - 50) / 0.995)
    got = liquidation_price(100_000, 20, "short", 0.005, maint_amount_usd=50, quantity=1.0)
    assert got == pytest.approx((105_000 + 50) / 1.005)


def test_formula_broadcasts_sides_and_tiers() -> None:
    out = liquidation_price(100.0, np.array([[10.0], [20.0]]), np.array(["long", "short"]), 0.0)
    np.testing.assert_allclose(out, [[90.0, 110.0], [95.0, 105.0]])


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"entry_price": -1, "leverage": 10, "side": "long", "mmr": 0.004}, "positive"),
        ({"entry_price": 100, "leverage": 1, "side": "long", "mmr": 0.004}, "greater than 1"),
        ({"entry_price": 100, "leverage": 10, "side": "up", "mmr": 0.004}, "long"),
        ({"entry_price": 100, "leverage": 10, "side": "long", "mmr": 1.5}, "fraction"),
        (
            {"entry_price": 100, "leverage": 10, "side": "long", "mmr": 0.004, "maint_amount_usd": 5},
            "quantity",
        ),
    ],
)
def test_formula_rejects_bad_input(kwargs, msg) -> None:
    with pytest.raises(DataValidationError, match=msg):
        liquidation_price(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# semantics, by hand
# ---------------------------------------------------------------------------------------------------------


def test_entry_is_vwap_when_quote_volume_present_else_typical() -> None:
    df = frame([101] * 10, [99] * 10, closes=[100.5] * 10, volume=2.0, quote_volume=[200.4] * 9 + [np.nan])
    c = validate_candles(df)
    e = _entry_prices(c, "vwap")
    assert e[0] == pytest.approx(100.2)
    assert e[-1] == pytest.approx((101 + 99 + 100.5) / 3)


def test_side_split_uses_taker_share() -> None:
    df = frame([101] * 10, [99] * 10, volume=10.0, taker_buy_volume=7.0, quote_volume=1000.0)
    cfg = ModelConfig(inflow_share=0.1, **PLAIN)
    c = validate_candles(df)
    tiers = _tiers(cfg, "BTCUSDT")
    new = np.full(10, 100.0)  # 0.1 * 1000
    longs = _positions(c, _inputs(c, cfg), tiers, cfg, "long", new * 2 * 0.7, 0.0, 0.0)
    shorts = _positions(c, _inputs(c, cfg), tiers, cfg, "short", new * 2 * 0.3, 0.0, 0.0)
    assert longs.notional[0] == pytest.approx(140.0)
    assert shorts.notional[0] == pytest.approx(60.0)
    est = estimate(df, config=cfg, symbol="BTCUSDT")
    assert est.totals["added_usd"] == pytest.approx(10 * 200.0)


def test_taker_split_can_be_switched_off() -> None:
    df = frame([101] * 10, [99] * 10, volume=10.0, taker_buy_volume=10.0, quote_volume=1000.0)
    on = estimate(df, config=ModelConfig(**PLAIN), symbol="BTCUSDT")
    off = estimate(df, config=ModelConfig(use_taker_split=False, **PLAIN), symbol="BTCUSDT")
    assert on.heatmap.short_usd.sum() == 0.0  # every buyer was a taker: no shorts estimated
    assert off.heatmap.short_usd.sum() > 0.0


def test_touch_at_exactly_the_price_sweeps_and_creation_candle_does_not() -> None:
    # one 10x long entered at typical price 100 (h=101, l=99, c=100) with mmr 0.004:
    p = liquidation_price(100.0, 10, "long", 0.004)  # 90.3614...
    highs = [101.0] * 10
    lows = [99.0] * 10
    closes = [100.0] * 10
    # candle 0 creates; candle 3 touches exactly p
    lows[3] = p
    df = frame(highs, lows, closes=closes)
    df.loc[3, "close"] = p + 1
    df.loc[3, "open"] = p + 1
    df.loc[0, "volume"] = 1000.0
    df.loc[1:, "volume"] = 0.0
    est = estimate(df, config=ModelConfig(**PLAIN), symbol="BTCUSDT")
    spc = est.swept_per_candle
    # The candle-0 long is swept at candle 3 (touch at exactly its price)...
    assert spc.loc[3, "long_usd"] == pytest.approx(0.1 * 1000 * 100 * 1.0)
    assert spc["long_usd"].drop(index=3).sum() == 0.0
    # ...and a long created by a candle whose own low is below its liquidation price is not swept by it.
    lows2 = [99.0] * 10
    lows2[0] = 50.0
    df2 = frame(highs, lows2, closes=closes)
    df2.loc[0, "open"] = 100.0
    df2.loc[0, "close"] = 100.0
    est2 = estimate(df2, config=ModelConfig(**PLAIN), symbol="BTCUSDT")
    assert est2.swept_per_candle.loc[0, "long_usd"] == 0.0


def test_short_swept_when_high_reaches_price() -> None:
    p = liquidation_price(100.0, 10, "short", 0.004)
    highs = [101.0] * 10
    highs[5] = p
    df = frame(highs, [99.0] * 10, closes=[100.0] * 10)
    df.loc[5, ["open", "close"]] = 100.0
    df.loc[1:, "volume"] = 0.0
    est = estimate(df, config=ModelConfig(**PLAIN), symbol="BTCUSDT")
    assert est.swept_per_candle.loc[5, "short_usd"] == pytest.approx(10_000.0)
    assert est.swept_per_candle["short_usd"].sum() == pytest.approx(10_000.0)


def test_decay_halves_after_half_life() -> None:
    df = frame([101.0] * 11, [99.0] * 11, closes=[100.0] * 11)
    df.loc[1:, "volume"] = 0.0
    est = estimate(df, config=ModelConfig(decay_half_life_candles=5, **PLAIN), symbol="BTCUSDT")
    # 10 candles after creation: 2 half-lives -> a quarter left
    assert est.heatmap.long_usd[-1].sum() == pytest.approx(10_000.0 / 4)
    assert est.heatmap.long_usd[5].sum() == pytest.approx(10_000.0 / 2)
    assert est.totals["decayed_usd"] == pytest.approx(2 * 10_000.0 * 0.75)


def test_oi_model_starts_from_oi_adds_increases_and_closes_pro_rata() -> None:
    n = 10
    df = frame([101.0] * n, [99.0] * n, closes=[100.0] * n, opens=[100.0] * n)
    oi = pd.DataFrame(
        {
            "time": df["open_time"] + pd.Timedelta(minutes=5),
            "open_interest_usd": [1000, 1100, 1100, 1050, 1050, 1050, 1050, 1050, 1050, 1050.0],
        }
    )
    est = estimate(df, open_interest=oi, config=ModelConfig(**ONE_TIER, levered_share=1.0), symbol="BTCUSDT")
    assert est.model == "oi"
    # the range starts with its 1000 of OI per side (the prior), +100 at candle 1 opens 100 per side, and
    # -50 at candle 3 closes 50 per side pro rata
    assert est.totals["added_usd"] == pytest.approx(2 * 1100.0)
    assert est.totals["closed_usd"] == pytest.approx(2 * 50.0)
    assert est.heatmap.long_usd[-1].sum() == pytest.approx(1050.0)
    assert est.heatmap.short_usd[-1].sum() == pytest.approx(1050.0)
    assert est.totals["open_interest_usd"] == pytest.approx(1050.0)
    assert "anchored to open interest" in est.usd_basis


def test_first_touch_matches_brute_force_example() -> None:
    v = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    starts = np.arange(9)
    got = first_touch(v, np.minimum(starts, 8), np.full(9, 1.5))
    assert got.tolist() == [1, 1, 3, 3, 8, 8, 8, 8, 8]


def test_levels_price_is_weighted_exact_price_not_bin_centre() -> None:
    df = frame([101.0] * 20, [99.5] * 20, closes=[100.0] * 20)
    est = estimate(df, config=ModelConfig(**PLAIN, price_bins=50), symbol="BTCUSDT")
    longs = est.levels[est.levels.side == "long"]
    assert len(longs) == 1
    exact = liquidation_price((101 + 99.5 + 100) / 3, 10, "long", 0.004)
    assert longs["price"].iloc[0] == pytest.approx(exact)
    centres = est.heatmap.price_centers
    assert np.min(np.abs(centres - exact)) > 1e-6


def test_approaches_count_and_rearm() -> None:
    # a 10x long around 90.36 created in candle 0; price dips near it twice, with a move away between
    p = liquidation_price(100.0, 10, "long", 0.004)
    lows = [99.0, 99.0, p * 1.003, 99.0, 99.0, p * 1.002, p * 1.004, 99.0, 99.0, 99.0, 99.0, 99.0]
    highs = [101.0] * 12
    df = frame(highs, lows, closes=[100.0] * 12, opens=[100.0] * 12)
    df.loc[1:, "volume"] = 0.0
    est = estimate(df, config=ModelConfig(**PLAIN, approach_pct=0.5), symbol="BTCUSDT")
    lv = est.levels[est.levels.side == "long"]
    assert lv["approaches"].iloc[0] == 2


# ---------------------------------------------------------------------------------------------------------
# validation at the boundary
# ---------------------------------------------------------------------------------------------------------


def _good(n: int = 12) -> pd.DataFrame:
    return frame([101.0] * n, [99.0] * n, closes=[100.0] * n)


@pytest.mark.parametrize(
    ("mutate", "msg"),
    [
        (lambda d: d.iloc[::-1], "not sorted"),
        (lambda d: pd.concat([d.iloc[:3], d.iloc[2:]]), "duplicate open_time"),
        (lambda d: d.assign(close=[np.nan] + [100.0] * 11), "'close' is missing"),
        (lambda d: d.assign(low=[102.0] + [99.0] * 11), "high is below low"),
        (lambda d: d.assign(open=[-1.0] + [100.0] * 11), "'open' must be above zero"),
        (lambda d: d.iloc[:3], "at least 10"),
        (lambda d: d.drop(columns="volume"), "missing column"),
        (lambda d: d.assign(open_time=np.arange(12)), "epoch milliseconds"),
        (lambda d: d.assign(volume=[-5.0] + [1.0] * 11), "'volume' is negative"),
        (lambda d: d.assign(high=["x"] + [101.0] * 11), "not a number"),
        (lambda d: d.assign(volume=1.0, taker_buy_volume=2.0), "'taker_buy_volume' is larger than 'volume'"),
    ],
)
def test_validation_messages(mutate, msg) -> None:
    with pytest.raises(DataValidationError, match=msg):
        estimate(mutate(_good()), symbol="BTCUSDT")


def test_estimate_never_mutates_the_callers_frame() -> None:
    df = _good()
    df["open_time"] = df["open_time"].dt.tz_localize(None)  # naive: engine treats as UTC
    before = df.copy(deep=True)
    estimate(df, symbol="BTCUSDT")
    pd.testing.assert_frame_equal(df, before)


def test_config_validation_messages() -> None:
    with pytest.raises(DataValidationError, match="add up to 0"):
        ModelConfig(tier_weights=(0, 0, 0, 0, 0, 0))
    with pytest.raises(DataValidationError, match="zero or positive"):
        ModelConfig(tier_weights=(-1, 1, 1, 1, 1, 1))
    with pytest.raises(DataValidationError, match="one weight per tier"):
        ModelConfig(tier_weights=(1, 1))
    assert ModelConfig.preset("High leverage").leverage_tiers == (25.0, 50.0, 100.0)
    assert sum(ModelConfig.preset("High leverage").weights().values()) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------
# hypothesis: vectorised engine == plain-loop oracle, and invariants
# ---------------------------------------------------------------------------------------------------------


@st.composite
def candle_series(draw, with_oi: bool = False):
    n = draw(st.integers(10, 40))
    steps = draw(st.lists(st.floats(-0.04, 0.04, allow_nan=False), min_size=n, max_size=n))
    wick_up = draw(st.lists(st.floats(0, 0.05), min_size=n, max_size=n))
    wick_dn = draw(st.lists(st.floats(0, 0.05), min_size=n, max_size=n))
    vols = draw(st.lists(st.floats(0, 50), min_size=n, max_size=n))
    close = 100.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.asarray(wick_up))
    low = np.minimum(open_, close) * (1 - np.asarray(wick_dn))
    df = frame(high, low, opens=open_, closes=close, volume=vols)
    if draw(st.booleans()):
        share = np.asarray(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
        df["taker_buy_volume"] = df["volume"] * share
        df["quote_volume"] = df["volume"] * (high + low) / 2
    oi = None
    if with_oi:
        deltas = draw(st.lists(st.floats(-300, 300), min_size=n, max_size=n))
        level = 5000 + np.cumsum(deltas)
        oi = pd.DataFrame(
            {"time": df["open_time"] + pd.Timedelta(minutes=5), "open_interest_usd": np.maximum(level, 0)}
        )
    return df, oi


configs = st.builds(
    ModelConfig,
    decay_half_life_candles=st.one_of(st.none(), st.floats(1.0, 30.0)),
    levered_share=st.sampled_from([DEFAULT_LEVERED_SHARE, 0.3, 1.0]),
    position_half_life_hours=st.one_of(st.none(), st.just(math.inf), st.floats(0.5, 48.0)),
    above_max_leverage=st.sampled_from(["clip", "drop"]),
    price_bins=st.integers(10, 60),
    time_columns=st.one_of(st.none(), st.integers(1, 12)),
    price_pad_pct=st.floats(5.0, 30.0),
)


def _check_against_oracle(df, oi, cfg, symbol="BTCUSDT") -> None:
    est = estimate(df, open_interest=oi, config=cfg, symbol=symbol)
    ref = oracle_estimate(df, open_interest=oi, config=cfg, symbol=symbol)
    scale = max(ref.added, 1.0)
    np.testing.assert_allclose(est.swept_per_candle["long_usd"], ref.swept_long, rtol=1e-7, atol=1e-9 * scale)
    np.testing.assert_allclose(
        est.swept_per_candle["short_usd"], ref.swept_short, rtol=1e-7, atol=1e-9 * scale
    )
    np.testing.assert_allclose(est.heatmap.long_usd, ref.grid_long, rtol=1e-7, atol=1e-9 * scale)
    np.testing.assert_allclose(est.heatmap.short_usd, ref.grid_short, rtol=1e-7, atol=1e-9 * scale)
    assert est.totals["added_usd"] == pytest.approx(ref.added, rel=1e-9, abs=1e-9)
    lost = est.totals["closed_usd"] + est.totals["decayed_usd"]
    assert lost == pytest.approx(ref.lost, rel=1e-7, abs=1e-9 * scale)
    assert est.totals["alive_usd"] == pytest.approx(ref.alive, rel=1e-7, abs=1e-9 * scale)
    # hits: every oracle position's sweep candle equals the vectorised first touch
    c = validate_candles(df)
    for side, low_or_high in (("long", c["low"].to_numpy()), ("short", -c["high"].to_numpy())):
        refs = [p for p in ref.positions if p.side == side]
        if not refs:
            continue
        prices = np.array([p.price for p in refs])
        starts = np.array([p.created + 1 for p in refs])
        thr = prices if side == "long" else -prices
        got = first_touch(low_or_high, starts, thr)
        want = np.array([p.swept_at if p.swept_at >= 0 else len(c) for p in refs])
        np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=candle_series(), cfg=configs, symbol=st.sampled_from(["BTCUSDT", "SOLUSDT", "1000CATUSDT", None]))
def test_volume_model_equals_oracle(data, cfg, symbol) -> None:
    df, _ = data
    _check_against_oracle(df, None, cfg, symbol)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=candle_series(with_oi=True), cfg=configs)
def test_oi_model_equals_oracle(data, cfg) -> None:
    df, oi = data
    _check_against_oracle(df, oi, cfg)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=80),
    queries=st.lists(
        st.tuples(st.integers(0, 90), st.floats(-6, 6, allow_nan=False)), min_size=1, max_size=30
    ),
)
def test_first_touch_equals_scan(values, queries) -> None:
    v = np.asarray(values)
    n = len(v)
    starts = np.array([min(s, n) for s, _ in queries])
    thr = np.array([t for _, t in queries])
    want = [next((i for i in range(s, n) if v[i] <= t), n) for s, t in zip(starts, thr, strict=True)]
    assert first_touch(v, starts, thr).tolist() == want


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=candle_series(with_oi=True), cfg=configs, use_oi=st.booleans())
def test_invariants(data, cfg, use_oi) -> None:
    df, oi = data
    est = estimate(df, open_interest=oi if use_oi else None, config=cfg, symbol="BTCUSDT")
    t = est.totals
    # conservation: added = alive + swept + closed + decayed
    lhs = t["added_usd"]
    rhs = t["alive_usd"] + t["swept_usd"] + t["closed_usd"] + t["decayed_usd"]
    assert rhs == pytest.approx(lhs, rel=1e-9, abs=1e-6)
    # the grid's last column holds everything alive inside the price window
    assert est.heatmap.long_usd[-1].sum() + est.heatmap.short_usd[-1].sum() + t[
        "outside_grid_usd"
    ] == pytest.approx(t["alive_usd"], rel=1e-9, abs=1e-6)
    assert np.isfinite(est.heatmap.long_usd).all() and (est.heatmap.long_usd >= 0).all()
    c = validate_candles(df)
    low, high = c["low"].to_numpy(), c["high"].to_numpy()
    for side in ("long", "short"):
        inp = _inputs(c, cfg)
        s = _positions(c, inp, _tiers(cfg, "BTCUSDT"), cfg, side, np.ones(len(c)), 0.0, 0.0)
        entry = inp.entry[s.created]
        # a level sits on the correct side of entry
        assert (s.price < entry).all() if side == "long" else (s.price > entry).all()
        # alive positions were never touched since creation
        for created, price, swept_at in zip(s.created, s.price, s.swept_at, strict=True):
            if swept_at == len(c):
                later = low[created + 1 :] if side == "long" else high[created + 1 :]
                assert (later > price).all() if side == "long" else (later < price).all()
    lv = est.levels
    assert (lv.loc[lv.side == "long", "distance_pct"] < 0).all() or lv.empty


# ---------------------------------------------------------------------------------------------------------
# real recorded Binance data
# ---------------------------------------------------------------------------------------------------------


def _sample(data_dir, name):
    df = pd.read_csv(data_dir / name)
    df.insert(0, "open_time", pd.to_datetime(df.pop("open_time_ms"), unit="ms", utc=True))
    return df


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz", "BTCUSDT"),
        ("ETHUSDT_5m_2024-11-20_2025-01-05.csv.gz", "ETHUSDT"),
        ("BTCUSDT_5m_2025-10-15_2025-10-22.csv.gz", "BTCUSDT"),
    ],
)
def test_real_data_sanity(data_dir, name, symbol) -> None:
    df = _sample(data_dir, name).iloc[-7 * 288 :]
    est = estimate(df, config=ModelConfig(time_columns=400), symbol=symbol)
    lv = est.levels
    assert set(lv["side"]) == {"long", "short"}
    last = float(df["close"].iloc[-1])
    assert (lv.loc[lv.side == "long", "price"] < last).all()
    assert (lv.loc[lv.side == "short", "price"] > last).all()
    assert not lv.isna().any().any()
    assert (lv["zone_low"] <= lv["price"]).all() and (lv["price"] <= lv["zone_high"]).all()
    assert est.heatmap.long_usd.shape == (400, 500)
    s = est.summary
    assert s.nearest_below is not None and s.nearest_below.price < last
    assert s.nearest_above is not None and s.nearest_above.price > last
    assert -1 <= s.asymmetry <= 1
    assert s.long_usd_within[1] <= s.long_usd_within[2] <= s.long_usd_within[5]
    assert est.swept_per_candle[["long_usd", "short_usd"]].to_numpy().sum() > 0
    assert len(est.swept) > 0 and (est.swept["swept_first"] <= est.swept["swept_last"]).all()


def test_public_api_is_reexported() -> None:
    for name in ("estimate", "Estimate", "Heatmap", "ModelConfig", "liquidation_price", "Summary", "Level"):
        assert hasattr(liq, name)
    assert math.isclose(liq.ModelConfig().weights()[25.0], 0.30)
    assert liq.ModelConfig().leverage_tiers == (5.0, 10.0, 25.0, 50.0, 100.0, 125.0)
    assert math.isclose(sum(liq.ModelConfig().weights().values()), 1.0)


def test_swept_positions_in_adjacent_bins_merge_into_one_cluster() -> None:
    # one candle opens 10x and 10.5x longs (liquidation prices 90.36 and 90.8: neighbouring bins) and a 5x long
    # (80.3, far away); a crash to 75 sweeps all three: two clusters, one of them spanning both near bins
    highs, lows = [101.0] * 12, [99.0] * 12
    lows[6] = 75.0
    df = frame(highs, lows, closes=[100.0] * 12, opens=[100.0] * 12)
    df.loc[1:, "volume"] = 0.0
    cfg = ModelConfig(
        leverage_tiers=(5.0, 10.0, 10.5), tier_weights=(1, 1, 1), levered_share=1.0,
        position_half_life_hours=math.inf, price_bins=100,
    )  # fmt: skip
    est = estimate(df, config=cfg, symbol="BTCUSDT")
    longs = est.swept[est.swept.side == "long"].sort_values("price")
    assert len(longs) == 2
    near = longs.iloc[1]
    p10 = liquidation_price(100.0, 10, "long", 0.004)
    p105 = liquidation_price(100.0, 10.5, "long", 0.004)
    assert near["bin_low"] <= p10 < p105 <= near["bin_high"]
    assert near["price"] == pytest.approx((p10 + p105) / 2)
    assert longs["notional_usd"].sum() == pytest.approx(est.totals["swept_usd"])


def test_cascade_flag_marks_only_a_heavy_chain_near_price() -> None:
    from liq._levels import _cascade_flags

    levels = pd.DataFrame(
        {
            # longs below 100: a chain 99.0 / 98.6 / 98.2 near price holding 60 of the side's largest 100, then a
            # chain of two small far levels, and one big level alone
            "price": [101.5, 101.9, 99.0, 98.6, 98.2, 90.0, 89.7, 80.0],
            "side": ["short", "short", "long", "long", "long", "long", "long", "long"],
            "notional_usd": [5.0, 5.0, 20.0, 20.0, 20.0, 3.0, 3.0, 100.0],
        }
    ).sort_values("price", ascending=False, ignore_index=True)
    flags = _cascade_flags(levels, gap_pct=0.6, last_price=100.0)
    flagged = levels.loc[flags, "price"].tolist()
    assert flagged == [101.9, 101.5, 99.0, 98.6, 98.2]  # the short pair is near and the whole short side
    # far chains and lone levels are never flagged, however close their members are to each other
    assert not flags[levels["price"].isin([90.0, 89.7, 80.0]).to_numpy()].any()
    light = levels.assign(notional_usd=np.where(levels["price"] > 95, 1.0, levels["notional_usd"]))
    light.loc[light["price"] == 80.0, "notional_usd"] = 1000.0
    assert not _cascade_flags(light, 0.6, 100.0)[
        light["side"].eq("long").to_numpy() & (light["price"] > 95)
    ].any()
