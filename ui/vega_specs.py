"""The market pages' still charts as plain Vega-Lite specs: the asymmetry gauge, the liquidation map and the
still heatmap (with its HTML export).

Each builder returns a :class:`VegaSpec`: the spec with its data by name, and the frames behind the names.
Building one is a few dict literals and pandas columns, so the cached layer (``ui.cache``) can build it on a
cold start in milliseconds, and a rerun only draws it (:func:`draw`). (Building the same charts through
Altair's object model took 0.1-0.2 s each, most of it deep copies and schema validation, and that was most
of a cold rerun.) The cached layer keeps the frames as Arrow bytes (:func:`as_arrow`), so a rerun sends them
as they are.

Colours come from ``liq._palette`` and tooltip text from ``liq._format`` (each chart's frame carries the
formatted labels), so the numbers read as they do in the tables and on the chart. Only axis ticks are
formatted by Vega, in the same style (``$1.5K``, ``$2.5M``, ``$1.2B``; prices with comma separators).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from altair import SCHEMA_URL, VEGA_VERSION, VEGAEMBED_VERSION, VEGALITE_VERSION
from altair.utils.html import spec_to_html
from streamlit import dataframe_util

import liq
from liq._chart_payload import downsample_grid
from liq._format import format_price, format_usd_many, price_decimals
from liq._palette import (
    HEATMAP_RAMP,
    HEATMAP_TOP_QUANTILE,
    LONG_COLOUR,
    NEUTRAL_COLOUR,
    PRICE_COLOUR,
    SHORT_COLOUR,
)

__all__ = [
    "USD_AXIS",
    "VegaSpec",
    "as_arrow",
    "draw",
    "gauge",
    "heatmap",
    "heatmap_frame",
    "html_download",
    "liquidation_map",
    "spec_html",
    "usd_axis",
]

#: Vega label expression: SI "k" and "G" read as "K" and "B" for money, as ``liq._format.format_usd`` writes them.
USD_AXIS = "replace(replace(datum.label, 'G', 'B'), 'k', 'K')"
#: The chart menu of the still heatmap: export (PNG / SVG) only.
EXPORT_ACTIONS = {"export": True, "source": False, "compiled": False, "editor": False}
#: At most this many cells in the still heatmap (time × price blocks).
HEATMAP_MAX_CELLS = 15_000
#: The still heatmap's price range: the candles' range plus this much (%), so it is not mostly empty.
HEATMAP_PAD_PCT = 4.0
#: Close-price points drawn over the still heatmap (every n-th candle beyond this).
CLOSE_LINE_POINTS = 1_500
#: Steps of the asymmetry gauge's colour band.
GAUGE_STEPS = 40
#: The liquidation map's price windows (± % of the last price) and the one shown first.
MAP_WINDOWS_PCT = (3, 5, 10, 20)
MAP_DEFAULT_WINDOW_PCT = 10


@dataclass(frozen=True)
class VegaSpec:
    """A chart: its Vega-Lite spec with data by name (``{"data": {"name": ...}}``), and the named frames
    (DataFrames, or the Arrow bytes Streamlit sends, see :func:`as_arrow`)."""

    spec: dict[str, Any]
    frames: dict[str, pd.DataFrame | bytes] = field(default_factory=dict)


def as_arrow(spec: VegaSpec | None) -> VegaSpec | None:
    """``spec`` with its frames already converted to Arrow IPC bytes, by Streamlit's own converter (the one
    ``st.vega_lite_chart`` would run on every rerun); the cached layer keeps this form."""
    if spec is None:
        return None
    frames: dict[str, pd.DataFrame | bytes] = {
        name: f if isinstance(f, bytes) else dataframe_util.convert_anything_to_arrow_bytes(f)
        for name, f in spec.frames.items()
    }
    return VegaSpec(spec.spec, frames)


def draw(spec: VegaSpec, where: Any = None) -> None:
    """Draw a chart at the full width of ``where`` (a container; the page by default)."""
    target = st if where is None else where
    target.vega_lite_chart({**spec.spec, "datasets": dict(spec.frames)}, width="stretch")


def _top(layers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"$schema": SCHEMA_URL, "layer": layers, **extra}  # Altair's: the Vega-Lite Streamlit renders


def _q(name: str, **kw: Any) -> dict[str, Any]:
    return {"field": name, "type": "quantitative", **kw}


def _n(name: str, **kw: Any) -> dict[str, Any]:
    return {"field": name, "type": "nominal", **kw}


def _tip(name: str, title: str) -> dict[str, Any]:
    return _n(name, title=title)


def usd_axis(**kw: Any) -> dict[str, Any]:
    """An axis of USD amounts in the app's compact style."""
    return {"format": "$~s", "labelExpr": USD_AXIS, **kw}


