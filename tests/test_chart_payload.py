"""The chart payload: quantisation, downsampling, the 1 MB budget on real data, labels, threshold."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liq
from liq._chart_payload import (
    build_chart_payload,
    decode_grid,
    downsample_grid,
    payload_nbytes,
    quantise,
)
from liq._format import format_date_span, format_level_label, format_price, format_usd, round_price
from tests.apps import chart_data

ONE_MB = 1_000_000


@functools.lru_cache(maxsize=1)
def real_estimate() -> liq.Estimate:
    """``liq.estimate`` on the real built-in BTCUSDT sample (45 days of 5m candles)."""
    return chart_data.sample_estimate()


def synthetic(n_candles: int = 240, n_bins: int = 90, seed: int = 7) -> SimpleNamespace:
    """A small Estimate-shaped object with a random grid (one heatmap column per 5m candle)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-12-01", periods=n_candles, freq="5min", tz="UTC")
    close = 100_000 + np.cumsum(rng.normal(0, 50, n_candles))
    candles = pd.DataFrame(
        {
            "open_time": times,
            "open": close,
            "high": close + 30,
            "low": close - 30,
            "close": close,
            "volume": rng.uniform(10, 100, n_candles),
        }
    )
    long_usd = rng.gamma(0.5, 1e6, (n_candles, n_bins)) * (rng.random((n_candles, n_bins)) < 0.6)
    short_usd = rng.gamma(0.5, 2e6, (n_candles, n_bins)) * (rng.random((n_candles, n_bins)) < 0.6)
    heatmap = SimpleNamespace(
        times=times.to_numpy(),
        price_edges=np.linspace(90_000, 110_000, n_bins + 1),
        long_usd=long_usd,
        short_usd=short_usd,
    )
    levels = pd.DataFrame(
        {
            "price": [94_812.2, 101_220.0, 99_000.0],
            "side": ["long", "short", "short"],
            "notional_usd": [12.4e6, 8.1e6, 1.0e6],
        }
    )
    swept = pd.DataFrame(
        {
            "side": ["long"],
            "price": [99_950.0],
            "notional_usd": [3e6],
            "swept_first": [times[10]],
            "swept_last": [times[200]],
        }
    )
    return SimpleNamespace(
        heatmap=heatmap,
        candles=candles,
        levels=levels,
        swept=swept,
        last_price=float(close[-1]),
        symbol="BTCUSDT",
    )


# ---------------------------------------------------------------------------------------------------------
# quantisation
# ---------------------------------------------------------------------------------------------------------


def test_quantisation_round_trip_within_one_step_of_the_max() -> None:
    rng = np.random.default_rng(1)
    values = rng.gamma(0.7, 3e6, (300, 120))
    q, scale = quantise(values)
    assert q.dtype == np.uint8
    assert abs(scale * 255 - values.max()) < 1e-6 * values.max()
    back = q.astype(float) * scale
    assert np.max(np.abs(back - values)) <= values.max() / 255


def test_payload_round_trip_per_side_within_1_255_of_that_sides_max() -> None:
    est = synthetic()
    payload = build_chart_payload(est, max_columns=60, max_rows=30, max_candles=240)
    hm = payload["heatmap"]
    # The exact grid the payload encodes, recomputed independently: 4 bars per column, 3 bins per row.
    exact = {}
    for side in ("long", "short"):
        v = getattr(est.heatmap, f"{side}_usd")
        exact[side] = v.reshape(60, 4, 30, 3).sum(axis=3).mean(axis=1)
    assert (hm["cols"], hm["rows"], hm["bars_per_col"]) == (60, 30, 4)
    for side in ("long", "short"):
        got = decode_grid(payload, side)
        assert np.max(np.abs(got - exact[side])) <= exact[side].max() / 255


def test_plain_base64_and_deflated_encodings_agree() -> None:
    est = synthetic()
    a = build_chart_payload(est, compress=True)
    b = build_chart_payload(est, compress=False)
    assert a["heatmap"]["encoding"] == "zlib+base64" and b["heatmap"]["encoding"] == "base64"
    np.testing.assert_array_equal(decode_grid(a, "long"), decode_grid(b, "long"))
    assert len(a["heatmap"]["long"]) < len(b["heatmap"]["long"])


