"""Issue 9: credible numbers for every symbol (brackets, tier clipping, closures, OI anchor, partial OI)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liq
from liq import DataValidationError, ModelConfig, estimate, liquidation_price
from liq._brackets import bracket_symbols, brackets_for
from liq._config import BOUNDS, MAX_TIERS, MEASURED_DAILY_TURNOVER
from liq._engine import _tiers

ALL_TIERS = (2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 75.0, 100.0, 125.0)


def flat_market(n: int = 60, move_pct: float = 0.1, price: float = 100.0, freq: str = "5min") -> pd.DataFrame:
    """A market that never moves more than ``move_pct`` % from ``price``."""
    t = pd.date_range("2024-12-01", periods=n, freq=freq, tz="UTC")
    wiggle = price * move_pct / 100.0
    close = price + wiggle * np.sin(np.arange(n))
    return pd.DataFrame(
        {
            "open_time": t,
            "open": np.r_[price, close[:-1]],
            "high": price + wiggle,
            "low": price - wiggle,
            "close": close,
            "volume": 1000.0,
        }
    )


# ---------------------------------------------------------------------------------------------------------
# never a wrong-side liquidation
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["clip", "drop"])
def test_every_symbol_tier_and_side_liquidates_on_the_right_side_of_entry(rule) -> None:
    cfg = ModelConfig.from_weights(dict.fromkeys(ALL_TIERS, 1.0), above_max_leverage=rule)
    entry = np.array([0.001, 1.0, 100.0, 100_000.0])
    for symbol in bracket_symbols():
        tiers = _tiers(cfg, symbol)
        qty = cfg.assumed_position_usd / entry
        for side in ("long", "short"):
            p = liquidation_price(
                entry[:, None], tiers.leverage[None, :], side, tiers.mmr, tiers.maint_amount_usd, qty[:, None]
            )
            ok = p < entry[:, None] if side == "long" else p > entry[:, None]
            assert ok.all(), (symbol, side, tiers.leverage)
            assert (p > 0).all(), (symbol, side)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    symbol=st.sampled_from(bracket_symbols()),
    size=st.floats(10.0, 5e6),
    lev=st.sampled_from(ALL_TIERS),
)
def test_any_position_size_prices_on_the_right_side(symbol, size, lev) -> None:
    cfg = ModelConfig(leverage_tiers=(lev,), tier_weights=(1.0,), assumed_position_usd=size)
    if brackets_for(symbol).max_leverage(size) <= 1:
        with pytest.raises(DataValidationError, match="1x bracket"):
            _tiers(cfg, symbol)
        return
    tiers = _tiers(cfg, symbol)
    assert tiers.leverage[0] <= brackets_for(symbol).max_leverage(size)
    for side, sign in (("long", -1), ("short", 1)):
        p = liquidation_price(100.0, tiers.leverage[0], side, tiers.mmr, tiers.maint_amount_usd, size / 100.0)
        assert sign * (p - 100.0) > 0


def test_a_flat_market_sweeps_nothing_on_an_altcoin() -> None:
    # the repro: ±0.1 % never reaches a correctly priced 125x-clipped tier of SOLUSDT
    est = estimate(flat_market(), symbol="SOLUSDT")
    assert est.totals["swept_usd"] == 0.0
    assert est.tier_adjustments == (liq.TierAdjustment(125.0, 100.0, 100.0),)
    assert any("at most 100x" in n and "2024-10-24" in n for n in est.notes)


def test_a_50x_altcoin_clips_100x_and_125x_and_the_drop_rule_reweights() -> None:
    # 1000CATUSDT: bracket 2 (5,000-10,000 USD) allows 50x at 1.5 % maintenance
    clip = _tiers(ModelConfig(), "1000CATUSDT")
    assert clip.mmr == 0.015 and clip.maint_amount_usd == 25.0
    assert clip.leverage.tolist() == [5.0, 10.0, 25.0, 50.0, 50.0, 50.0]
    assert [a.leverage for a in clip.adjustments] == [100.0, 125.0]
    drop = _tiers(ModelConfig(above_max_leverage="drop"), "1000CATUSDT")
    assert drop.weight[-2:].tolist() == [0.0, 0.0]
    assert drop.weight.sum() == pytest.approx(1.0)
    assert drop.weight[3] == pytest.approx(0.20 / 0.85)


def test_btc_keeps_125x_and_its_tier_one_bracket() -> None:
    t = _tiers(ModelConfig(), "BTCUSDT")
    assert t.adjustments == ()
    assert (t.mmr, t.maint_amount_usd) == (0.004, 0.0)
    assert t.leverage.tolist() == [5.0, 10.0, 25.0, 50.0, 100.0, 125.0]


def test_symbol_is_required_and_checked() -> None:
    df = flat_market()
    with pytest.raises(TypeError):
        estimate(df)  # type: ignore[call-arg]
    with pytest.raises(DataValidationError, match="symbol must be a Binance symbol"):
        estimate(df, symbol=123)  # type: ignore[arg-type]
    est = estimate(df, symbol=None)
    assert any("No symbol was given" in n and "generic small-cap schedule" in n for n in est.notes)
    unknown = estimate(df, symbol="notarealusdt")
    assert unknown.symbol == "NOTAREALUSDT"
    assert any("NOTAREALUSDT" in n for n in unknown.notes)


def test_config_bounds_are_one_table() -> None:
    with pytest.raises(DataValidationError, match=r"significance is 1.5: it must be a number in \(0, 1\)"):
        ModelConfig(significance=1.5)
    with pytest.raises(DataValidationError, match="decay_half_life_candles"):
        ModelConfig(decay_half_life_candles=1e-5)
    with pytest.raises(DataValidationError, match="price_bins"):
        ModelConfig(price_bins=math.inf)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="more than the 12 allowed"):
        ModelConfig.from_weights({float(x): 1.0 for x in range(2, 2 + MAX_TIERS + 1)})
    assert BOUNDS["levered_share"].contains(DEFAULT := ModelConfig().levered_share) and DEFAULT < 0.1
    ModelConfig(position_half_life_hours=math.inf)


def test_formula_refuses_a_negative_liquidation_price() -> None:
    with pytest.raises(DataValidationError, match="maintenance amount"):
        liquidation_price(100.0, 10, "long", 0.004, maint_amount_usd=1e9, quantity=1.0)


# ---------------------------------------------------------------------------------------------------------
# positions close: conservation, turnover-derived lifetime, prior
# ---------------------------------------------------------------------------------------------------------
def test_half_life_follows_turnover() -> None:
    cfg = ModelConfig()
    # mean lifetime 1 / (s × turnover) days; half-life = ln 2 × that
    assert cfg.half_life_hours() == pytest.approx(math.log(2) * 24 / (0.10 * MEASURED_DAILY_TURNOVER))
    assert ModelConfig(inflow_share=0.2).half_life_hours() == pytest.approx(cfg.half_life_hours() / 2)
    assert ModelConfig(position_half_life_hours=6.0).half_life_hours() == 6.0


def test_volume_model_positions_close_and_notional_is_conserved() -> None:
    df = flat_market(n=400, move_pct=3.0)
    est = estimate(
        df, symbol="BTCUSDT", config=ModelConfig(position_half_life_hours=2.0, decay_half_life_candles=50)
    )
    t = est.totals
    assert t["closed_usd"] > 0 and t["decayed_usd"] > 0 and t["swept_usd"] > 0
    assert t["added_usd"] == pytest.approx(
        t["alive_usd"] + t["swept_usd"] + t["closed_usd"] + t["decayed_usd"]
    )
    # closures and decay split the loss in proportion to their rates: 2 h = 24 candles vs 50 candles
    assert t["closed_usd"] / t["decayed_usd"] == pytest.approx(50 / 24)


def test_volume_model_modelled_open_interest_reaches_steady_state() -> None:
    # constant volume: the prior starts the range at the steady state, inflow × mean lifetime, per side
    df = flat_market(n=600)
    cfg = ModelConfig()
    est = estimate(df, symbol="BTCUSDT", config=cfg)
    qv_per_candle = 1000.0 * 100.0  # volume × typical price (the flat market's mean)
    lifetime = cfg.half_life_hours() * 12 / math.log(2)
    steady = cfg.inflow_share * qv_per_candle * lifetime
    apc = est.alive_per_candle
    total = apc["long_total_usd"].to_numpy()
    assert total[0] == pytest.approx(steady, rel=0.02)
    assert total[-1] == pytest.approx(steady, rel=0.02)
    # a flat market sweeps nothing, so the levered part is the levered share of it
    assert apc["long_levered_usd"].iloc[-1] == pytest.approx(cfg.levered_share * total[-1], rel=1e-6)


def test_a_week_and_a_month_give_similar_largest_levels(data_dir) -> None:
    df = pd.read_csv(data_dir / "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz")
    df.insert(0, "open_time", pd.to_datetime(df.pop("open_time_ms"), unit="ms", utc=True))
    week = estimate(df.iloc[-7 * 288 :], symbol="BTCUSDT")
    month = estimate(df.iloc[-30 * 288 :], symbol="BTCUSDT")
    a, b = week.levels["notional_usd"].max(), month.levels["notional_usd"].max()
    assert abs(a - b) / max(a, b) < 0.25
    # and no level is worth more than the modelled open interest of its side
    assert month.levels["notional_usd"].max() < month.totals["open_interest_usd"]


# ---------------------------------------------------------------------------------------------------------
# OI model: anchor, and every partial-overlap shape
# ---------------------------------------------------------------------------------------------------------
def _oi(df: pd.DataFrame, values, start: int = 0) -> pd.DataFrame:
    times = df["open_time"].iloc[start : start + len(values)] + pd.Timedelta(minutes=5)
    return pd.DataFrame({"time": times.to_numpy(), "open_interest_usd": np.asarray(values, float)})


def test_oi_anchor_tracks_the_levered_share_of_open_interest() -> None:
    df = flat_market(n=30, move_pct=2.0)
    oi_vals = 1e6 * (1 + 0.3 * np.sin(np.arange(30) / 3))
    est = estimate(df, open_interest=_oi(df, oi_vals), symbol="BTCUSDT")
    apc = est.alive_per_candle
    lam = est.config.levered_share
    np.testing.assert_allclose(apc["long_levered_usd"], lam * oi_vals, rtol=1e-9)
    np.testing.assert_allclose(apc["short_total_usd"], oi_vals, rtol=1e-9)
    t = est.totals
    assert t["added_usd"] == pytest.approx(
        t["alive_usd"] + t["swept_usd"] + t["closed_usd"] + t["decayed_usd"]
    )


@pytest.mark.parametrize(
    ("shape", "note"),
    [
        ("late", "starts after the first 20 candle(s)"),
        ("early_end", "missing for"),
        ("holes", "missing for"),
        ("late_and_holes", "starts after"),
    ],
)
def test_partial_open_interest_never_crashes(shape, note) -> None:
    df = flat_market(n=50, move_pct=1.0)
    vals = np.linspace(1e6, 2e6, 50)
    if shape == "late":
        oi = _oi(df, vals[20:], start=20)
    elif shape == "early_end":
        oi = _oi(df, vals[:30])
    elif shape == "holes":
        oi = _oi(df, vals).drop(index=range(10, 25)).reset_index(drop=True)
    else:
        oi = _oi(df, vals[20:], start=20).drop(index=range(5, 15)).reset_index(drop=True)
    est = estimate(df, open_interest=oi, symbol="BTCUSDT")
    assert est.model == "oi"
    assert any(note in n for n in est.notes), est.notes
    assert np.isfinite(est.heatmap.long_usd).all()


def test_upload_with_open_interest_starting_at_the_21st_candle() -> None:
    # the repro on the hosted path: an upload of 50 5m candles and an OI file from the 21st candle
    t0 = 1733011200000
    candles = "".join(
        f"{t0 + i * 300_000},100,101,99,100.5,3,{t0 + i * 300_000 + 299_999},300,1,1.5,150,0\n"
        for i in range(50)
    )
    oi = "timestamp,sumOpenInterestValue\n" + "".join(
        f"{t0 + (i + 1) * 300_000},{1e6 + 1e4 * i}\n" for i in range(20, 50)
    )
    data = liq.load_upload(candles.encode(), oi.encode(), symbol="BTCUSDT")
    est = estimate(data.candles, open_interest=data.open_interest, symbol=data.symbol)
    assert est.model == "oi"
    assert any("starts after" in n for n in est.notes)
