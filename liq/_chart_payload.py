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
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MAX_CANDLES",
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_ROWS",
    "build_chart_payload",
    "decode_grid",
    "format_level_label",
    "format_price",
    "format_usd",
    "payload_nbytes",
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
# Formatting
# --------------------------------------------------------------------------------------------------


def price_decimals(price: float) -> int:
    """Decimals that show about five significant digits, none above 10,000.

    >>> [price_decimals(p) for p in (94812.3, 3412.55, 245.3, 1.2345, 0.000123)]
    [0, 1, 2, 4, 8]
    """
    p = abs(float(price))
    if not math.isfinite(p) or p == 0:
        return 2
    return int(min(8, max(0, 4 - math.floor(math.log10(p)))))


def format_price(price: float, decimals: int | None = None) -> str:
    """A price with thousands separators.

    >>> format_price(94812.4)
    '94,812'
    >>> format_price(3412.55)
    '3,412.6'
    """
    d = price_decimals(price) if decimals is None else decimals
    return f"{float(price):,.{d}f}"


def format_usd(usd: float) -> str:
    """Compact USD: one decimal below 100 units, none above.

    >>> [format_usd(x) for x in (950, 12_400, 8_100_000, 12_449_999, 124_000_000, 2.5e9)]
    ['$950', '$12.4K', '$8.1M', '$12.4M', '$124M', '$2.5B']
    """
    x = float(usd)
    sign = "-" if x < 0 else ""
    x = abs(x)
    if not math.isfinite(x):
        return "—"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= div * 0.9995:
            v = x / div
            if round(v, 1) >= 100:
                return f"{sign}${v:,.0f}{unit}"
            return f"{sign}${v:.1f}{unit}"
    return f"{sign}${x:,.0f}"


def format_level_label(side: str, price: float, notional_usd: float, decimals: int | None = None) -> str:
    """The title of a level line: side letter, price, notional.

    >>> format_level_label("long", 94812.2, 12.4e6)
    'L 94,812 · $12.4M'
    >>> format_level_label("short", 101220, 8.1e6)
    'S 101,220 · $8.1M'
    """
    s = str(side).lower()
    if s not in ("long", "short"):
        raise ValueError(f"side must be 'long' or 'short', got {side!r}")
    letter = "L" if s == "long" else "S"
    return f"{letter} {format_price(price, decimals)} · {format_usd(notional_usd)}"


# --------------------------------------------------------------------------------------------------
# Grid helpers
# --------------------------------------------------------------------------------------------------