def _price_axis(price: float) -> dict[str, Any]:
    return {"format": f",.{price_decimals(price)}~f"}


def _labels(values: pd.Series | np.ndarray, fmt: Callable[[float], str]) -> np.ndarray:
    """``fmt`` of every value, formatting each distinct value once (a heatmap's cells share their price rows,
    and half of them have no longs or no shorts)."""
    distinct, where = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True)
    return np.array([fmt(float(v)) for v in distinct], dtype=object)[where.ravel()]


# --- gauge -------------------------------------------------------------------------------------------------
def gauge(asymmetry: float) -> VegaSpec:
    """A small horizontal gauge from −1 (downward pull) to +1 (upward pull) with a marker at ``asymmetry``."""
    steps = np.linspace(-1, 1, GAUGE_STEPS + 1)
    band = pd.DataFrame({"x": steps[:-1], "x2": steps[1:], "mid": (steps[:-1] + steps[1:]) / 2})
    ok = math.isfinite(asymmetry)
    marker = pd.DataFrame(
        {
            "x": [float(np.clip(asymmetry, -1, 1)) if ok else 0.0],
            "label": [f"{asymmetry:+.2f}" if ok else "n/a"],
        }
    )
    colour = {"domain": [-1, 0, 1], "range": [LONG_COLOUR, NEUTRAL_COLOUR, SHORT_COLOUR]}
    bar = {
        "data": {"name": "band"},
        "mark": {"type": "rect", "height": 10},
        "encoding": {
            "x": _q("x", scale={"domain": [-1, 1]}, axis={"values": [-1, 0, 1], "title": None}),
            "x2": {"field": "x2"},
            "color": _q("mid", scale=colour, legend=None),
            "tooltip": {"value": None},
        },
    }
    point = {
        "data": {"name": "marker"},
        "mark": {
            "type": "point",
            "shape": "triangle-down",
            "size": 160,
            "filled": True,
            "color": "white",
            "yOffset": -9,
        },
        "encoding": {"x": _q("x"), "tooltip": _tip("label", "Asymmetry (estimate)")},
    }
    return VegaSpec(_top([bar, point], height=42), {"band": band, "marker": marker})


# --- liquidation map ---------------------------------------------------------------------------------------
#: The map's sides and the names of their cumulative curves (also the legend), in the same order.
SIDES = ("long", "short")
CURVES = ("Cumulative longs (below)", "Cumulative shorts (above)")


def _map_frames(est: liq.Estimate, lo: float, hi: float) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Bars (profile rows inside the window) and cumulative curves from the price outwards."""
    prof = est.profile
    if prof is None or len(prof) == 0:
        return None
    low, high, usd = (prof[k].to_numpy(dtype=float) for k in ("bin_low", "bin_high", "notional_usd"))
    keep = np.flatnonzero((high > lo) & (low < hi) & (usd > 0))
    if len(keep) == 0:
        return None
    # numpy columns, one frame each (the profile has a few hundred rows: pandas' per-operation cost was most
    # of the time)
    d = price_decimals(est.last_price)
    low, high, usd = low[keep], high[keep], usd[keep]
    leverage = prof["leverage"].to_numpy()[keep]
    side = prof["side"].to_numpy(dtype=object)[keep]
    mid = (low + high) / 2
    bars = pd.DataFrame(
        {
            "bin_low": low,
            "bin_high": high,
            "side": prof["side"].array.take(keep),
            "leverage": leverage,
            "notional_usd": usd,
            "mid": mid,
            "tier": _labels(leverage, lambda x: f"{x:g}x"),
            "from_label": _labels(low, lambda v: format_price(v, d)),
            "to_label": _labels(high, lambda v: format_price(v, d)),
            "usd_label": format_usd_many(usd),
        }
    )
    parts = [_curve(mid[side == s], usd[side == s], s) for s in SIDES]
    curve_mid = np.concatenate([p[0] for p in parts])
    cum = np.concatenate([p[2] for p in parts])
    n = [len(p[0]) for p in parts]
    curves = pd.DataFrame(
        {
            "side": np.repeat(np.array(SIDES, dtype=object), n),
            "mid": curve_mid,
            "notional_usd": np.concatenate([p[1] for p in parts]),
            "cum": cum,
            "curve": np.repeat(np.array(CURVES, dtype=object), n),
            "price_label": _labels(curve_mid, lambda v: format_price(v, d)),
            "cum_label": format_usd_many(cum),
        }
    )
    return bars, curves


def _curve(mid: np.ndarray, usd: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Price bins of one side, their USD and its running total from the price outwards (longs: downwards)."""
    bins, where = np.unique(mid, return_inverse=True)
    per_bin = np.bincount(where.ravel(), weights=usd, minlength=len(bins))
    if side == "long":
        bins, per_bin = bins[::-1], per_bin[::-1]
    return bins, per_bin, np.cumsum(per_bin)


