"""The still charts as plain Vega-Lite specs: valid against the schema, every field they encode present in
their data, the numbers those fields carry, the HTML export, and built once per view (cached), not per rerun."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest

import liq
from tests.support.apptest import app_test, fresh_caches  # noqa: F401 (autouse fixture)
from ui import vega_specs
from ui.vega_specs import VegaSpec


@pytest.fixture(scope="module")
def est() -> liq.Estimate:
    end = datetime(2026, 1, 29, tzinfo=timezone.utc)
    data = liq.load_market_data("BTCUSDT", "5m", end - pd.Timedelta(days=7), end, "sample").data
    return liq.estimate(data.candles, symbol=data.symbol, config=liq.ModelConfig(time_columns=1000))


def _views(spec: dict[str, Any], data: str | None = None) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Every unit view of a (layered) spec with the data name it inherits."""
    data = spec.get("data", {}).get("name", data)
    if "layer" in spec:
        for sub in spec["layer"]:
            yield from _views(sub, data)
    else:
        yield data, spec


def _fields(encoding: dict[str, Any]) -> Iterator[str]:
    for channel in encoding.values():
        for item in channel if isinstance(channel, list) else [channel]:
            if isinstance(item, dict) and "field" in item:
                yield item["field"]


def _check(spec: VegaSpec) -> None:
    (alt.LayerChart if "layer" in spec.spec else alt.Chart).from_dict(
        spec.spec
    )  # raises if the schema refuses
    for name, view in _views(spec.spec):
        assert name in spec.frames, f"a layer reads {name!r}, which the spec does not carry"
        missing = set(_fields(view["encoding"])) - set(spec.frames[name].columns)
        assert not missing, f"{name} lacks {missing}"
    for frame in spec.frames.values():
        assert frame.index.equals(pd.RangeIndex(len(frame)))


@pytest.mark.parametrize("asymmetry", [-3.0, -0.25, 0.0, 0.61, math.nan])
def test_the_gauge_is_valid_and_its_marker_stays_on_the_scale(asymmetry: float) -> None:
    spec = vega_specs.gauge(asymmetry)
    _check(spec)
    marker = spec.frames["marker"].iloc[0]
    assert -1.0 <= marker["x"] <= 1.0
    assert marker["label"] == ("n/a" if math.isnan(asymmetry) else f"{asymmetry:+.2f}")


@pytest.mark.parametrize("window_pct", [3.0, 10.0, 20.0])
def test_the_liquidation_map_carries_the_profile_inside_its_window(
    est: liq.Estimate, window_pct: float
) -> None:
    spec = vega_specs.liquidation_map(est, window_pct)
    assert spec is not None
    _check(spec)
    lo, hi = est.last_price * (1 - window_pct / 100), est.last_price * (1 + window_pct / 100)
    prof = est.profile
    inside = prof[(prof["bin_high"] > lo) & (prof["bin_low"] < hi)]
    bars, curves = spec.frames["bars"], spec.frames["curves"]
    assert bars["notional_usd"].sum() == pytest.approx(inside["notional_usd"].sum())
    for side in ("long", "short"):
        cum = curves.loc[curves["side"] == side, "cum"].to_numpy()
        assert np.all(np.diff(cum) >= 0)  # running totals from the price outwards
        assert cum[-1] == pytest.approx(inside.loc[inside["side"] == side, "notional_usd"].sum())
    assert spec.spec["layer"][1]["encoding"]["x"]["scale"]["domain"] == pytest.approx([lo, hi])


def test_the_liquidation_map_is_none_when_nothing_sits_in_the_window(est: liq.Estimate) -> None:
    assert vega_specs.liquidation_map(est, 1e-9) is None


def test_the_still_heatmap_is_valid_and_drops_cells_below_the_threshold(est: liq.Estimate) -> None:
    spec = vega_specs.heatmap(est, colour_threshold=0.2)
    assert spec is not None
    _check(spec)
    cells = spec.frames["cells"]
    assert 0 < len(cells) <= vega_specs.HEATMAP_MAX_CELLS
    assert cells["total_usd"].min() > 0.2 * vega_specs.heatmap_frame(est)["total_usd"].max()
    assert vega_specs.heatmap(est, colour_threshold=1.0) is None


def test_the_html_export_holds_the_data_inline(est: liq.Estimate) -> None:
    spec = vega_specs.heatmap(est)
    assert spec is not None
    html = vega_specs.spec_html(spec)
    assert "vegaEmbed" in html and '"export": true' in html
    start = html.index('"datasets": ') + len('"datasets": ')
    datasets, _ = json.JSONDecoder().raw_decode(html[start:])
    assert len(datasets["cells"]) == len(spec.frames["cells"])
    assert datasets["close"][0]["t"].startswith(str(est.candles["open_time"].iloc[0].date()))


