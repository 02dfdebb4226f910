"""The JSON-able payload that ``liq_chart`` (the lightweight-charts component) draws.

Pure numpy/pandas: this module never imports streamlit, so the payload can be built, cached and tested
without a browser.

What goes over the wire, and why it is small:

* **Candles** are re-bucketed to a "nice" interval (5m, 15m, 1h, 4h, ...) so that at most
  ``max_candles`` bars are sent; the volume pane uses the same bars. Times are UTC seconds, which is
  what lightweight-charts expects.
* **The heatmap grid** is reduced to at most ``max_columns`` × ``max_rows`` cells, aligned to the bars
  (every column covers the same number of bars, so the browser can stretch one image over the time
  axis). Along the price axis neighbouring bins are **summed**, which keeps the notional of every
  snapshot exactly. Along the time axis neighbouring snapshots are **averaged**: each engine column is
  a snapshot of the notional alive at that moment, so summing snapshots would multiply the USD by the
  merge factor and the hover readout would lie. The mean keeps the USD × time integral (the "total"
  of the grid weighted by how long each snapshot lasts) exactly.
* Each side is quantised to ``uint8`` with its own scale factor (USD per step, so the round trip is
  within half a step, i.e. 1/510 of the side's maximum), deflated with zlib and base64-encoded.
  The browser inflates it with ``DecompressionStream``.

The colour scale is in absolute USD: ``color_max_usd`` is the total (long + short) USD that gets the
top colour, and cells whose total is below ``threshold`` × the grid maximum are cleared (the
"liquidity threshold" of common heatmap tools).

Every number the browser shows as text (level labels, the last price, the colour-scale ends, the USD of a
hovered cell, via one label per quantisation step) is written here by :mod:`liq._format`, and the side
colours come from :mod:`liq._palette`. The payload never carries NaN or infinity: what cannot be drawn
raises :class:`~liq.DataValidationError` with a plain message instead.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ._errors import DataValidationError
from ._format import (
    format_date_span,
    format_level_label,
    format_level_short,
    format_price,
    format_usd,
    format_usd_many,
    price_decimals,
    round_price,
)
from ._palette import HEATMAP_RAMP, HEATMAP_TOP_QUANTILE, SIDE_COLOURS
from ._sources._common import utc_ns

__all__ = [
    "drawn_levels",
    "DEFAULT_MAX_CANDLES",
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_ROWS",
    "build_chart_payload",
    "decode_grid",
    "downsample_grid",
    "payload_nbytes",
    "quantise",
]

#: Defaults sized for a wide Streamlit page (~1,300 CSS px of plot width, ~450 px of price pane).
DEFAULT_MAX_COLUMNS = 1200
DEFAULT_MAX_ROWS = 400
DEFAULT_MAX_CANDLES = 1200

#: Bar intervals (seconds) the candles may be re-bucketed to, smallest first.
_NICE_INTERVALS_S = (
    60,
    180,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    21600,
    28800,
    43200,
    86400,
    3 * 86400,
    7 * 86400,
)

_QMAX = 255  # uint8


class _HeatmapLike(Protocol):
    @property
    def times(self) -> Any: ...  # (C,) datetime64[ns, UTC]
    @property
    def price_edges(self) -> Any: ...  # (P+1,) float
    @property
    def long_usd(self) -> Any: ...  # (C, P) float
    @property
    def short_usd(self) -> Any: ...  # (C, P) float


class _EstimateLike(Protocol):
    @property
    def heatmap(self) -> _HeatmapLike: ...
    @property
    def candles(self) -> pd.DataFrame: ...
    @property
    def levels(self) -> pd.DataFrame: ...
    @property
    def swept(self) -> pd.DataFrame: ...
    @property
    def last_price(self) -> float: ...
    @property
    def symbol(self) -> str | None: ...


# --------------------------------------------------------------------------------------------------
# Grid helpers
# --------------------------------------------------------------------------------------------------


def _to_utc_seconds(values: Any) -> np.ndarray:
    """UTC epoch seconds (int64) from tz-aware/naive datetimes, Timestamps or a DatetimeIndex."""
    return utc_ns(values) // 1_000_000_000


def _pick_interval(base_s: int, span_s: int, max_bars: int) -> int:
    """Smallest nice bar interval (a multiple of the data's own interval) giving at most ``max_bars``."""
    for cand in _NICE_INTERVALS_S:
        if cand < base_s or cand % base_s:
            continue
        if span_s // cand + 1 <= max_bars:
            return cand
    # Fall back to a plain multiple of the base interval.
    return int(base_s * max(1, math.ceil((span_s // base_s + 1) / max_bars)))


def _bucket_candles(candles: pd.DataFrame, max_candles: int) -> tuple[pd.DataFrame, int]:
    """Candles re-bucketed to a nice interval so that at most ``max_candles`` bars remain."""
    t = _to_utc_seconds(candles["open_time"])
    if len(t) == 0:
        raise DataValidationError("The estimate has no candles, so there is no chart to draw.")
    diffs = np.diff(t)
    diffs = diffs[diffs > 0]
    base = int(np.median(diffs)) if len(diffs) else 60
    interval = _pick_interval(base, int(t[-1] - t[0]), max(1, int(max_candles)))
    bucket = (t // interval) * interval
    cols = {k: candles[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close", "volume")}
    if bool(np.all(np.diff(bucket) >= 0)) and all(bool(np.isfinite(v).all()) for v in cols.values()):
        return _merge_runs(bucket, cols), interval
    frame = pd.DataFrame({"time": bucket, **cols})
    bars = frame.groupby("time", sort=True).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    bars = bars.reset_index()
    return bars, interval


def _merge_runs(bucket: np.ndarray, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """The bars of candles already in time order (finite numbers): each run of one bucket merged, as the
    ``groupby`` fallback merges them (first open, highest high, lowest low, last close, summed volume),
    without its cost. A candle alone in its bucket is copied as it is."""
    starts = np.flatnonzero(np.r_[True, np.diff(bucket) > 0])
    if len(starts) == len(bucket):  # nothing to merge (the usual case)
        return pd.DataFrame({"time": bucket, **cols})
    ends = np.r_[starts[1:], len(bucket)] - 1
    return pd.DataFrame(
        {
            "time": bucket[starts],
            "open": cols["open"][starts],
            "high": np.maximum.reduceat(cols["high"], starts),
            "low": np.minimum.reduceat(cols["low"], starts),
            "close": cols["close"][ends],
            "volume": np.add.reduceat(cols["volume"], starts),
        }
    )


#: zlib level of the heatmap codes: 6 is 3x faster than 9 on a 1000 x 500 grid for 2 % more bytes.
ZLIB_LEVEL = 6


def _segment_sums(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sums of the runs of ``rows`` that begin at ``starts``: ``np.add.reduceat(rows, starts, axis=0)`` to
    round-off, made one pass per position in a run (runs are a few rows long here, and ``reduceat`` along the
    first axis of a strided grid took 4 ms of a 30 ms payload).

    >>> _segment_sums(np.arange(10.0).reshape(5, 2), np.array([0, 1, 4])).tolist()
    [[0.0, 1.0], [12.0, 15.0], [8.0, 9.0]]
    """
    lengths = np.diff(np.append(starts, len(rows)))
    sums = rows[starts]
    for j in range(1, int(lengths.max()) if len(lengths) else 0):
        longer = np.flatnonzero(lengths > j)
        sums[longer] += rows[starts[longer] + j]
    return sums


def _group_sums(groups: np.ndarray) -> np.ndarray:
    """``groups.sum(axis=2)`` for groups of two or more values, one strided add per position in a group
    (numpy's reduction over a last axis of 2-4 values is several times slower). In the same order, so the
    same numbers for fewer than 8 values per group (numpy adds those one after the other too).

    >>> _group_sums(np.arange(12.0).reshape(2, 2, 3)).tolist()
    [[3.0, 12.0], [21.0, 30.0]]
    """
    out = np.add(groups[:, :, 0], groups[:, :, 1])
    for j in range(2, groups.shape[2]):
        out += groups[:, :, j]
    return out


def downsample_grid(
    values: np.ndarray, col_index: np.ndarray, n_cols: int, row_factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge a (C, P) grid into (n_cols, ceil(P / row_factor)) cells.

    ``col_index`` (C,) gives the output column of every input column (−1 = drop). Rows are summed in
    groups of ``row_factor`` (the grid is zero-padded at the top so every group is full); columns are
    averaged. Returns ``(mean, counts)`` where ``counts`` is how many input columns fed each output column,
    so ``(mean * counts[:, None]).sum() == values[kept].sum()``.

    >>> v = np.arange(12, dtype=float).reshape(4, 3)
    >>> mean, counts = downsample_grid(v, np.array([0, 0, 1, 1]), 2, 2)
    >>> mean.tolist(), counts.tolist()
    ([[4.0, 3.5], [16.0, 9.5]], [2, 2])
    """
    values = np.asarray(values, dtype=np.float64)
    n_in, p = values.shape
    col_index = np.asarray(col_index, dtype=np.int64)
    rf = max(1, int(row_factor))
    n_rows = -(-p // rf)
    pad = n_rows * rf - p
    if pad:
        values = np.concatenate([values, np.zeros((n_in, pad))], axis=1)
    # one bin per row, every column kept (the usual case): the grid is read as it is, without copies
    rows_summed = values if rf == 1 else _group_sums(values.reshape(n_in, n_rows, rf))
    keep = (col_index >= 0) & (col_index < n_cols)
    every = bool(keep.all())
    idx = col_index if every else col_index[keep]
    kept = rows_summed if every else rows_summed[keep]
    counts = np.bincount(idx, minlength=n_cols)[:n_cols]
    if idx.size and bool(np.all(np.diff(idx) >= 0)):
        # Sorted (the usual case: columns in time order): one reduceat instead of a scatter-add, written
        # straight into the result when every output column has an input (no zeroed grid, no copy).
        starts = np.flatnonzero(np.r_[True, np.diff(idx) > 0])
        sums = _segment_sums(kept, starts)
        if len(starts) == n_cols:
            out = sums
        else:
            out = np.zeros((n_cols, n_rows))
            out[idx[starts]] = sums
    else:
        out = np.zeros((n_cols, n_rows))
        if idx.size:
            np.add.at(out, idx, kept)
    np.divide(out, counts[:, None], out=out, where=counts[:, None] > 0)
    return out, counts


def quantise(values: np.ndarray) -> tuple[np.ndarray, float]:
    """``uint8`` codes and the USD per code step (``0.0`` when the grid is empty).

    >>> q, scale = quantise(np.array([0.0, 1.0, 2.55]))
    >>> q.tolist(), round(scale, 4)
    ([0, 100, 255], 0.01)
    """
    vmax = float(np.max(values)) if values.size else 0.0
    if not math.isfinite(vmax) or vmax <= 0:
        return np.zeros(values.shape, dtype=np.uint8), 0.0
    scale = vmax / _QMAX
    q = np.clip(np.rint(values / scale), 0, _QMAX).astype(np.uint8)
    return q, scale


def _encode(q: np.ndarray, compress: bool) -> str:
    raw = np.ascontiguousarray(q, dtype=np.uint8).tobytes()
    if compress:
        raw = zlib.compress(raw, ZLIB_LEVEL)
    return base64.b64encode(raw).decode("ascii")


def decode_grid(payload: dict[str, Any], side: str) -> np.ndarray:
    """The (cols, rows) USD grid of one side as the browser will see it (for tests and debugging)."""
    hm = payload["heatmap"]
    raw = base64.b64decode(hm[side])
    if hm["encoding"] == "zlib+base64":
        raw = zlib.decompress(raw)
    q = np.frombuffer(raw, dtype=np.uint8).reshape(hm["cols"], hm["rows"])
    return q.astype(np.float64) * float(hm[f"{side}_scale"])


def payload_nbytes(payload: dict[str, Any]) -> int:
    """Size of the payload as JSON (what Streamlit sends to the browser)."""
    return len(json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def _round_list(values: Any, decimals: int) -> list[float]:
    return [float(x) for x in np.round(np.asarray(values, dtype=np.float64), decimals)]


def _code_labels(scale: float) -> list[str]:
    """The USD text of every quantisation code of one side (the browser's hover readout shows these)."""
    return list(format_usd_many(np.arange(_QMAX + 1) * scale))


# --------------------------------------------------------------------------------------------------
# The payload, piece by piece
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GridOptions:
    """The grid options of :func:`build_chart_payload` (see its parameters)."""

    max_columns: int
    max_rows: int
    threshold: float
    color_max_usd: float | None
    color_quantile: float
    compress: bool


@dataclass(frozen=True)
class _Bars:
    """The candles as drawn: re-bucketed bars, their interval (seconds) and the price decimals."""

    frame: pd.DataFrame
    times_s: np.ndarray
    interval_s: int
    decimals: int


@dataclass(frozen=True)
class _Rows:
    """How the engine's price bins map onto the payload's rows."""

    long_usd: np.ndarray  # (C, P') after trimming empty rows
    short_usd: np.ndarray
    factor: int  # engine bins per payload row
    uniform: bool
    edges: np.ndarray  # (rows + 1,) price edges of the payload rows


@dataclass(frozen=True)
class _Columns:
    """How the engine's columns map onto the payload's columns (each covers ``bars_per_col`` bars)."""

    index: np.ndarray  # (C,) output column of each engine column, -1 = outside the bars
    count: int
    bars_per_col: int


def _check_options(threshold: float, max_columns: int, max_rows: int, max_candles: int) -> None:
    if not 0.0 <= float(threshold) < 1.0:
        raise DataValidationError(
            f"The colour threshold is a fraction of the densest cell, from 0 up to (not including) 1; "
            f"got {float(threshold):g}."
        )
    if min(max_columns, max_rows, max_candles) < 1:
        raise DataValidationError("max_columns, max_rows and max_candles must be at least 1.")


def _bars(est: _EstimateLike, max_candles: int) -> _Bars:
    last_price = float(est.last_price)
    if not math.isfinite(last_price) or last_price <= 0:
        raise DataValidationError("The estimate has no usable last price, so there is no chart to draw.")
    frame, interval = _bucket_candles(est.candles, max_candles)
    return _Bars(frame, frame["time"].to_numpy(dtype=np.int64), interval, price_decimals(last_price))


#: Heatmap rows per median bar height: coarse bars (1h, 4h) get rows about half a bar tall, so positions
#: opened across a bar's range read as a band, not as a barcode of one-bin lines.
ROWS_PER_BAR_RANGE = 2.0
#: Bars at least this long (seconds) are coarse: their rows follow the bar height (finer bars keep every bin).
COARSE_BAR_S = 3600


def _bar_factor(bars: _Bars, edges: np.ndarray) -> int:
    """How many heatmap bins make one drawn row, so a row is about 1/ROWS_PER_BAR_RANGE of a median bar."""
    if bars.interval_s < COARSE_BAR_S:
        return 1
    height = (bars.frame["high"] - bars.frame["low"]).to_numpy(dtype=np.float64)
    height = height[np.isfinite(height) & (height > 0)]
    step = float(np.median(np.diff(edges))) if len(edges) > 1 else 0.0
    if height.size == 0 or step <= 0:
        return 1
    return max(1, int(float(np.median(height)) / ROWS_PER_BAR_RANGE / step))


def _rows(hm: _HeatmapLike, n_times: int, max_rows: int, min_factor: int = 1) -> _Rows:
    long_usd = np.asarray(hm.long_usd, dtype=np.float64)
    short_usd = np.asarray(hm.short_usd, dtype=np.float64)
    edges = np.asarray(hm.price_edges, dtype=np.float64)
    if long_usd.shape != short_usd.shape or long_usd.shape != (n_times, len(edges) - 1):
        raise DataValidationError(
            f"The heatmap's shapes disagree (long {long_usd.shape}, short {short_usd.shape}, {n_times} times, "
            f"{len(edges)} price edges), so it cannot be drawn."
        )
    if not np.all(np.isfinite(edges)):
        raise DataValidationError("The heatmap's price axis holds numbers too large to draw.")
    # Trim price rows that are empty in every column (they would only cost bytes).
    occupied = np.flatnonzero(long_usd.any(axis=0) | short_usd.any(axis=0))
    lo, hi = (int(occupied[0]), int(occupied[-1]) + 1) if occupied.size else (0, len(edges) - 1)
    long_usd, short_usd, edges = long_usd[:, lo:hi], short_usd[:, lo:hi], edges[lo : hi + 1]
    p_in = len(edges) - 1
    factor = max(1, min_factor, math.ceil(p_in / max_rows))
    n_rows = -(-p_in // factor)
    steps = np.diff(edges)
    uniform = bool(np.allclose(steps, steps.mean(), rtol=1e-6, atol=0)) if p_in else True
    if uniform:
        step = float(steps.mean()) * factor if p_in else 1.0
        out_edges = edges[0] + step * np.arange(n_rows + 1)
    else:
        padded = np.concatenate([edges, np.full(n_rows * factor - p_in, edges[-1])])
        out_edges = np.append(padded[::factor][:n_rows], edges[-1])
    return _Rows(long_usd, short_usd, factor, uniform, out_edges)


def _columns(bars: _Bars, col_t: np.ndarray, max_columns: int) -> _Columns:
    n_bars = len(bars.times_s)
    bars_per_col = max(1, math.ceil(n_bars / max_columns))
    # Output column of every engine column: the bar that contains its start time, grouped.
    bar_of_col = np.searchsorted(bars.times_s, col_t, side="right") - 1
    in_range = (bar_of_col >= 0) & (col_t < bars.times_s[-1] + bars.interval_s)
    index = np.where(in_range, bar_of_col // bars_per_col, -1).astype(np.int64)
    return _Columns(index, -(-n_bars // bars_per_col), bars_per_col)


def _clean(grid: np.ndarray) -> np.ndarray:
    """A NaN, infinite or negative cell clears its output cell."""
    return np.where(np.isfinite(grid) & (grid > 0), grid, 0.0)


def _hold_gaps(long_m: np.ndarray, short_m: np.ndarray, counts: np.ndarray) -> None:
    """Engine columns coarser than the bars leave gaps: a snapshot holds until the next one (in place)."""
    if not (len(counts) and (counts == 0).any() and (counts > 0).any()):
        return
    filled = np.maximum.accumulate(np.where(counts > 0, np.arange(len(counts)), -1))
    gap = np.flatnonzero((filled >= 0) & (counts == 0))  # the other columns hold their own snapshot
    long_m[gap] = long_m[filled[gap]]
    short_m[gap] = short_m[filled[gap]]


def _colour_top(
    total: np.ndarray, threshold_usd: float, color_max_usd: float | None, quantile: float
) -> float:
    if color_max_usd is None:
        nonzero = total[total > 0]
        top = float(np.quantile(nonzero, quantile)) if nonzero.size else 0.0
    else:
        top = float(color_max_usd)
    grid_max = float(total.max()) if total.size else 0.0
    top = max(top, threshold_usd, 1e-9 if grid_max > 0 else 0.0)
    return top if math.isfinite(top) else grid_max


def _heatmap(est: _EstimateLike, bars: _Bars, opts: _GridOptions) -> dict[str, Any]:
    hm = est.heatmap
    col_t = _to_utc_seconds(hm.times)
    rows = _rows(
        hm, len(col_t), opts.max_rows, _bar_factor(bars, np.asarray(hm.price_edges, dtype=np.float64))
    )
    cols = _columns(bars, col_t, opts.max_columns)
    long_m, counts = downsample_grid(rows.long_usd, cols.index, cols.count, rows.factor)
    short_m, _ = downsample_grid(rows.short_usd, cols.index, cols.count, rows.factor)
    long_m, short_m = _clean(long_m), _clean(short_m)
    _hold_gaps(long_m, short_m, counts)
    total = long_m + short_m
    grid_max = float(total.max()) if total.size else 0.0
    if not math.isfinite(grid_max):
        raise DataValidationError("The heatmap holds amounts too large to draw.")
    threshold = float(opts.threshold)
    threshold_usd = threshold * grid_max
    if threshold_usd > 0:
        clear = total < threshold_usd
        long_m[clear] = 0.0
        short_m[clear] = 0.0
        total = long_m + short_m
    q_long, long_scale = quantise(long_m)
    q_short, short_scale = quantise(short_m)
    color_top = _colour_top(total, threshold_usd, opts.color_max_usd, opts.color_quantile)
    compress = opts.compress
    return {
        "cols": int(cols.count),
        "rows": int(len(rows.edges) - 1),
        "bars_per_col": int(cols.bars_per_col),
        "uniform_rows": rows.uniform,
        "price_edges": _round_list(rows.edges, bars.decimals + 2),
        "encoding": "zlib+base64" if compress else "base64",
        "long": _encode(q_long, compress),
        "short": _encode(q_short, compress),
        "long_scale": long_scale,
        "short_scale": short_scale,
        "long_labels": _code_labels(long_scale),
        "short_labels": _code_labels(short_scale),
        "max_usd": grid_max,
        "threshold": threshold,
        "threshold_usd": threshold_usd,
        "threshold_label": format_usd(threshold_usd),
        "color_max_usd": color_top,
        "color_max_label": format_usd(color_top),
    }


def _finite_rows(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """The rows of ``frame`` whose ``columns`` are all finite numbers (None when nothing is left)."""
    if frame is None or len(frame) == 0:
        return None
    ok = np.ones(len(frame), dtype=bool)
    for column in columns:
        ok &= np.isfinite(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64))
    kept = frame[ok]
    return kept if len(kept) else None


def drawn_levels(lv: pd.DataFrame, last_price: float, max_levels: int) -> pd.DataFrame:
    """The ``max_levels`` largest levels plus the nearest long below and short above the price.

    The nearest two are the ones the page's header names (:func:`liq._levels` picks them by the same rule),
    so they are always drawn and labelled, however small they are.
    """
    lv = lv.reset_index(drop=True)
    chosen = list(lv["notional_usd"].astype(float).sort_values(ascending=False).index[: int(max_levels)])
    prices, sides = lv["price"].to_numpy(dtype=float), lv["side"].to_numpy(dtype=object)
    for side, beyond in (("long", prices <= last_price), ("short", prices >= last_price)):
        rows = np.flatnonzero((sides == side) & beyond)
        if rows.size:
            chosen.append(int(rows[np.argmin(np.abs(prices[rows] - last_price))]))
    return lv.take(list(dict.fromkeys(chosen)))  # (row labels are positions after the reset)


def _levels(est: _EstimateLike, decimals: int, max_levels: int) -> list[dict[str, Any]]:
    lv = _finite_rows(est.levels, ("price", "notional_usd"))
    if lv is None or max_levels <= 0:
        return []
    top = drawn_levels(lv, float(est.last_price), max_levels)
    out = [
        {
            # Rounded like the label, so the line, its title and the axis label agree.
            "price": round_price(price, decimals),
            "side": str(side),
            "notional_usd": float(notional),
            "label": format_level_label(str(side), float(price), float(notional), decimals),
            "short_label": format_level_short(str(side), float(notional)),
        }
        for price, side, notional in zip(
            top["price"].to_numpy(dtype=np.float64),
            top["side"].astype(str),
            top["notional_usd"].to_numpy(dtype=np.float64),
            strict=True,
        )
    ]
    return sorted(out, key=lambda d: -d["price"])


def _swept(est: _EstimateLike, bars: _Bars, max_swept: int) -> list[dict[str, Any]]:
    sw = _finite_rows(est.swept, ("price", "notional_usd"))
    if sw is None or max_swept <= 0:
        return []
    top = sw.sort_values("notional_usd", ascending=False).head(int(max_swept))
    prices = top["price"].to_numpy(dtype=np.float64)
    notionals = top["notional_usd"].to_numpy(dtype=np.float64)
    sides = top["side"].astype(str).to_numpy()
    bar_t = bars.times_s
    seen: set[tuple[int, float]] = set()
    out: list[dict[str, Any]] = []
    for column in ("swept_first", "swept_last"):
        if column not in top.columns:
            continue
        idx = np.clip(
            np.searchsorted(bar_t, _to_utc_seconds(top[column]), side="right") - 1, 0, len(bar_t) - 1
        )
        for i, price, side, notional in zip(idx, prices, sides, notionals, strict=True):
            key = (int(bar_t[i]), round_price(price, bars.decimals))
            if key not in seen:
                seen.add(key)
                out.append(
                    {"time": key[0], "price": key[1], "side": str(side), "notional_usd": float(notional)}
                )
    return sorted(out, key=lambda d: d["time"])


def _autoscale_prices(
    levels: list[dict[str, Any]], bars: _Bars, last_price: float, autoscale_pct: float
) -> list[float]:
    """Level prices the price axis keeps in view: the nearest on each side, and those near the candles.

    "Near" is 1.5 times the candles' own high-low span (in percent of the last price, at least 1 %, at most
    ``autoscale_pct``), so a quiet 12-hour range is not squashed into a strip by levels far away.
    """
    span_pct = (float(bars.frame["high"].max()) - float(bars.frame["low"].min())) / last_price * 100
    reach = min(float(autoscale_pct), max(1.0, 1.5 * span_pct))
    nearest = set()
    for side, beyond in (("long", lambda p: p <= last_price), ("short", lambda p: p >= last_price)):
        near = [lv["price"] for lv in levels if lv["side"] == side and beyond(lv["price"])]
        if near:
            nearest.add(min(near, key=lambda p: abs(p - last_price)))
    return [
        lv["price"]
        for lv in levels
        if lv["price"] in nearest or abs(lv["price"] / last_price - 1) * 100 <= reach
    ]


def _interval_label(seconds: int) -> str:
    """``300`` -> ``"5m"``, ``3600`` -> ``"1h"``, ``86400`` -> ``"1d"`` (the names of Binance's intervals)."""
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _bar_labels(est: _EstimateLike, bars: _Bars) -> dict[str, str]:
    """What the bars are (and, when candles were merged to fit, from what) and the days they cover.

    ``bars_label`` reads like ``"15m bars (3 × 5m candles each, merged to fit the chart)"``; ``span_label``
    like ``"16–22 Oct 2025"`` (:func:`liq._format.format_date_span`).
    """
    t = _to_utc_seconds(est.candles["open_time"])
    steps = np.diff(t)
    steps = steps[steps > 0]
    base = int(np.median(steps)) if len(steps) else int(bars.interval_s)
    label = f"{_interval_label(int(bars.interval_s))} bars"
    if base and bars.interval_s != base and bars.interval_s % base == 0:
        merged = f"{bars.interval_s // base} × {_interval_label(base)} candles each"
        label += f" ({merged}, merged to fit the chart)"
    first, last = (pd.Timestamp(int(x), unit="s", tz="UTC") for x in (t[0], t[-1]))
    return {"bars_label": label, "span_label": format_date_span(first, last)}


def _candles(bars: _Bars) -> dict[str, list[Any]]:
    frame, d = bars.frame, bars.decimals + 2
    return {
        "time": [int(x) for x in bars.times_s],
        **{c: _round_list(frame[c], d) for c in ("open", "high", "low", "close")},
        "volume": _round_list(frame["volume"], 3),
    }


def _non_finite_path(value: Any, path: str = "payload") -> str | None:
    """Where the first NaN or infinite number sits in ``value`` (None when there is none).

    >>> _non_finite_path({"a": [1.0, 2], "b": {"c": [0.5, float("nan")]}})
    'payload.b.c[1]'
    """
    keys = _non_finite_keys(value)
    if keys is None:
        return None
    return path + "".join(f".{k}" if isinstance(k, str) else f"[{k}]" for k in keys)


def _non_finite_keys(value: Any) -> list[Any] | None:
    """The keys from ``value`` down to its first non-finite float ([] for the value itself), or None. The
    path is written only once one is found: the payload holds ~100k numbers, nearly always all finite."""
    if isinstance(value, float):
        return None if math.isfinite(value) else []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        try:  # a list of numbers adds up to a finite number only if each of them is finite
            if math.isfinite(sum(value)):
                return None
        except (TypeError, OverflowError):  # not all numbers (or an int too large): look at each
            pass
        items = enumerate(value)
    else:
        return None
    isfinite = math.isfinite
    for key, item in items:
        if type(item) is float:  # the usual leaf, checked without a call
            if isfinite(item):
                continue
            return [key]
        found = _non_finite_keys(item)
        if found is not None:
            return [key, *found]
    return None


def _require_finite(payload: dict[str, Any]) -> None:
    where = _non_finite_path(payload)
    if where is not None:
        raise DataValidationError(
            "The chart cannot draw this data: some prices or amounts are too large or not numbers "
            f"({where.split('[')[0]}). Check the candles, or pick another range or source."
        )


def build_chart_payload(
    est: _EstimateLike,
    *,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_candles: int = DEFAULT_MAX_CANDLES,
    threshold: float = 0.0,
    color_max_usd: float | None = None,
    color_quantile: float = HEATMAP_TOP_QUANTILE,
    max_levels: int = 12,
    max_swept: int = 200,
    autoscale_pct: float = 12.0,
    compress: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """Everything the chart component needs, as plain JSON-able values (never NaN or infinity).

    Parameters
    ----------
    est
        An :class:`~liq.Estimate` (or anything with the same ``heatmap``, ``candles``, ``levels``,
        ``swept``, ``last_price`` and ``symbol`` attributes).
    max_columns, max_rows
        Upper bounds of the grid sent to the browser; about the chart's pixel size is enough.
    max_candles
        Upper bound on the number of bars; candles are re-bucketed to the smallest nice interval that fits.
    threshold
        Fraction (0–1) of the densest cell's total USD below which a cell is cleared (not drawn).
    color_max_usd
        Total USD (long + short) of the top colour. ``None``: the ``color_quantile`` of the non-empty cells,
        so one extreme cell does not turn the rest of the map dark. Cells above it get the top colour.
    color_quantile
        See ``color_max_usd``.
    max_levels
        The largest levels (by notional) drawn as labelled price lines; the nearest long level below and
        short level above the last price are drawn as well (``0``: no level lines at all).
    max_swept
        The largest swept bins (by notional) drawn as faint markers, at the bar of their first and of their
        last sweep.
    autoscale_pct
        The most a level may be from the last price (percent) and still be kept inside the autoscaled price
        range; within that, only levels within 1.5 times the candles' own span are kept, and the nearest level
        on each side always is. Others are drawn but only seen after scrolling the price axis.
    compress
        Deflate the grid bytes before base64 (the browser inflates them); ``False`` sends plain base64.
    title
        Shown in the chart's header (default: the symbol).

    Returns
    -------
    dict
        JSON-able payload (``version`` 2): candles, heatmap, levels, swept markers, labels and colours.

    Raises
    ------
    DataValidationError
        An option is out of range, or the estimate holds nothing drawable (no candles, a last price or
        amounts that are not finite numbers).
    """
    _check_options(threshold, max_columns, max_rows, max_candles)
    # Overflow (prices near the float limit) turns into inf/NaN, which _require_finite reports plainly.
    with np.errstate(over="ignore", invalid="ignore"):
        payload = _payload(
            est,
            bars=_bars(est, max_candles),
            opts=_GridOptions(max_columns, max_rows, threshold, color_max_usd, color_quantile, compress),
            max_levels=max_levels,
            max_swept=max_swept,
            autoscale_pct=autoscale_pct,
            title=title,
        )
    _require_finite(payload)
    return payload


def _payload(
    est: _EstimateLike,
    *,
    bars: _Bars,
    opts: _GridOptions,
    max_levels: int,
    max_swept: int,
    autoscale_pct: float,
    title: str | None,
) -> dict[str, Any]:
    last_price = float(est.last_price)
    levels = _levels(est, bars.decimals, max_levels)
    return {
        "version": 2,
        "symbol": est.symbol,
        "title": title if title is not None else (est.symbol or ""),
        "interval_s": int(bars.interval_s),
        **_bar_labels(est, bars),
        "price_decimals": int(bars.decimals),
        "last_price": last_price,
        "last_price_label": format_price(last_price, bars.decimals),
        "colours": dict(SIDE_COLOURS),
        "colour_ramp": [[t, colour] for t, colour in HEATMAP_RAMP],
        "candles": _candles(bars),
        "heatmap": _heatmap(est, bars, opts),
        "levels": levels,
        "autoscale_prices": _autoscale_prices(levels, bars, last_price, autoscale_pct),
        "swept": _swept(est, bars, max_swept),
    }