def _map_bars(tiers: list[str], x: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"name": "bars"},
        "mark": {"type": "bar", "opacity": 0.9},
        "encoding": {
            "x": x,
            "x2": {"field": "bin_high"},
            "y": _q("notional_usd", aggregate="sum", title="Est. USD per price bin", axis=usd_axis()),
            "color": _n(
                "tier",
                title="Leverage",
                sort=tiers,
                scale={"scheme": "plasma", "domain": tiers},
                legend={"orient": "top"},
            ),
            "order": _q("leverage"),
            "tooltip": [
                _tip("side", "Side"),
                _tip("tier", "Leverage"),
                _tip("from_label", "From"),
                _tip("to_label", "To"),
                _tip("usd_label", "Est. USD (this tier)"),
            ],
        },
    }


def _price_rule() -> dict[str, Any]:
    rule = {
        "mark": {"type": "rule", "color": PRICE_COLOUR, "strokeDash": [4, 3], "strokeWidth": 2},
        "encoding": {"x": _q("price"), "tooltip": _tip("label", "Current price")},
    }
    text = {
        "mark": {"type": "text", "color": PRICE_COLOUR, "align": "left", "dx": 4, "dy": -4}
        | {"baseline": "top", "fontWeight": "bold"},
        "encoding": {"x": _q("price"), "y": {"value": 0}, "text": _n("label")},
    }
    return {"data": {"name": "price"}, "layer": [rule, text]}


def _map_curves(domain: list[float]) -> dict[str, Any]:
    return {
        "data": {"name": "curves"},
        "mark": {"type": "line", "strokeWidth": 2, "interpolate": "step-after"},
        "encoding": {
            "x": _q("mid", scale={"domain": domain, "nice": False}),
            "y": _q("cum", title="Cumulative est. USD", axis=usd_axis(orient="right")),
            "color": _n(
                "curve",
                title=None,
                scale={"domain": list(CURVES), "range": [LONG_COLOUR, SHORT_COLOUR]},
                legend={"orient": "bottom"},
            ),
            "tooltip": [
                _tip("curve", "Curve"),
                _tip("price_label", "Price"),
                _tip("cum_label", "Cumulative est. USD"),
            ],
        },
    }


def liquidation_map(est: liq.Estimate, window_pct: float = MAP_DEFAULT_WINDOW_PCT) -> VegaSpec | None:
    """Bars of estimated USD per price bin stacked by leverage tier, cumulative curves, current-price rule;
    None when nothing is estimated inside ``window_pct`` of the last price."""
    price = float(est.last_price)
    lo, hi = price * (1 - window_pct / 100), price * (1 + window_pct / 100)
    frames = _map_frames(est, lo, hi)
    if frames is None:
        return None
    bars, curves = frames
    tiers = [f"{t:g}x" for t in sorted(bars["leverage"].unique())]
    x = _q("bin_low", title="Price", scale={"domain": [lo, hi], "nice": False}, axis=_price_axis(price))
    rule = pd.DataFrame({"price": [price], "label": [f"Last {format_price(price)}"]})
    spec = _top(
        [{"layer": [_map_bars(tiers, x), _price_rule()]}, _map_curves([lo, hi])],
        height=380,
        resolve={"scale": {"y": "independent", "color": "independent"}},
    )
    return VegaSpec(spec, {"bars": bars, "price": rule, "curves": curves})


