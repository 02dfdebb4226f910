"""model_check: rank statistics by hand, NaN handling, window detection, bootstrap determinism, real data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from liq._check.model_check import METRIC_LABELS, model_check, recording_windows
from liq._check.recordings import load_liquidations
from liq._check.stats import (
    RankedRows,
    _rank_rows,
    partial_rows,
    partial_spearman,
    rankdata,
    resampled_ranks,
    spearman,
    spearman_rows,
)
from liq._config import ModelConfig
from liq._errors import DataValidationError

DEC = "BTCUSDT_liquidations_2024-12-04_2024-12-29.csv.gz"
KLINES = "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz"


def _candles(path: Path) -> pd.DataFrame:
    c = pd.read_csv(path)
    c["open_time"] = pd.to_datetime(c.pop("open_time_ms"), unit="ms", utc=True)
    return c


# ---------------------------------------------------------------------------------------------------------
# rank statistics, by hand
# ---------------------------------------------------------------------------------------------------------
def test_ranks_average_ties() -> None:
    assert rankdata([3.0, 1.0, 3.0, 2.0, 3.0]).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]
    assert rankdata([]).tolist() == []


def test_spearman_by_hand() -> None:
    # no ties: 1 - 6 Σd² / (n(n²-1)); d = (-1, 1, -1, 1, 0) -> Σd² = 4 -> 1 - 24/120 = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    # ties: ranks of y = (1.5, 1.5, 3, 4); Pearson of (1,2,3,4) with that = 4.5 / sqrt(5 * 4.5)
    assert spearman([10, 20, 30, 40], [0, 0, 5, 9]) == pytest.approx(4.5 / math.sqrt(5 * 4.5))
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_partial_spearman_by_hand() -> None:
    x, y, z = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5], [1, 3, 2, 5, 4]
    # pairwise rank correlations: r_xy = 0.8, r_xz = 1 - 6*4/120 = 0.8, r_yz = 1 - 6*14/120 = 0.3
    # partial = (0.8 - 0.8*0.3) / sqrt((1 - 0.64)(1 - 0.09)) = 0.56 / sqrt(0.3276)
    expected = 0.56 / math.sqrt(0.3276)
    assert partial_spearman(x, y, z) == pytest.approx(expected)
    # the same through explicit residuals: x ranks on z ranks, slope 0.8
    rz = np.array(z, float) - 3
    ex = (np.array(x, float) - 3) - 0.8 * rz
    ey = (np.array(y, float) - 3) - 0.3 * rz
    assert partial_spearman(x, y, z) == pytest.approx(np.corrcoef(ex, ey)[0, 1])


def test_controlling_for_the_series_itself_leaves_nothing() -> None:
    x = [1.0, 5.0, 2.0, 8.0, 3.0]
    assert math.isnan(partial_spearman(x, [2.0, 1.0, 4.0, 3.0, 5.0], x))


@pytest.mark.parametrize(
    ("x", "y"),
    [([1, 1, 1, 1], [1, 2, 3, 4]), ([1, 2, 3, 4], [0, 0, 0, 0]), ([5.0], [3.0])],
)
def test_constant_series_give_nan_not_an_error(x: list[float], y: list[float]) -> None:
    assert math.isnan(spearman(x, y))
    assert math.isnan(partial_spearman(x, y, list(range(len(x)))))


def test_length_mismatch_and_nan_are_rejected() -> None:
    with pytest.raises(DataValidationError, match="different lengths"):
        spearman([1, 2], [1, 2, 3])
    with pytest.raises(DataValidationError, match="finite"):
        spearman([1, np.nan], [1, 2])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=2, max_size=25))
def test_rowwise_statistics_match_pandas(rows: list[tuple[int, int, int]]) -> None:
    a = np.array(rows, dtype=float).T  # (3, n)
    ref = np.vstack([pd.Series(r).rank().to_numpy() for r in a])
    assert np.array_equal(_rank_rows(a), ref)
    got = spearman_rows(a[:1], a[1:2])[0]
    # reference: Pearson of pandas' average ranks (NaN when a series is constant)
    want = np.corrcoef(ref[0], ref[1])[0, 1] if ref[0].std() > 0 and ref[1].std() > 0 else math.nan
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)
    # partial via the closed form on rank correlations, when it is defined
    c = np.corrcoef(ref) if np.all(ref.std(axis=1) > 0) else None
    if c is not None and abs(c[0, 2]) < 0.999 and abs(c[1, 2]) < 0.999:
        closed = (c[0, 1] - c[0, 2] * c[1, 2]) / math.sqrt((1 - c[0, 2] ** 2) * (1 - c[1, 2] ** 2))
        got_p = partial_rows(a[:1], a[1:2], a[2:3])[0]
        assert math.isnan(got_p) or got_p == pytest.approx(closed, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=30).map(lambda v: np.array(v, dtype=float)),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
)
def test_resampled_ranks_are_the_ranks_of_the_resamples(values: np.ndarray, rows: int, seed: int) -> None:
    idx = np.random.default_rng(seed).integers(0, len(values), size=(rows, len(values)))
    assert np.array_equal(resampled_ranks(values, idx), _rank_rows(values[idx]))
    x, y, z = values, values[::-1].copy(), (values * 7) % 5
    fast, slow = RankedRows.resampled(x, y, z, idx), RankedRows.of(x[idx], y[idx], z[idx])
    for got, want in (
        (fast.spearman_model(), spearman_rows(x[idx], y[idx])),
        (fast.spearman_baseline(), spearman_rows(z[idx], y[idx])),
        (slow.partial(), partial_rows(x[idx], y[idx], z[idx])),
        (fast.partial(), partial_rows(x[idx], y[idx], z[idx])),
    ):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------------------------------------
def _events(times: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"time": pd.to_datetime(times, utc=True)})


def test_window_detection_splits_on_gaps_longer_than_45_minutes() -> None:
    ev = _events(["2024-12-04 10:00:00", "2024-12-04 10:45:00", "2024-12-04 11:30:01", "2024-12-04 11:40:00"])
    w = recording_windows(ev)
    assert w["n_events"].tolist() == [2, 2]  # exactly 45 min stays, 45 min 1 s splits
    assert w["start"].tolist() == list(
        pd.to_datetime(["2024-12-04 10:00:00", "2024-12-04 11:30:01"], utc=True)
    )
    assert recording_windows(ev, max_gap=pd.Timedelta(hours=2))["n_events"].tolist() == [4]
    assert recording_windows(_events([])).empty


def test_logged_gaps_cut_windows() -> None:
    ev = _events(["2024-12-04 10:00", "2024-12-04 10:10", "2024-12-04 10:20", "2024-12-04 10:30"])
    gaps = pd.DataFrame(
        {
            "start": pd.to_datetime(["2024-12-04 10:12"], utc=True),
            "end": pd.to_datetime(["2024-12-04 10:13"], utc=True),
        }
    )
    assert recording_windows(ev, gaps=gaps)["n_events"].tolist() == [2, 2]


def test_dec_2024_windows_match_the_provenance(data_dir: Path) -> None:
    w = recording_windows(load_liquidations(data_dir / DEC))
    assert w["n_events"].tolist() == [1097, 147, 584, 205, 27, 121, 1, 127, 4, 39, 51, 60]
    assert w["start"].iloc[0] == pd.Timestamp("2024-12-04 16:46:25.584Z")
    assert w["end"].iloc[-1].strftime("%m-%d %H:%M") == "12-29 14:07"


# ---------------------------------------------------------------------------------------------------------
# model_check on synthetic data
# ---------------------------------------------------------------------------------------------------------
def _synthetic(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DatetimeIndex]:
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC")
    px = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n + 1)))
    candles = pd.DataFrame(
        {
            "open_time": t,
            "open": px[:-1],
            "high": np.maximum(px[:-1], px[1:]) * 1.001,
            "low": np.minimum(px[:-1], px[1:]) * 0.999,
            "close": px[1:],
            "volume": rng.uniform(500, 1500, n),
        }
    )
    return candles, px, t


def _liqs(t: pd.DatetimeIndex, px: np.ndarray, k: np.ndarray, sides: np.ndarray) -> pd.DataFrame:
    return load_liquidations(
        pd.DataFrame(
            {
                "time": t[k] + pd.Timedelta("2min"),
                "symbol": "TESTUSDT",
                "side": sides,
                "avg_price": px[k],
                "qty": np.linspace(1, 3, len(k)),
            }
        )
    )


def test_one_sided_recording_gives_nan_with_a_reason() -> None:
    candles, px, t = _synthetic()
    k = np.arange(1200, 1500, 4)
    check = model_check(candles, _liqs(t, px, k, np.full(len(k), "SELL")), n_boot=50)
    short = check.metrics[check.metrics["side"] == "short"].set_index("metric")
    for m in ("partial_spearman", "spearman_model", "spearman_baseline", "difference"):
        assert math.isnan(short.loc[m, "value"])
        assert "recorded short liquidations are the same in every candle" in short.loc[m, "note"]
    assert "No recorded short events" in short.loc["location_lift", "note"]
    assert any("short" in n and "same in every candle" in n for n in check.notes)
    assert math.isfinite(check.value("long", "spearman_baseline"))
    assert check.value("short", "events") == 0


def test_per_candle_totals_and_inputs_untouched() -> None:
    candles, px, t = _synthetic()
    k = np.arange(1200, 1500, 3)
    ev = _liqs(t, px, k, np.where(k % 2 == 0, "SELL", "BUY"))
    c0, e0 = candles.copy(), ev.copy()
    check = model_check(candles, ev, n_boot=0)
    assert_frame_equal(candles, c0)
    assert_frame_equal(ev, e0)
    pc = check.per_candle
    assert set(pc.columns) >= {"open_time", "window", "side", "predicted_usd", "baseline_usd", "realised_usd"}
    for side in ("long", "short"):
        s = pc[pc["side"] == side]
        assert s["realised_usd"].sum() == pytest.approx(ev.loc[ev["side"] == side, "notional_usd"].sum())
        assert s["events"].sum() == (ev["side"] == side).sum()
        assert (s["events_in_zone"] <= s["events"]).all()
        assert s["zone_cover_share"].between(0, 1).all()
    # baseline definition
    first = pc[pc["side"] == "long"].iloc[0]
    row = candles[candles["open_time"] == first["open_time"]].iloc[0]
    assert first["baseline_usd"] == pytest.approx(max(row["open"] - row["low"], 0) * row["volume"])
    assert math.isnan(check.metrics.set_index(["side", "metric"]).loc[("long", "partial_spearman"), "ci_low"])
    assert set(check.metrics["metric"]) == set(METRIC_LABELS)


def test_bootstrap_is_deterministic_with_a_seed() -> None:
    candles, px, t = _synthetic()
    k = np.arange(1100, 1500, 2)
    ev = _liqs(t, px, k, np.where(k % 4 == 0, "SELL", "BUY"))
    a = model_check(candles, ev, n_boot=200, seed=7)
    b = model_check(candles, ev, n_boot=200, seed=7)
    c = model_check(candles, ev, n_boot=200, seed=8)
    assert_frame_equal(a.metrics, b.metrics)
    ci = a.metrics[a.metrics["metric"] == "spearman_baseline"]
    assert np.isfinite(ci[["ci_low", "ci_high"]].to_numpy()).all()
    assert (ci["ci_low"] <= ci["value"]).all() and (ci["value"] <= ci["ci_high"]).all()
    assert not a.metrics["ci_low"].fillna(0).equals(c.metrics["ci_low"].fillna(0))


def test_explicit_windows_and_inclusion() -> None:
    candles, px, t = _synthetic()
    k = np.arange(1200, 1500, 3)
    ev = _liqs(t, px, k, np.where(k % 2 == 0, "SELL", "BUY"))
    start, end = t[1300], t[1349] + pd.Timedelta("4min")
    check = model_check(candles, ev, windows=[(start, end)], n_boot=0)
    assert check.windows["n_candles"].tolist() == [50]
    inside = (ev["time"] >= start) & (ev["time"] <= end)
    assert check.windows["n_events"].tolist() == [int(inside.sum())]
    assert any("outside the windows" in n for n in check.notes)
    frame_windows = pd.DataFrame({"start": [start], "end": [end]})
    again = model_check(candles, ev, windows=frame_windows, n_boot=0)
    assert_frame_equal(check.metrics, again.metrics)


@pytest.mark.parametrize("scale", [{"inflow_share": 0.37}, {"levered_share": 0.5}])
def test_usd_scale_does_not_move_rank_statistics(scale) -> None:
    # with the position lifetime held fixed, inflow_share and levered_share only scale every USD figure
    candles, px, t = _synthetic()
    k = np.arange(1200, 1500, 3)
    ev = _liqs(t, px, k, np.where(k % 2 == 0, "SELL", "BUY"))
    base = ModelConfig(position_half_life_hours=40.0)
    a = model_check(candles, ev, base, n_boot=0)
    b = model_check(candles, ev, base.with_(**scale), n_boot=0)
    corr = ["partial_spearman", "spearman_model", "location_lift"]
    va = a.metrics[a.metrics["metric"].isin(corr)]["value"].to_numpy()
    vb = b.metrics[b.metrics["metric"].isin(corr)]["value"].to_numpy()
    assert np.allclose(va, vb, equal_nan=True)


def test_boundary_errors() -> None:
    candles, px, t = _synthetic()
    k = np.arange(1200, 1300, 3)
    ev = _liqs(t, px, k, np.full(len(k), "SELL"))
    two = pd.concat([ev, ev.assign(symbol="OTHERUSDT")], ignore_index=True)
    with pytest.raises(DataValidationError, match="several symbols"):
        model_check(candles, two)
    with pytest.raises(DataValidationError, match="no BTCUSDT events"):
        model_check(candles, ev, symbol="BTCUSDT")
    with pytest.raises(DataValidationError, match="no events"):
        model_check(candles, ev.iloc[:0])
    late = ev.assign(time=ev["time"] + pd.Timedelta(days=60))
    with pytest.raises(DataValidationError, match="do not cover"):
        model_check(candles, late)
    with pytest.raises(DataValidationError, match="load_liquidations"):
        model_check(candles, pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------------------------------------------------
# real data: the built-in Dec 2024 BTCUSDT record
# ---------------------------------------------------------------------------------------------------------
def test_real_dec_2024_record(data_dir: Path) -> None:
    candles = _candles(data_dir / KLINES)
    ev = load_liquidations(data_dir / DEC)
    check = model_check(candles, ev, n_boot=200, seed=0)
    assert check.symbol == "BTCUSDT"
    assert check.warmup >= pd.Timedelta(days=2)
    assert int(check.windows["n_events"].sum()) == len(ev)  # every event lies in a candle of its window
    m = check.metrics.set_index(["side", "metric"])["value"]
    for side in ("long", "short"):
        assert m[(side, "events")] == (ev["side"] == side).sum()
        assert m[(side, "notional_usd")] == pytest.approx(ev.loc[ev["side"] == side, "notional_usd"].sum())
        assert m[(side, "candles")] == 407
        for metric in ("partial_spearman", "spearman_model", "spearman_baseline", "location_lift"):
            assert math.isfinite(m[(side, metric)])
        # the model tracks real liquidations: clearly positive rank correlation
        assert m[(side, "spearman_model")] > 0.2
    table = check.table()
    assert table["metric"].tolist()[0] == "partial_spearman"
    assert {"long_ci_low", "short_ci_high"} <= set(table.columns)