def _to_utc_seconds(values: Any) -> np.ndarray:
    """UTC epoch seconds (int64) from tz-aware/naive datetimes, Timestamps or a DatetimeIndex."""
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return np.asarray(idx.as_unit("ns").asi8 // 1_000_000_000, dtype=np.int64)


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
        raise ValueError("the estimate has no candles to draw")
    diffs = np.diff(t)
    diffs = diffs[diffs > 0]
    base = int(np.median(diffs)) if len(diffs) else 60
    interval = _pick_interval(base, int(t[-1] - t[0]), max(1, int(max_candles)))
    bucket = (t // interval) * interval
    frame = pd.DataFrame(
        {
            "time": bucket,
            "open": candles["open"].to_numpy(dtype=float),
            "high": candles["high"].to_numpy(dtype=float),
            "low": candles["low"].to_numpy(dtype=float),
            "close": candles["close"].to_numpy(dtype=float),
            "volume": candles["volume"].to_numpy(dtype=float),
        }
    )
    bars = frame.groupby("time", sort=True).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    bars = bars.reset_index()
    return bars, interval


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
    rows_summed = values.reshape(n_in, n_rows, rf).sum(axis=2)
    keep = (col_index >= 0) & (col_index < n_cols)
    idx = col_index[keep]
    kept = rows_summed[keep]
    out = np.zeros((n_cols, n_rows))
    if idx.size and bool(np.all(np.diff(idx) >= 0)):
        # Sorted (the usual case: columns in time order): one reduceat instead of a scatter-add.
        starts = np.flatnonzero(np.r_[True, np.diff(idx) > 0])
        out[idx[starts]] = np.add.reduceat(kept, starts, axis=0)
    elif idx.size:
        np.add.at(out, idx, kept)
    counts = np.bincount(idx, minlength=n_cols)[:n_cols]
    mean = np.divide(out, counts[:, None], out=np.zeros_like(out), where=counts[:, None] > 0)
    return mean, counts


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
        raw = zlib.compress(raw, 9)
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
    return len(json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def _round_list(values: Any, decimals: int) -> list[float]:
    return [float(x) for x in np.round(np.asarray(values, dtype=np.float64), decimals)]


# --------------------------------------------------------------------------------------------------
# The payload
# --------------------------------------------------------------------------------------------------


def build_chart_payload(
    est: _EstimateLike,
    *,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_candles: int = DEFAULT_MAX_CANDLES,
    threshold: float = 0.0,
    color_max_usd: float | None = None,
    color_quantile: float = 0.995,
    max_levels: int = 12,
    max_swept: int = 200,
    autoscale_pct: float = 12.0,
    compress: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """Everything the chart component needs, as plain JSON-able values.

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
    max_levels
        The largest levels (by notional) drawn as labelled price lines.
    max_swept
        The largest swept bins (by notional) drawn as faint markers, at the bar of their first and of their
        last sweep.
    autoscale_pct
        Levels within this distance (percent of the last price) are kept inside the autoscaled price range;
        farther ones are drawn but only seen after scrolling the price axis.
    compress
        Deflate the grid bytes before base64 (the browser inflates them); ``False`` sends plain base64.
    """
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold is a fraction of the maximum in [0, 1), got {threshold!r}")
    if max_columns < 1 or max_rows < 1 or max_candles < 1:
        raise ValueError("max_columns, max_rows and max_candles must be positive")

    bars, interval = _bucket_candles(est.candles, max_candles)
    bar_t = bars["time"].to_numpy(dtype=np.int64)
    n_bars = len(bar_t)
    last_price = float(est.last_price)
    decimals = price_decimals(last_price)

    # ---- heatmap grid --------------------------------------------------------------------------
    hm = est.heatmap
    long_usd = np.asarray(hm.long_usd, dtype=np.float64)
    short_usd = np.asarray(hm.short_usd, dtype=np.float64)
    edges = np.asarray(hm.price_edges, dtype=np.float64)
    col_t = _to_utc_seconds(hm.times)
    if long_usd.shape != short_usd.shape or long_usd.shape != (len(col_t), len(edges) - 1):
        raise ValueError(
            f"heatmap shapes disagree: long {long_usd.shape}, short {short_usd.shape}, "
            f"{len(col_t)} times, {len(edges)} price edges"
        )
    # Trim price rows that are empty in every column (they would only cost bytes).
    occupied = np.flatnonzero(long_usd.any(axis=0) | short_usd.any(axis=0))
    if occupied.size:
        lo_row, hi_row = int(occupied[0]), int(occupied[-1]) + 1
    else:
        lo_row, hi_row = 0, len(edges) - 1
    long_usd, short_usd = long_usd[:, lo_row:hi_row], short_usd[:, lo_row:hi_row]
    edges = edges[lo_row : hi_row + 1]
    p_in = len(edges) - 1

    row_factor = max(1, math.ceil(p_in / max_rows))
    steps = np.diff(edges)
    uniform = bool(np.allclose(steps, steps.mean(), rtol=1e-6, atol=0)) if p_in else True
    n_rows = -(-p_in // row_factor)
    if uniform:
        step = float(steps.mean()) * row_factor if p_in else 1.0
        out_edges = edges[0] + step * np.arange(n_rows + 1)
    else:
        padded = np.concatenate([edges, np.full(n_rows * row_factor - p_in, edges[-1])])
        out_edges = np.append(padded[::row_factor][:n_rows], edges[-1])

    bars_per_col = max(1, math.ceil(n_bars / max_columns))
    n_cols = -(-n_bars // bars_per_col)
    # Output column of every engine column: the bar that contains its start time, grouped.
    bar_of_col = np.searchsorted(bar_t, col_t, side="right") - 1
    in_range = (bar_of_col >= 0) & (col_t < bar_t[-1] + interval)
    col_index = np.where(in_range, bar_of_col // bars_per_col, -1).astype(np.int64)

    long_m, counts = downsample_grid(long_usd, col_index, n_cols, row_factor)
    short_m, _ = downsample_grid(short_usd, col_index, n_cols, row_factor)
    # Clean up on the small grid (a NaN or negative input cell clears its output cell).
    long_m = np.where(np.isfinite(long_m) & (long_m > 0), long_m, 0.0)
    short_m = np.where(np.isfinite(short_m) & (short_m > 0), short_m, 0.0)
    # Engine columns coarser than the bars leave gaps: a snapshot holds until the next one.
    if n_cols and (counts == 0).any() and (counts > 0).any():
        filled = np.where(counts > 0, np.arange(n_cols), -1)
        filled = np.maximum.accumulate(filled)
        ok = filled >= 0
        long_m[ok] = long_m[filled[ok]]
        short_m[ok] = short_m[filled[ok]]

    total = long_m + short_m
    grid_max = float(total.max()) if total.size else 0.0
    threshold_usd = float(threshold) * grid_max
    if threshold_usd > 0:
        clear = total < threshold_usd
        long_m[clear] = 0.0
        short_m[clear] = 0.0
        total = long_m + short_m

    q_long, long_scale = quantise(long_m)
    q_short, short_scale = quantise(short_m)

    if color_max_usd is None:
        nonzero = total[total > 0]
        color_top = float(np.quantile(nonzero, color_quantile)) if nonzero.size else 0.0
    else:
        color_top = float(color_max_usd)
    color_top = max(color_top, threshold_usd, 1e-9 if grid_max > 0 else 0.0)

    heatmap = {
        "cols": int(n_cols),
        "rows": int(n_rows),
        "bars_per_col": int(bars_per_col),
        "uniform_rows": uniform,
        "price_edges": _round_list(out_edges, decimals + 2),
        "encoding": "zlib+base64" if compress else "base64",
        "long": _encode(q_long, compress),
        "short": _encode(q_short, compress),
        "long_scale": long_scale,
        "short_scale": short_scale,
        "max_usd": grid_max,
        "threshold": float(threshold),
        "threshold_usd": threshold_usd,
        "color_max_usd": color_top,
        "color_max_label": format_usd(color_top),
    }

    # ---- levels --------------------------------------------------------------------------------
    levels_out: list[dict[str, Any]] = []
    lv = est.levels
    if lv is not None and len(lv) and max_levels > 0:
        top = lv.sort_values("notional_usd", ascending=False).head(int(max_levels))
        prices = top["price"].to_numpy(dtype=np.float64)
        notionals = top["notional_usd"].to_numpy(dtype=np.float64)
        for price, side, notional in zip(prices, top["side"].astype(str), notionals, strict=True):
            levels_out.append(
                {
                    # Rounded like the label, so the line, its title and the axis label agree.
                    "price": round(float(price), decimals),
                    "side": side,
                    "notional_usd": float(notional),
                    "label": format_level_label(side, float(price), float(notional), decimals),
                }
            )
        levels_out.sort(key=lambda d: -d["price"])

    # ---- swept markers -------------------------------------------------------------------------
    swept_out: list[dict[str, Any]] = []
    sw = est.swept
    if sw is not None and len(sw) and max_swept > 0:
        top = sw.sort_values("notional_usd", ascending=False).head(int(max_swept))
        prices = top["price"].to_numpy(dtype=np.float64)
        notionals = top["notional_usd"].to_numpy(dtype=np.float64)
        sides = top["side"].astype(str).to_numpy()
        seen: set[tuple[int, float]] = set()
        for column in ("swept_first", "swept_last"):
            if column not in top.columns:
                continue
            t = _to_utc_seconds(top[column])
            idx = np.clip(np.searchsorted(bar_t, t, side="right") - 1, 0, n_bars - 1)
            for i, price, side, notional in zip(idx, prices, sides, notionals, strict=True):
                key = (int(bar_t[i]), round(float(price), decimals))
                if key in seen:
                    continue
                seen.add(key)
                swept_out.append(
                    {"time": key[0], "price": key[1], "side": str(side), "notional_usd": float(notional)}
                )
        swept_out.sort(key=lambda d: d["time"])

    # ---- candles -------------------------------------------------------------------------------
    candles = {
        "time": [int(x) for x in bar_t],
        "open": _round_list(bars["open"], decimals + 2),
        "high": _round_list(bars["high"], decimals + 2),
        "low": _round_list(bars["low"], decimals + 2),
        "close": _round_list(bars["close"], decimals + 2),
        "volume": _round_list(bars["volume"], 3),
    }

    symbol = est.symbol
    return {
        "version": 1,
        "symbol": symbol,
        "title": title if title is not None else (symbol or ""),
        "interval_s": int(interval),
        "price_decimals": int(decimals),
        "last_price": last_price,
        "last_price_label": format_price(last_price, decimals),
        "candles": candles,
        "heatmap": heatmap,
        "levels": levels_out,
        "autoscale_prices": [
            lv["price"] for lv in levels_out if abs(lv["price"] / last_price - 1) * 100 <= autoscale_pct
        ],
        "swept": swept_out,
    }