# --- heatmap -----------------------------------------------------------------------------------------------
def _price_window(est: liq.Estimate, edges: np.ndarray, pad_pct: float) -> tuple[int, int]:
    """First and last (exclusive) price bin inside the candles' range plus ``pad_pct``."""
    lo = float(est.candles["low"].min()) * (1 - pad_pct / 100)
    hi = float(est.candles["high"].max()) * (1 + pad_pct / 100)
    p0 = max(int(np.searchsorted(edges, lo, side="right")) - 1, 0)
    p1 = min(int(np.searchsorted(edges, hi, side="left")), len(edges) - 1)
    return (p0, p1) if p1 > p0 else (0, len(edges) - 1)


def _candle_step(est: liq.Estimate) -> pd.Timedelta:
    if len(est.candles) > 1:
        return pd.Timedelta(pd.to_datetime(est.candles["open_time"]).diff().median())
    return pd.Timedelta(minutes=1)


def heatmap_frame(
    est: liq.Estimate,
    *,
    max_cells: int = HEATMAP_MAX_CELLS,
    colour_threshold: float = 0.0,
    pad_pct: float = HEATMAP_PAD_PCT,
) -> pd.DataFrame:
    """Pre-bin the heatmap into at most ``max_cells`` (time × price) cells, in numpy.

    The chart payload's down-sampling is reused: time blocks average the columns (the grid is a state, alive
    notional, not a flow) and price blocks sum bins. The price range is cropped to the candles' range plus
    ``pad_pct`` so the picture is not mostly empty. Cells below ``colour_threshold`` × the top cell are dropped.
    """
    hm = est.heatmap
    edges = np.asarray(hm.price_edges, dtype=float)
    p0, p1 = _price_window(est, edges, pad_pct)
    n_t, n_p = len(hm.times), p1 - p0
    # aim for roughly 2 time cells per price cell, within the budget
    p_blocks = int(max(10, min(n_p, math.sqrt(max_cells / 2))))
    row_factor = max(1, math.ceil(n_p / p_blocks))
    n_rows = -(-n_p // row_factor)
    t_blocks = int(max(1, min(n_t, max_cells // n_rows)))
    col_index = (np.arange(n_t) * t_blocks) // max(n_t, 1)
    long_c, _ = downsample_grid(
        np.asarray(hm.long_usd, dtype=float)[:, p0:p1], col_index, t_blocks, row_factor
    )
    short_c, _ = downsample_grid(
        np.asarray(hm.short_usd, dtype=float)[:, p0:p1], col_index, t_blocks, row_factor
    )
    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(hm.times), utc=True)).tz_localize(None)
    starts = np.searchsorted(col_index, np.arange(t_blocks))
    ends = np.searchsorted(col_index, np.arange(t_blocks), side="right") - 1
    row_lo = edges[p0 + np.arange(n_rows) * row_factor]
    row_hi = edges[np.minimum(p0 + (np.arange(n_rows) + 1) * row_factor, p1)]
    ti, ri = np.meshgrid(np.arange(t_blocks), np.arange(n_rows), indexing="ij")
    frame = pd.DataFrame(
        {
            "t0": np.asarray(times[starts])[ti.ravel()],
            "t1": np.asarray(times[ends] + _candle_step(est))[ti.ravel()],
            "p0": row_lo[ri.ravel()],
            "p1": row_hi[ri.ravel()],
            "long_usd": long_c.ravel(),
            "short_usd": short_c.ravel(),
        }
    )
    frame["total_usd"] = frame["long_usd"] + frame["short_usd"]
    top = float(frame["total_usd"].max()) if len(frame) else 0.0
    return frame[frame["total_usd"] > max(top * float(colour_threshold), 0.0)].reset_index(drop=True)


def _labelled(frame: pd.DataFrame, price: float) -> pd.DataFrame:
    d = price_decimals(price)
    return frame.assign(
        p0_label=_labels(frame["p0"], lambda v: format_price(v, d)),
        p1_label=_labels(frame["p1"], lambda v: format_price(v, d)),
        long_label=format_usd_many(frame["long_usd"]),
        short_label=format_usd_many(frame["short_usd"]),
    )


def _close_frame(est: liq.Estimate) -> pd.DataFrame:
    """Every n-th close (at most about :data:`CLOSE_LINE_POINTS`), picked before anything is converted."""
    c = est.candles
    d = price_decimals(est.last_price)
    every = slice(None, None, max(1, len(c) // CLOSE_LINE_POINTS))
    close = c["close"].to_numpy(dtype=np.float64)[every]
    return pd.DataFrame(
        {
            "t": pd.to_datetime(c["open_time"].iloc[every]).dt.tz_localize(None).to_numpy(),
            "close": close,
            "close_label": _labels(close, lambda v: format_price(v, d)),
        }
    )


def heatmap_scale(top: float) -> dict[str, Any]:
    """The heatmap's colour scale up to ``top`` USD: the ramp the interactive chart draws with."""
    return {
        "domain": [t * top for t, _ in HEATMAP_RAMP],
        "range": [c for _, c in HEATMAP_RAMP],
        "clamp": True,
    }


def _cells(top: float, price: float) -> dict[str, Any]:
    tips = [("p0_label", "Price from"), ("p1_label", "Price to")]
    tips += [("long_label", "Longs (est. USD)"), ("short_label", "Shorts (est. USD)")]
    legend = {"format": "$~s", "orient": "right", "gradientLength": 220, "labelExpr": USD_AXIS}
    return {
        "data": {"name": "cells"},
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "t0", "type": "temporal", "title": "Time (UTC)"},
            "x2": {"field": "t1"},
            "y": _q("p0", title="Price", scale={"zero": False, "nice": False}, axis=_price_axis(price)),
            "y2": {"field": "p1"},
            "color": _q("total_usd", title="Est. USD", scale=heatmap_scale(top), legend=legend),
            "tooltip": [
                {"field": "t0", "type": "temporal", "title": "From (UTC)", "format": "%Y-%m-%d %H:%M"},
                *(_tip(f, t) for f, t in tips),
            ],
        },
    }


def _close_line() -> dict[str, Any]:
    return {
        "data": {"name": "close"},
        "mark": {"type": "line", "color": "white", "strokeWidth": 1.2, "opacity": 0.9},
        "encoding": {
            "x": {"field": "t", "type": "temporal"},
            "y": _q("close"),
            "tooltip": [{"field": "t", "type": "temporal", "title": "Time"}, _tip("close_label", "Close")],
        },
    }


def heatmap(
    est: liq.Estimate,
    *,
    max_cells: int = HEATMAP_MAX_CELLS,
    colour_threshold: float = 0.0,
    height: int = 520,
) -> VegaSpec | None:
    """The still heatmap (pre-binned) with the close-price line, tooltips and PNG/SVG export in its menu;
    None when no cell is above ``colour_threshold``."""
    frame = heatmap_frame(est, max_cells=max_cells, colour_threshold=colour_threshold)
    if len(frame) == 0:
        return None
    # the chart's colour scale: the ramp of liq._palette, its top at the same quantile (clamped)
    top = float(np.quantile(frame["total_usd"], HEATMAP_TOP_QUANTILE)) or float(frame["total_usd"].max())
    embed = {"actions": EXPORT_ACTIONS, "downloadFileName": f"{est.symbol or 'liq'}_liquidation_heatmap"}
    spec = _top([_cells(top, est.last_price), _close_line()], height=height, usermeta={"embedOptions": embed})
    return VegaSpec(spec, {"cells": _labelled(frame, est.last_price), "close": _close_frame(est)})


# --- HTML export -------------------------------------------------------------------------------------------
def spec_html(spec: VegaSpec, *, width: int = 1100) -> str:
    """A standalone HTML page of ``spec`` (its frames as DataFrames) with the data inline; its ⋯ menu exports
    PNG and SVG.

    Opening it loads the Vega libraries from their public CDN, in the user's browser (Altair's page template).
    """
    values = {
        name: json.loads(frame.to_json(orient="records", date_format="iso"))
        for name, frame in spec.frames.items()
        if isinstance(frame, pd.DataFrame)
    }
    full = {**spec.spec, "width": width, "datasets": values}
    return spec_to_html(
        full,
        "vega-lite",
        vega_version=VEGA_VERSION,
        vegaembed_version=VEGAEMBED_VERSION,
        vegalite_version=VEGALITE_VERSION,
        embed_options={"actions": EXPORT_ACTIONS},
    )


def html_download(make_spec: Callable[[], VegaSpec | None], name: str) -> None:
    """Offer the chart ``make_spec`` builds as a standalone HTML file (Streamlit's own chart toolbar offers PNG
    only, so SVG comes from this file). It is built only when the button is clicked (the page is a few MB)."""

    def page() -> bytes:
        spec = make_spec()
        return b"" if spec is None else spec_html(spec).encode("utf-8")

    st.download_button(
        "Download as interactive HTML (PNG / SVG export inside)",
        page,
        file_name=f"{name}.html",
        mime="text/html",
        icon=":material/download:",
        key=f"html_{name}",
        on_click="ignore",
    )
