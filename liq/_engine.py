"""The estimation engine: candles (and optionally open interest) in, estimated liquidation map out.

Model, per candle ``t`` (all vectorised over candles × leverage tiers × sides):

1. Entry price: VWAP ``quote_volume/volume`` when both are present and positive, else ``(high+low+close)/3``.
2. New notional ``N_t`` (USD): ``max(ΔOI_usd, 0)`` with open interest (OI model), else
   ``inflow_share × quote_volume`` (volume model).
3. Side split: long ``2s·N_t``, short ``2(1−s)·N_t``, ``s`` = taker-buy share (0.5 when unknown). Every unit of
   new open interest has a long and a short holder; the taker share tilts which side was the eager opener.
4. One position per (candle, side, tier) with notional ``N_side × weight`` and an exact liquidation price.
5. Sweep: a long is swept at the first later candle whose low reaches its price (a short: high), never by the
   candle that created it.
6. Closures (OI model): when OI falls, ``max(|ΔOI| − swept_t, 0)`` is removed pro rata from alive positions.
7. Optional decay: ``2^(−age/h)`` per candle of age.

Speed: the first-touch search is a sparse table of range minima (maxima for shorts) with binary lifting, so
all positions are resolved in ``O(N log T)`` numpy work; the grid is a ``bincount`` difference array plus a
cumulative sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._config import ModelConfig, bracket_for
from ._errors import DataValidationError
from ._formula import liquidation_price
from ._levels import Summary, build_levels, build_summary
from ._sources.validate import validate_candles, validate_open_interest

__all__ = ["Estimate", "Heatmap", "estimate"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Closures never remove more than this fraction of what is alive in one candle (keeps logs finite).
_MAX_CLOSE_FRACTION = 1.0 - 1e-12
#: Blocks of the grid are re-referenced when the log-multiplier drops by this much (avoids overflow).
_LOG_BLOCK_SPAN = 300.0


@dataclass(frozen=True)
class Heatmap:
    """Estimated liquidation density over time × price.

    Attributes
    ----------
    times : ndarray of datetime64[ns], shape (C,)
        Open time (UTC, tz-naive numpy values) of each column's first candle.
    price_edges : ndarray of float, shape (P+1,)
        Price-bin edges (quote currency), increasing.
    long_usd, short_usd : ndarray of float, shape (C, P)
        Estimated notional (USD) of long / short positions alive at the end of each column's last candle,
        by the price bin of their liquidation price.
    """

    times: npt.NDArray[np.datetime64]
    price_edges: F64
    long_usd: F64
    short_usd: F64

    @property
    def price_centers(self) -> F64:
        """Bin centres, shape (P,)."""
        return (self.price_edges[:-1] + self.price_edges[1:]) / 2.0


@dataclass(frozen=True)
class Estimate:
    """Result of :func:`estimate`. Every USD figure is a model estimate, not an observation.

    See ``docs/ARCHITECTURE.md`` for the columns of each DataFrame.
    """

    model: Literal["oi", "volume"]
    config: ModelConfig
    symbol: str | None
    candles: pd.DataFrame
    last_price: float
    last_time: pd.Timestamp
    heatmap: Heatmap
    levels: pd.DataFrame
    zones: pd.DataFrame
    swept: pd.DataFrame
    swept_per_candle: pd.DataFrame
    profile: pd.DataFrame
    summary: Summary
    totals: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------------
# first touch
# --------------------------------------------------------------------------------------------------------
def _sparse_min_table(values: F64) -> list[F64]:
    """``table[j][i] = min(values[i : i + 2**j])``, truncated at the end of ``values`` (every row has length n)."""
    table = [values]
    j = 1
    while (1 << j) <= len(values):
        prev = table[-1]
        half = 1 << (j - 1)
        row = prev.copy()
        np.minimum(prev[:-half], prev[half:], out=row[:-half])
        table.append(row)
        j += 1
    return table


def first_touch(values: F64, start: I64, threshold: F64) -> I64:
    """First index ``i >= start`` with ``values[i] <= threshold``, or ``len(values)`` when there is none.

    Vectorised over queries. A suffix minimum settles the queries that never touch; the others use a sparse
    table of range minima (``table[j][i] = min(values[i:i+2**j])``) with binary lifting: from the largest
    block down, skip a block whenever its minimum stays above the threshold. That is ``O(log T)`` numpy
    passes over the queries, never a per-query Python scan.

    Examples
    --------
    >>> v = np.array([5.0, 4.0, 6.0, 3.0, 7.0])
    >>> first_touch(v, np.array([0, 1, 2, 4]), np.array([3.5, 4.0, 3.0, 3.0])).tolist()
    [3, 1, 3, 5]
    """
    n = len(values)
    start = np.asarray(start, dtype=np.int64)
    thr = np.asarray(threshold, dtype=np.float64)
    out = np.full(start.shape, n, dtype=np.int64)
    if n == 0 or start.size == 0:
        return out
    suffix_min = np.append(np.minimum.accumulate(values[::-1])[::-1], np.inf)
    open_q = np.flatnonzero(suffix_min[np.minimum(start, n)] <= thr)
    if open_q.size == 0:
        return out
    table = _sparse_min_table(values)
    pos = start[open_q]
    th = thr[open_q]
    # Every open query has a touch at some h >= pos, and the loop never skips past it, so pos < n holds
    # throughout; a block truncated at the end of the data contains h and is therefore never skipped.
    for j in range(len(table) - 1, -1, -1):
        pos += (table[j][pos] > th) * (1 << j)
    out[open_q] = pos
    return out


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------
def _entry_prices(c: pd.DataFrame, mode: str) -> F64:
    h, lo, cl, v = (c[k].to_numpy() for k in ("high", "low", "close", "volume"))
    typical = (h + lo + cl) / 3.0
    if mode == "typical" or "quote_volume" not in c.columns:
        return typical
    qv = c["quote_volume"].to_numpy()
    ok = np.isfinite(qv) & (qv > 0) & (v > 0)
    vwap = np.divide(qv, v, out=typical.copy(), where=ok)
    # a VWAP outside the candle's range is bad data: keep the typical price there
    ok &= (vwap >= lo) & (vwap <= h)
    return np.where(ok, vwap, typical)


def _quote_volume(c: pd.DataFrame, entry: F64) -> F64:
    est = c["volume"].to_numpy() * entry
    if "quote_volume" not in c.columns:
        return est
    qv = c["quote_volume"].to_numpy()
    return np.where(np.isfinite(qv) & (qv >= 0), qv, est)


def _taker_share(c: pd.DataFrame, use: bool) -> F64:
    t = len(c)
    if not use or "taker_buy_volume" not in c.columns:
        return np.full(t, 0.5)
    tb, v = c["taker_buy_volume"].to_numpy(), c["volume"].to_numpy()
    ok = np.isfinite(tb) & (v > 0)
    s = np.divide(tb, v, out=np.full(t, 0.5), where=ok)
    return np.clip(s, 0.0, 1.0)


def _candle_seconds(times: pd.Series) -> float:
    ns = np.diff(times.to_numpy(dtype="datetime64[ns]").astype(np.int64))
    return float(np.median(ns)) / 1e9 if len(ns) else 60.0


def _align_oi(c: pd.DataFrame, oi: pd.DataFrame) -> tuple[F64, list[str]]:
    """OI (USD) at the close of each candle: the last snapshot at or before ``open_time + interval``."""
    step = pd.Timedelta(seconds=_candle_seconds(c["open_time"]))
    left = pd.DataFrame({"close_time": c["open_time"] + step})
    merged = pd.merge_asof(
        left, oi.rename(columns={"time": "close_time"}), on="close_time", direction="backward"
    )
    vals = merged["open_interest_usd"].to_numpy(dtype=np.float64, na_value=np.nan)
    notes: list[str] = []
    missing = ~np.isfinite(vals)
    if missing.all():
        raise DataValidationError(
            "open_interest does not overlap the candles in time: its first value comes after the last candle. "
            "Pass open interest for the same period, or leave it out to use the volume model."
        )
    if missing.any():
        first = int(np.argmax(~missing))
        vals[:first] = vals[first]
        notes.append(
            f"Open interest starts after the first {first} candle(s); no new positions are estimated there."
        )
    n_stale = int((left["close_time"] - oi["time"].iloc[-1] > 3 * step).sum())
    if n_stale:
        notes.append(f"Open interest ends {n_stale} candle(s) before the last candle; OI is held flat there.")
    return vals, notes


@dataclass(frozen=True)
class _Side:
    """Positions of one side, flattened over (candle, tier)."""

    created: I64  # creation candle
    tier: I64
    notional: F64  # USD at creation
    price: F64  # exact liquidation price
    swept_at: I64  # sweep candle, or T when alive at the end


def _positions(
    c: pd.DataFrame, entry: F64, side_usd: F64, cfg: ModelConfig, symbol: str | None, side: str
) -> _Side:
    t = len(c)
    lev = np.asarray(cfg.leverage_tiers, dtype=np.float64)
    w = np.asarray(cfg.tier_weights, dtype=np.float64)
    w = w / w.sum()
    b = bracket_for(symbol, cfg.assumed_position_usd)
    qty = cfg.assumed_position_usd / entry
    prices = liquidation_price(entry[:, None], lev[None, :], side, b.mmr, b.maint_amount_usd, qty[:, None])
    notional = side_usd[:, None] * w[None, :]
    keep = notional > 0
    if keep.all():
        k = len(lev)
        created, tier = np.repeat(np.arange(t), k), np.tile(np.arange(k), t)
        price, notional_kept = prices.ravel(), notional.ravel()
    else:
        created, tier = np.nonzero(keep)
        price, notional_kept = prices[keep], notional[keep]
    if side == "long":
        swept = first_touch(c["low"].to_numpy(), created + 1, price)
    else:
        swept = first_touch(-c["high"].to_numpy(), created + 1, -price)
    return _Side(created.astype(np.int64), tier.astype(np.int64), notional_kept, price, swept)


def _multipliers(
    t: int, d: float, doi: F64 | None, new_usd: F64, sides: tuple[_Side, _Side]
) -> tuple[F64, float, float, list[F64]]:
    """Log-multiplier ``L`` per candle, total closed and decayed USD, and each position's swept value.

    A position created at ``c`` is worth ``N0·exp(L_τ − L_c)`` at the end of candle ``τ`` while alive. At
    its sweep candle ``u`` it is worth ``N0·exp(L_{u−1} + log d − L_c)`` (decay of step ``u`` applies, the
    closure of step ``u`` comes after the sweep).
    """
    logd = math.log(d)
    if doi is None or not (doi < 0).any():
        big_l = np.arange(t, dtype=np.float64) * logd
        swept_vals = []
        decayed_usd = 0.0
        for s in sides:
            hit = s.swept_at < t
            if d == 1.0:
                swept_vals.append(np.where(hit, s.notional, 0.0))
                continue
            age = np.where(hit, s.swept_at, t - 1) - s.created  # decay steps until the sweep or the end
            kept = s.notional * np.exp(age * logd)
            swept_vals.append(np.where(hit, kept, 0.0))
            decayed_usd += float((s.notional - kept).sum())
        return big_l, 0.0, decayed_usd, swept_vals

    # OI model with closures: sequential over candles (closure fractions depend on what is alive).
    created = np.concatenate([s.created for s in sides])
    n0 = np.concatenate([s.notional for s in sides])
    u = np.concatenate([s.swept_at for s in sides])
    order = np.argsort(u, kind="stable")
    u_sorted = u[order]
    bounds = np.searchsorted(u_sorted, np.arange(t + 1), side="left")
    big_l = np.zeros(t)
    closed = np.zeros(t)
    decayed = np.zeros(t)
    swept_all = np.zeros(len(n0))
    alive = 0.0
    prev_l = 0.0
    for k in range(t):
        if alive > 0.0:
            decayed[k] = alive * (1.0 - d)
            alive *= d
        a, b = bounds[k], bounds[k + 1]
        sw = 0.0
        if b > a:
            idx = order[a:b]
            vals = n0[idx] * np.exp(prev_l + logd - big_l[created[idx]])
            swept_all[idx] = vals
            sw = float(vals.sum())
            alive = max(alive - sw, 0.0)
        logf = 0.0
        dk = doi[k]
        if dk < 0 and alive > 0.0:
            remove = min(max(-dk - sw, 0.0), alive * _MAX_CLOSE_FRACTION)
            if remove > 0.0:
                closed[k] = remove
                logf = math.log1p(-remove / alive)
                alive -= remove
        big_l[k] = prev_l + logd + logf
        prev_l = big_l[k]
        alive += new_usd[k]
    n_long = len(sides[0].notional)
    return big_l, float(closed.sum()), float(decayed.sum()), [swept_all[:n_long], swept_all[n_long:]]


def _grid(side: _Side, big_l: F64, col_of: I64, col_end: I64, bin_idx: I64, n_cols: int, n_bins: int) -> F64:
    """Alive USD per (column, bin): a bincount difference array plus a cumulative sum, block-referenced."""
    t = len(col_of)
    inside = (bin_idx >= 0) & (bin_idx < n_bins)
    cc = col_of[side.created]
    cu = np.where(side.swept_at < t, col_of[np.minimum(side.swept_at, t - 1)], n_cols)
    lc = big_l[side.created]
    l_end = big_l[col_end]
    # split columns into blocks whose log-multiplier spans less than _LOG_BLOCK_SPAN
    starts = [0]
    if l_end[0] - l_end[-1] > _LOG_BLOCK_SPAN:
        for j in range(1, n_cols):
            if l_end[starts[-1]] - l_end[j] > _LOG_BLOCK_SPAN:
                starts.append(j)
    starts.append(n_cols)
    blocks = []
    for j0, j1 in zip(starts[:-1], starts[1:], strict=True):
        rows = j1 - j0
        ref = 0.0 if j0 == 0 else float(l_end[j0 - 1])
        if len(starts) == 2:  # one block: no selection needed, out-of-range bins get zero weight
            base = np.where(inside, side.notional, 0.0)
            a, b, bins = cc, cu, np.where(inside, bin_idx, 0)
        else:
            sel = inside & (cc < j1) & (cu > j0)
            base = side.notional[sel]
            a = np.maximum(cc[sel], j0) - j0
            b = np.minimum(cu[sel], j1) - j0
            bins = bin_idx[sel]
        if ref != 0.0 or lc.any():
            lc_used = lc if len(starts) == 2 else lc[sel]
            base = base * np.exp(np.minimum(ref - lc_used, 700.0))
        size = (rows + 1) * n_bins
        diff = np.bincount(a * n_bins + bins, weights=base, minlength=size).astype(np.float64, copy=False)
        diff -= np.bincount(b * n_bins + bins, weights=base, minlength=size)
        block = diff.reshape(rows + 1, n_bins)[:rows]
        np.cumsum(block, axis=0, out=block)
        scale = l_end[j0:j1] - ref
        if scale.any():
            block *= np.exp(scale)[:, None]
        np.maximum(block, 0.0, out=block)  # remove -1e-12 cumulative-sum noise
        blocks.append(block)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)


def _swept_by_bin(
    name: str, bins: I64, usd: F64, s: _Side, hit: npt.NDArray[np.bool_], edges: F64, open_time: pd.Series
) -> pd.DataFrame:
    """Swept positions of one side aggregated by the price bin of their liquidation price."""
    n_bins = len(edges) - 1
    b = np.clip(bins, 0, n_bins - 1)
    tot = np.bincount(b, weights=usd, minlength=n_bins)
    pv = np.bincount(b, weights=usd * s.price[hit], minlength=n_bins)
    keep = tot > 0
    idx = np.flatnonzero(keep)
    times = pd.DatetimeIndex(open_time)
    big = np.iinfo(np.int64).max

    def at(arr: I64, fn: np.ufunc) -> pd.DatetimeIndex:
        out = np.full(n_bins, big if fn is np.minimum else -1, dtype=np.int64)
        fn.at(out, b, arr)
        return times[out[keep]]

    created, swept = s.created[hit], s.swept_at[hit]
    return pd.DataFrame(
        {
            "side": name,
            "price": pv[keep] / tot[keep],
            "bin_low": edges[idx],
            "bin_high": edges[idx + 1],
            "notional_usd": tot[keep],
            "created_first": at(created, np.minimum),
            "created_last": at(created, np.maximum),
            "swept_first": at(swept, np.minimum),
            "swept_last": at(swept, np.maximum),
        }
    )


def _column_layout(t: int, n_cols: int | None) -> tuple[I64, I64, int]:
    cols = t if n_cols is None else max(1, min(int(n_cols), t))
    bounds = np.floor(np.linspace(0, t, cols + 1)).astype(np.int64)
    col_of = np.searchsorted(bounds, np.arange(t), side="right").astype(np.int64) - 1
    col_end = bounds[1:] - 1
    return col_of, col_end, cols


# --------------------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------------------
def estimate(
    candles: pd.DataFrame,
    *,
    open_interest: pd.DataFrame | None = None,
    config: ModelConfig | None = None,
    symbol: str | None = None,
) -> Estimate:
    """Estimate where leveraged positions opened during ``candles`` would be liquidated.

    Parameters
    ----------
    candles : DataFrame
        ``open_time`` (UTC), ``open, high, low, close, volume``; optionally ``quote_volume`` (USD) and
        ``taker_buy_volume`` (base asset). Sorted, unique times. Not modified.
    open_interest : DataFrame, optional
        ``time`` (UTC) and ``open_interest_usd``. When given, new notional comes from OI increases and OI
        decreases close positions (the OI model); otherwise the volume model runs.
    config : ModelConfig, optional
        Every assumption of the model; defaults to ``ModelConfig()``.
    symbol : str, optional
        Binance symbol, used to pick the maintenance-margin brackets (e.g. ``"BTCUSDT"``).

    Returns
    -------
    Estimate
        Heatmap grid, levels, zones, swept positions, per-candle swept USD, summary and totals. All USD
        values are estimates.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2024-12-01", periods=12, freq="5min", tz="UTC")
    >>> px = [100, 101, 102, 103, 104, 105, 104, 103, 102, 101, 100, 99.0]
    >>> df = pd.DataFrame({"open_time": t, "open": px, "high": [p + 0.5 for p in px],
    ...                    "low": [p - 0.5 for p in px], "close": px, "volume": 1000.0})
    >>> est = estimate(df, symbol="BTCUSDT")
    >>> est.model
    'volume'
    >>> bool((est.levels.loc[est.levels.side == "long", "price"] < est.last_price).all())
    True
    """
    cfg = config if config is not None else ModelConfig()
    c = validate_candles(candles)
    t = len(c)
    notes: list[str] = []
    entry = _entry_prices(c, "typical" if cfg.entry_mode == "typical" else "vwap")
    if cfg.entry_mode == "vwap" and "quote_volume" not in c.columns:
        notes.append("No quote volume in the data: entry prices use the typical price (high+low+close)/3.")
    share = _taker_share(c, cfg.use_taker_split)

    doi: F64 | None = None
    if open_interest is not None:
        oi = validate_open_interest(open_interest)
        oi_vals, oi_notes = _align_oi(c, oi)
        notes += oi_notes
        doi = np.diff(oi_vals, prepend=oi_vals[0])
        new_usd = np.maximum(doi, 0.0)
        model: Literal["oi", "volume"] = "oi"
    else:
        new_usd = cfg.inflow_share * _quote_volume(c, entry)
        model = "volume"
    long_new = new_usd * 2.0 * share
    short_new = new_usd * 2.0 * (1.0 - share)

    longs = _positions(c, entry, long_new, cfg, symbol, "long")
    shorts = _positions(c, entry, short_new, cfg, symbol, "short")
    d = 1.0 if cfg.decay_half_life_candles is None else 2.0 ** (-1.0 / cfg.decay_half_life_candles)
    big_l, closed_usd, decayed_usd, swept_vals = _multipliers(
        t, d, doi, long_new + short_new, (longs, shorts)
    )

    # price grid
    lo = float(c["low"].min()) * (1.0 - cfg.price_pad_pct / 100.0)
    hi = float(c["high"].max()) * (1.0 + cfg.price_pad_pct / 100.0)
    n_bins = cfg.price_bins
    edges = np.linspace(lo, hi, n_bins + 1)
    col_of, col_end, n_cols = _column_layout(t, cfg.time_columns)

    def bins_of(p: F64) -> I64:
        return np.floor((p - lo) / (hi - lo) * n_bins).astype(np.int64)

    grids = []
    ends = []
    alive_sets = []
    for s in (longs, shorts):
        b = bins_of(s.price)
        grids.append(_grid(s, big_l, col_of, col_end, b, n_cols, n_bins))
        alive = s.swept_at >= t
        value_end = np.where(alive, s.notional, 0.0)
        if big_l.any():
            value_end *= np.exp(big_l[t - 1] - big_l[s.created])
        ends.append((b, value_end))
        ia = np.flatnonzero(value_end > 0)  # the positions alive at the last candle, compacted once
        alive_sets.append((s.price[ia], value_end[ia], s.created[ia], b[ia], s.tier[ia]))
    times = c["open_time"].to_numpy(dtype="datetime64[ns]")[np.searchsorted(col_of, np.arange(n_cols))]
    heat = Heatmap(times=times, price_edges=edges, long_usd=grids[0], short_usd=grids[1])

    # swept per candle and swept aggregates
    open_time = c["open_time"]
    spc = pd.DataFrame({"open_time": open_time})
    swept_frames = []
    for name, s, sv, (b, _) in zip(("long", "short"), (longs, shorts), swept_vals, ends, strict=True):
        hit = s.swept_at < t
        spc[f"{name}_usd"] = np.bincount(s.swept_at[hit], weights=sv[hit], minlength=t)[:t]
        if hit.any():
            swept_frames.append(_swept_by_bin(name, b[hit], sv[hit], s, hit, edges, open_time))
    swept_cols = [
        "side", "price", "bin_low", "bin_high", "notional_usd",
        "created_first", "created_last", "swept_first", "swept_last",
    ]  # fmt: skip
    swept_df = (
        pd.concat(swept_frames, ignore_index=True)
        if swept_frames
        else pd.DataFrame({k: pd.Series(dtype="float64") for k in swept_cols}).astype({"side": "object"})
    )
    swept_df = (
        swept_df.sort_values("swept_last", ascending=False, ignore_index=True) if len(swept_df) else swept_df
    )

    # profile by tier at the last candle
    lev = np.asarray(cfg.leverage_tiers)
    prof_frames = []
    for name, (_, v, _, b, tier) in zip(("long", "short"), alive_sets, strict=True):
        ok = (b >= 0) & (b < n_bins)
        k = len(lev)
        agg = np.bincount(b[ok] * k + tier[ok], weights=v[ok], minlength=n_bins * k).reshape(n_bins, k)
        bi, ti = np.nonzero(agg)
        prof_frames.append(
            pd.DataFrame(
                {
                    "bin_low": edges[bi],
                    "bin_high": edges[bi + 1],
                    "side": name,
                    "leverage": lev[ti],
                    "notional_usd": agg[bi, ti],
                }
            )
        )
    profile = pd.concat(prof_frames, ignore_index=True)

    last_price = float(c["close"].iloc[-1])
    levels, zones = build_levels(
        edges=edges,
        sides={name: a[:3] for name, a in zip(("long", "short"), alive_sets, strict=True)},
        low=c["low"].to_numpy(),
        high=c["high"].to_numpy(),
        open_time=open_time,
        last_price=last_price,
        config=cfg,
    )
    summary = build_summary(
        last_price=last_price,
        levels=levels,
        long_prices=alive_sets[0][0],
        long_usd=alive_sets[0][1],
        short_prices=alive_sets[1][0],
        short_usd=alive_sets[1][1],
    )
    added = float(longs.notional.sum() + shorts.notional.sum())
    alive_total = float(ends[0][1].sum() + ends[1][1].sum())
    in_grid = float(heat.long_usd[-1].sum() + heat.short_usd[-1].sum())
    totals = {
        "added_usd": added,
        "alive_usd": alive_total,
        "swept_usd": float(spc["long_usd"].sum() + spc["short_usd"].sum()),
        "closed_usd": closed_usd,
        "decayed_usd": decayed_usd,
        "outside_grid_usd": max(alive_total - in_grid, 0.0),
    }
    if model == "volume":
        notes.append(
            f"Volume model: {cfg.inflow_share:.0%} of each candle's quote volume is assumed to open new positions."
        )
    return Estimate(
        model=model,
        config=cfg,
        symbol=symbol,
        candles=c,
        last_price=last_price,
        last_time=pd.Timestamp(open_time.iloc[-1]),
        heatmap=heat,
        levels=levels,
        zones=zones,
        swept=swept_df,
        swept_per_candle=spc,
        profile=profile,
        summary=summary,
        totals=totals,
        notes=tuple(notes),
    )