def test_a_rerun_draws_the_cached_charts_without_building_them_again(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    for name in ("gauge", "liquidation_map"):
        real = getattr(vega_specs, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            built.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(vega_specs, name, spy)
    at = app_test({"sym": "ETHUSDT", "range": "3d", "src": "sample"})
    at.run()
    assert not at.exception
    first = sorted(built)
    assert first == ["gauge", "liquidation_map"]
    at.run()
    assert sorted(built) == first  # the second run drew the same charts from the cache
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 2


def test_the_shared_estimate_comes_out_of_every_page_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The estimate is one cached object shared by every session (``st.cache_resource``): no page may
    change it. Every estimate the pages asked for is pickled when made and again after the pages ran."""
    made: list[tuple[liq.Estimate, bytes]] = []
    real = liq.estimate

    def spy(*args: Any, **kwargs: Any) -> liq.Estimate:
        est = real(*args, **kwargs)
        made.append((est, pickle.dumps(est)))
        return est

    monkeypatch.setattr(liq, "estimate", spy)
    at = app_test({"sym": "BTCUSDT", "range": "3d", "src": "sample"})
    at.run()
    at.button_group(key="levels_map_window").set_value(3).run()
    at.switch_page("views/liquidation_heatmap.py").run()
    at.switch_page("views/heatmap_levels.py").run()
    assert not at.exception
    assert made, "the pages estimated nothing"
    for est, before in made:
        assert pickle.dumps(est) == before
        assert not est.heatmap.long_usd.flags.writeable


def test_the_cached_form_carries_arrow_bytes_of_the_same_frames(est: liq.Estimate) -> None:
    import pyarrow as pa

    spec = vega_specs.liquidation_map(est)
    cached = vega_specs.as_arrow(spec)
    assert spec is not None and cached is not None and cached.spec == spec.spec
    for name, frame in spec.frames.items():
        data = cached.frames[name]
        assert isinstance(data, bytes)
        back = pa.ipc.open_stream(data).read_all().to_pandas()
        assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
        np.testing.assert_allclose(back.select_dtypes("number"), frame.select_dtypes("number"))
    assert vega_specs.as_arrow(None) is None


def test_the_model_check_charts_compile_to_valid_specs_with_their_frames() -> None:
    from liq._check.builtin import check_set_d
    from ui import altair_charts

    per = check_set_d(liq.ModelConfig(), "BTCUSDT").per_candle
    for side in ("long", "short"):
        scatter = altair_charts.to_spec(altair_charts.scatter(per, side))
        _check(scatter)
        assert len(scatter.frames["data_0"]) == int((per["side"] == side).sum())
        series = altair_charts.to_spec(altair_charts.timeseries(per, None, side))
        _check(series)
        assert set(series.frames["data_0"]["series"]) == {"Model (estimate)", "Recorded"}


def _pandas_map_frames(est: liq.Estimate, lo: float, hi: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The liquidation map's frames written with pandas operations (the oracle for the numpy-column version)."""
    from liq._format import format_price, format_usd_many, price_decimals

    prof = est.profile
    inside = (prof["bin_high"] > lo) & (prof["bin_low"] < hi) & (prof["notional_usd"] > 0)
    p = prof[inside.to_numpy()].reset_index(drop=True)
    d = price_decimals(est.last_price)
    mid = ((p["bin_low"] + p["bin_high"]) / 2).to_numpy()
    p = p.assign(
        mid=mid,
        tier=[f"{x:g}x" for x in p["leverage"]],
        from_label=[format_price(v, d) for v in p["bin_low"]],
        to_label=[format_price(v, d) for v in p["bin_high"]],
        usd_label=format_usd_many(p["notional_usd"]),
    )
    parts = []
    for side, name in zip(vega_specs.SIDES, vega_specs.CURVES, strict=True):
        m, usd = mid[p["side"].to_numpy() == side], p["notional_usd"].to_numpy()[p["side"].to_numpy() == side]
        bins = np.unique(m)
        per_bin = np.array([usd[m == b].sum() for b in bins])
        if side == "long":
            bins, per_bin = bins[::-1], per_bin[::-1]
        curve = {"side": side, "mid": bins, "notional_usd": per_bin, "cum": np.cumsum(per_bin), "curve": name}
        parts.append(pd.DataFrame(curve))
    curves = pd.concat(parts).reset_index(drop=True)
    curves["price_label"] = [format_price(v, d) for v in curves["mid"]]
    curves["cum_label"] = format_usd_many(curves["cum"])
    return p, curves


@pytest.mark.parametrize("window", [3, 10])
def test_the_map_frames_equal_their_pandas_oracle(window: int) -> None:
    end = datetime(2026, 1, 29, tzinfo=timezone.utc)
    data = liq.load_market_data("ETHUSDT", "15m", end - pd.Timedelta(days=14), end, "sample").data
    est = liq.estimate(data.candles, config=liq.ModelConfig(time_columns=300), symbol="ETHUSDT")
    price = est.last_price
    spec = vega_specs.liquidation_map(est, window)
    assert spec is not None
    bars, curves = _pandas_map_frames(est, price * (1 - window / 100), price * (1 + window / 100))
    pd.testing.assert_frame_equal(spec.frames["bars"], bars)
    pd.testing.assert_frame_equal(spec.frames["curves"], curves, check_exact=False, rtol=1e-12)