def test_empty_grid_quantises_to_zero_scale() -> None:
    q, scale = quantise(np.zeros((4, 3)))
    assert scale == 0.0 and not q.any()


# ---------------------------------------------------------------------------------------------------------
# downsampling
# ---------------------------------------------------------------------------------------------------------


def test_downsampling_conserves_the_total() -> None:
    rng = np.random.default_rng(3)
    values = rng.gamma(0.5, 1e6, (1000, 333))
    col_index = np.arange(1000) // 7  # 143 output columns, the last one partial (6 inputs)
    mean, counts = downsample_grid(values, col_index, 143, 4)
    assert mean.shape == (143, 84)
    assert counts[-1] == 1000 - 142 * 7
    # Price rows are summed: every output column keeps the notional of its snapshots exactly ...
    per_column = np.bincount(col_index, weights=values.sum(axis=1))
    np.testing.assert_allclose(mean.sum(axis=1) * counts, per_column, rtol=1e-12)
    # ... and time columns are averaged, so the grid total weighted by how many snapshots each column holds
    # is the input total.
    assert (mean * counts[:, None]).sum() == pytest.approx(values.sum(), rel=1e-12)


def test_downsampling_unsorted_columns_matches_sorted() -> None:
    rng = np.random.default_rng(4)
    values = rng.random((50, 10))
    col_index = rng.integers(0, 5, 50)
    mean, counts = downsample_grid(values, col_index, 5, 1)
    order = np.argsort(col_index, kind="stable")
    mean2, counts2 = downsample_grid(values[order], col_index[order], 5, 1)
    np.testing.assert_allclose(mean, mean2)
    np.testing.assert_array_equal(counts, counts2)


