"""The plain numpy prototype ``benchmarks.engine`` times beside ``liq.estimate``.

It computes the model's core numbers for the volume model in as few numpy passes as possible, with none of the
library's care: no input validation, no brackets lookup, no prior, no levels, zones, swept tables, profile or
DataFrames. Positions per (candle, tier) and side, their first touch (the engine's own ``first_touch``), the
heatmap grid (bincount difference array + cumulative sum) with the closure multiplier, and swept USD per
candle. It is the floor an estimate cannot beat; the benchmark reports how far above it ``liq.estimate`` is.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from liq._engine import first_touch

F64 = npt.NDArray[np.float64]


def prototype(
    candles: pd.DataFrame,
    leverage: F64,
    weight: F64,
    *,
    mmr: float,
    half_life_candles: float,
    levered_share: float,
    inflow_share: float,
    n_cols: int,
    n_bins: int,
    pad_pct: float,
) -> dict[str, F64]:
    """Grids (C × P) and swept USD per candle of both sides."""
    h, lo, cl, v = (candles[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close", "volume"))
    t, k = len(h), len(leverage)
    entry = (h + lo + cl) / 3.0
    new = levered_share * inflow_share * v * entry
    logd = -math.log(2.0) / half_life_candles
    g_lo, g_hi = lo.min() * (1 - pad_pct / 100), h.max() * (1 + pad_pct / 100)
    bounds = np.floor(np.linspace(0, t, n_cols + 1)).astype(np.int64)
    col_of = np.searchsorted(bounds, np.arange(t), side="right") - 1
    col_end = bounds[1:] - 1
    created = np.repeat(np.arange(t), k)
    n0 = (new[:, None] * weight[None, :]).ravel()
    base = n0 * np.exp(-created * logd)
    out: dict[str, F64] = {}
    for side, sign in (("long", 1.0), ("short", -1.0)):
        price = (entry[:, None] * (1 - sign / leverage[None, :]) / (1 - sign * mmr)).ravel()
        if side == "long":
            swept = first_touch(lo, created + 1, price)
        else:
            swept = first_touch(-h, created + 1, -price)
        hit = swept < t
        out[f"{side}_swept"] = np.bincount(
            swept[hit], weights=n0[hit] * np.exp((swept[hit] - created[hit]) * logd), minlength=t
        )
        b = np.clip(np.floor((price - g_lo) / (g_hi - g_lo) * n_bins).astype(np.int64), 0, n_bins - 1)
        a = col_of[created]
        e = np.where(hit, col_of[np.minimum(swept, t - 1)], n_cols)
        size = (n_cols + 1) * n_bins
        diff = np.bincount(a * n_bins + b, weights=base, minlength=size)
        diff -= np.bincount(e * n_bins + b, weights=base, minlength=size)
        grid = np.cumsum(diff.reshape(n_cols + 1, n_bins)[:n_cols], axis=0)
        out[f"{side}_grid"] = grid * np.exp(col_end * logd)[:, None]
    return out