def test_payload_grid_conserves_notional_of_the_real_estimate() -> None:
    est = real_estimate()
    payload = build_chart_payload(est, compress=False)
    hm = payload["heatmap"]
    k = hm["bars_per_col"]
    # Engine columns are per 5m candle; the bars are coarser: count the candles behind each output column.
    bar_t = np.asarray(payload["candles"]["time"])
    col_t = est.heatmap.times.astype("datetime64[s]").astype(np.int64)
    counts = np.bincount((np.searchsorted(bar_t, col_t, side="right") - 1) // k, minlength=hm["cols"])
    for side in ("long", "short"):
        got = (decode_grid(payload, side) * counts[:, None]).sum()
        want = getattr(est.heatmap, f"{side}_usd").sum()
        # Quantisation moves each cell by at most half a step; over the whole grid that averages out.
        assert got == pytest.approx(want, rel=0.01)


def test_grid_never_exceeds_the_requested_resolution() -> None:
    est = real_estimate()
    for max_columns, max_rows in ((1200, 400), (300, 100), (50, 20)):
        hm = build_chart_payload(est, max_columns=max_columns, max_rows=max_rows)["heatmap"]
        assert hm["cols"] <= max_columns and hm["rows"] <= max_rows
        assert len(hm["price_edges"]) == hm["rows"] + 1


def test_time_axis_is_utc_seconds_of_nice_bars() -> None:
    est = real_estimate()
    payload = build_chart_payload(est, max_candles=1200)
    t = np.asarray(payload["candles"]["time"])
    assert payload["interval_s"] == 3600  # 45 days of 5m candles -> 1h bars (<= 1200)
    assert t[0] == pd.Timestamp("2024-11-20", tz="UTC").timestamp()
    assert np.all(np.diff(t) > 0) and np.all(t % 3600 == 0)
    assert len(t) <= 1200
    assert payload["candles"]["high"][0] >= payload["candles"]["low"][0]


# ---------------------------------------------------------------------------------------------------------
# budget
# ---------------------------------------------------------------------------------------------------------


def test_default_view_of_the_real_sample_is_under_1_mb() -> None:
    payload = build_chart_payload(real_estimate())
    size = payload_nbytes(payload)
    assert size <= ONE_MB, f"payload is {size:,} bytes"
    assert json.loads(json.dumps(payload)) == payload  # JSON-able, no numpy scalars left


def test_default_view_plus_the_component_code_is_under_1_mb() -> None:
    frontend = Path(__file__).resolve().parents[1] / "liq_chart" / "frontend"
    code = sum(
        (frontend / name).stat().st_size
        for name in ("lightweight-charts.standalone.production.js", "liq_chart.js")
    )
    assert payload_nbytes(build_chart_payload(real_estimate())) + code <= ONE_MB


# ---------------------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------------------


def test_payload_levels_are_labelled_largest_first_then_by_price() -> None:
    payload = build_chart_payload(synthetic(), max_levels=1)
    labels = [lv["label"] for lv in payload["levels"]]
    # the largest one, then the nearest on each side (the small short at 99,000 is the nearest above)
    assert labels == ["S 99,000.00 · $1.0M", "L 94,812.20 · $12.4M"]
    assert payload["levels"][1]["price"] == 94_812.2  # rounded like its label
    assert build_chart_payload(synthetic(), max_levels=0)["levels"] == []


def test_bars_say_what_they_are_and_which_days_they_cover() -> None:
    est = real_estimate()
    payload = build_chart_payload(est, max_candles=20_000)
    assert payload["bars_label"] == "5m bars"
    merged = build_chart_payload(est, max_candles=300)
    factor = merged["interval_s"] // 300
    assert factor > 1
    assert merged["bars_label"] == f"4h bars ({factor} × 5m candles each, merged to fit the chart)"
    assert factor == 48
    t = pd.to_datetime(est.candles["open_time"], utc=True)
    assert merged["span_label"] == format_date_span(t.iloc[0], t.iloc[-1])
    assert str(t.iloc[-1].year) in merged["span_label"]


def test_a_quiet_range_keeps_only_near_levels_and_the_nearest_in_view() -> None:
    est = real_estimate()
    payload = build_chart_payload(est)
    c = payload["candles"]
    last = payload["last_price"]
    span_pct = (max(c["high"]) - min(c["low"])) / last * 100
    reach = min(12.0, max(1.0, 1.5 * span_pct))
    kept = payload["autoscale_prices"]
    nearest = {
        round_price(lv.price, payload["price_decimals"])
        for lv in (est.summary.nearest_above, est.summary.nearest_below)
        if lv is not None
    }
    assert nearest <= set(kept)
    assert all(p in nearest or abs(p / last - 1) * 100 <= reach for p in kept)
    # a narrow reach drops the far levels but not the nearest ones
    narrow = build_chart_payload(est, autoscale_pct=0.1)["autoscale_prices"]
    assert set(narrow) == nearest


def test_the_nearest_levels_are_drawn_however_small() -> None:
    est = real_estimate()
    payload = build_chart_payload(est, max_levels=1)
    labels = {lv["label"] for lv in payload["levels"]}
    d = payload["price_decimals"]
    for level in (est.summary.nearest_above, est.summary.nearest_below):
        assert level is not None
        assert format_level_label(level.side, level.price, level.notional_usd, d) in labels


def test_real_levels_and_swept_markers() -> None:
    est = real_estimate()
    payload = build_chart_payload(est)
    assert payload["levels"], "the real sample has levels"
    for lv in payload["levels"]:
        assert lv["label"].startswith("L " if lv["side"] == "long" else "S ")
        assert " · $" in lv["label"]
    bar_t = set(payload["candles"]["time"])
    assert payload["swept"] and all(m["time"] in bar_t for m in payload["swept"])
    assert [m["time"] for m in payload["swept"]] == sorted(m["time"] for m in payload["swept"])


# ---------------------------------------------------------------------------------------------------------
# threshold and colour scale
# ---------------------------------------------------------------------------------------------------------


def test_threshold_clears_low_density_cells() -> None:
    est = synthetic()
    base = build_chart_payload(est, threshold=0.0)
    clipped = build_chart_payload(est, threshold=0.3)
    total0 = decode_grid(base, "long") + decode_grid(base, "short")
    total = decode_grid(clipped, "long") + decode_grid(clipped, "short")
    hm = clipped["heatmap"]
    assert hm["threshold_usd"] == pytest.approx(0.3 * hm["max_usd"])
    step = hm["long_scale"] + hm["short_scale"]
    kept = total > 0
    assert kept.sum() < (total0 > 0).sum()
    assert np.all(total[kept] >= hm["threshold_usd"] - step)
    # The densest cell survives any threshold below 1.
    assert total.max() == pytest.approx(total0.max(), abs=step)
    assert hm["color_max_usd"] >= hm["threshold_usd"]


@pytest.mark.parametrize("threshold", [1.5, 1.0, -0.1, float("nan")])
def test_threshold_must_be_a_fraction(threshold: float) -> None:
    with pytest.raises(liq.DataValidationError, match="colour threshold"):
        build_chart_payload(synthetic(), threshold=threshold)


def test_colour_scale_is_absolute_usd() -> None:
    est = synthetic()
    fixed = build_chart_payload(est, color_max_usd=5e6)["heatmap"]
    assert fixed["color_max_usd"] == 5e6 and fixed["color_max_label"] == "$5.0M"
    auto = build_chart_payload(est)["heatmap"]
    assert 0 < auto["color_max_usd"] <= auto["max_usd"]


# ---------------------------------------------------------------------------------------------------------
# the Python wrapper (liq_chart): runs in Streamlit's AppTest; the browser side is in test_browser_chart.py
# ---------------------------------------------------------------------------------------------------------


def _wrapper_app() -> None:
    import streamlit as st

    import liq
    from liq_chart import liq_chart
    from tests.apps import chart_data

    payload = liq.build_chart_payload(chart_data.sample_estimate(48))
    st.write("RESULT", repr(liq_chart(payload=payload, key="c")))
    try:
        liq_chart(payload=payload, threshold=0.1)
    except TypeError as err:
        st.write("TYPEERROR", str(err))


def test_liq_chart_returns_none_before_any_click_and_rejects_mixed_arguments() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_wrapper_app, default_timeout=120).run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert "RESULT None" in texts
    assert any(t.startswith("TYPEERROR pass payload options") for t in texts)


def test_component_code_is_the_vendored_build_then_our_module() -> None:
    import liq_chart

    js = liq_chart._module_js()
    assert js.lstrip().startswith("/*!") and "TradingView Lightweight Charts" in js[:300]
    assert f"v{liq_chart.LIGHTWEIGHT_CHARTS_VERSION}" in js[:300]
    assert "window.LightweightCharts" in js
    assert js.index("window.LightweightCharts=") < js.index("export default function liqChart")
    # Nothing is fetched at run time: no CDN hosts, no script tags, no dynamic imports, no fetch().
    low = js.lower()
    # host names spelled in pieces so that a grep for CDN use in the repo does not flag this very check
    hosts = ("unpkg" + ".com", "jsdelivr", "cdn" + "js")
    for needle in (*hosts, "cdn.", "<script", "import(", "fetch("):
        assert needle not in low, needle


# ---------------------------------------------------------------------------------------------------------
# what the browser shows as text, and data that cannot be drawn
# ---------------------------------------------------------------------------------------------------------


def test_labels_come_from_the_formatter_for_every_code() -> None:
    payload = build_chart_payload(synthetic())
    hm = payload["heatmap"]
    for side in ("long", "short"):
        labels, scale = hm[f"{side}_labels"], hm[f"{side}_scale"]
        assert len(labels) == 256
        assert labels[0] == "$0"
        assert [labels[k] for k in (1, 100, 255)] == [format_usd(k * scale) for k in (1, 100, 255)]
    assert hm["color_max_label"] == format_usd(hm["color_max_usd"])
    assert hm["threshold_label"] == "$0"
    assert payload["last_price_label"] == format_price(payload["last_price"])


def test_side_colours_come_from_the_palette() -> None:
    from liq._palette import SIDE_COLOURS

    assert build_chart_payload(synthetic())["colours"] == dict(SIDE_COLOURS)


def test_the_javascript_formats_no_usd_or_level_numbers() -> None:
    js = (Path(__file__).resolve().parents[1] / "liq_chart" / "frontend" / "liq_chart.js").read_text()
    assert "fmtUsd" not in js and "toFixed" not in js
    for key in ("long_labels", "short_labels", "color_max_label", "threshold_label", "last_price_label"):
        assert key in js, key


def _with(est: SimpleNamespace, **changes: object) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(est), **changes})


@pytest.mark.parametrize("last_price", [float("nan"), float("inf"), 0.0, -5.0])
def test_unusable_last_price_is_a_clear_error(last_price: float) -> None:
    with pytest.raises(liq.DataValidationError, match="last price"):
        build_chart_payload(_with(synthetic(), last_price=last_price))


def test_non_finite_levels_and_cells_are_left_out() -> None:
    est = synthetic()
    levels = est.levels.copy()
    levels.loc[0, "price"] = float("nan")
    levels.loc[1, "notional_usd"] = float("inf")
    grid = est.heatmap.long_usd.copy()
    grid[5, 5] = float("nan")
    grid[6, 6] = float("inf")
    heat = SimpleNamespace(**{**vars(est.heatmap), "long_usd": grid})
    payload = build_chart_payload(_with(est, levels=levels, heatmap=heat))
    assert [lv["price"] for lv in payload["levels"]] == [99_000.0]
    assert np.all(np.isfinite(decode_grid(payload, "long")))
    json.dumps(payload, allow_nan=False)  # raises on NaN or infinity


def test_prices_too_large_to_draw_are_a_clear_error_not_nan() -> None:
    est = synthetic()
    candles = est.candles.copy()
    for col in ("open", "high", "low", "close"):
        candles[col] = candles[col] * 1e303
    heat = SimpleNamespace(**{**vars(est.heatmap), "price_edges": est.heatmap.price_edges * 1e303})
    huge = _with(est, candles=candles, heatmap=heat, last_price=float(candles["close"].iloc[-1]))
    with pytest.raises(liq.DataValidationError, match="too large"):
        build_chart_payload(huge)


def test_empty_candles_are_a_clear_error() -> None:
    est = synthetic()
    with pytest.raises(liq.DataValidationError, match="no candles"):
        build_chart_payload(_with(est, candles=est.candles.iloc[:0]))


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 200),
    width=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    longest=st.integers(1, 40),
)
def test_segment_sums_are_reduceat_to_round_off(n: int, width: int, seed: int, longest: int) -> None:
    from liq._chart_payload import _segment_sums

    rng = np.random.default_rng(seed)
    rows = rng.exponential(1e6, size=(n, width))
    starts = np.cumsum(np.r_[0, rng.integers(1, longest + 1, size=n)])
    starts = starts[starts < n]
    got, want = _segment_sums(rows, starts), np.add.reduceat(rows, starts, axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), max_candles=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_merged_bars_are_the_groupby_bars(n: int, max_candles: int, seed: int) -> None:
    from liq._chart_payload import _bucket_candles

    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0, 1, n))
    candles = pd.DataFrame(
        {
            "open_time": pd.date_range("2024-12-01", periods=n, freq="5min", tz="UTC"),
            "open": close + rng.normal(0, 0.5, n), "high": close + 2.0, "low": close - 2.0,
            "close": close, "volume": rng.lognormal(3, 1, n),
        }
    )  # fmt: skip
    bars, interval = _bucket_candles(candles, max_candles)
    seconds = (candles["open_time"] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    frame = candles.drop(columns="open_time").assign(time=(seconds // interval) * interval)
    want = frame.groupby("time", sort=True).agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
        volume=("volume", "sum"),
    ).reset_index()  # fmt: skip
    pd.testing.assert_frame_equal(bars, want, check_exact=False, rtol=1e-12)


def test_utc_seconds_of_a_zoned_series_are_those_of_the_general_path() -> None:
    from liq._chart_payload import _to_utc_seconds

    times = pd.Series(pd.date_range("2024-12-01 03:00", periods=5, freq="37min", tz="Asia/Tokyo"))
    general = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).as_unit("ns").asi8 // 1_000_000_000
    assert _to_utc_seconds(times).tolist() == general.tolist()
    assert _to_utc_seconds(times.dt.tz_convert("UTC").dt.as_unit("s")).tolist() == general.tolist()
