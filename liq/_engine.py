"""The estimation engine: candles (and optionally open interest) in, estimated liquidation map out.

Model, per candle ``t`` (all vectorised over candles × leverage tiers × sides, except the OI model's anchor):

1. Entry price: VWAP ``quote_volume/volume`` when both are present and positive, else ``(high+low+close)/3``.
2. Brackets: the symbol's Binance maintenance-margin bracket at ``assumed_position_usd`` (table dated
   :data:`liq.MMR_BRACKETS_AS_OF`). A tier above the symbol's maximum leverage is clipped to it (or dropped,
   ``above_max_leverage``), so a long always liquidates below its entry and a short above it.
3. Levered share: only ``levered_share`` of open interest sits at the leverage tiers; the rest is hedged or
   well-collateralised and never liquidated inside the grid. It counts in the modelled open interest only.
4. Volume model: new notional per side is ``2s × inflow_share × quote_volume`` (``s`` = taker-buy share, 0.5
   when unknown), and positions are closed by their traders at an exponential rate whose half-life comes from
   the measured turnover (``ModelConfig.half_life_hours``). The range starts with the steady-state positions
   of its first day's volume (the prior), not with zero.
5. OI model: each side's levered positions are anchored to ``levered_share × open interest``. When OI rises
   the difference opens new positions at the candle's entry; when it falls, positions close pro rata. The
   range starts with the first OI value (the prior).
6. The prior places the positions open before the first candle around the first price (see
   :func:`prior_grid`); those that would already have been liquidated are left out.
7. Sweep: a long is swept at the first later candle whose low reaches its price (a short: high), never by the
   candle that created it.
8. Optional extra decay: ``2^(−age/h)`` per candle of age.

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

from ._brackets import BRACKETS_AS_OF, SymbolBrackets, brackets_for
from ._config import (
    LEVEL_BIN_PCT,
    MAX_LEVEL_BINS,
    PRIOR_MAX_POINTS,
    PRIOR_POINTS_PER_LEVEL_BIN,
    PRIOR_Z_SPAN,
    ModelConfig,
)
from ._errors import DataValidationError
from ._formula import liquidation_price
from ._levels import Summary, build_levels, build_summary
from ._sources.validate import validate_candles, validate_open_interest

__all__ = ["Estimate", "Heatmap", "TierAdjustment", "estimate", "first_touch"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Closures never remove more than this fraction of what is alive in one candle (keeps logs finite).
_MAX_CLOSE_FRACTION = 1.0 - 1e-12
#: Blocks of the grid are re-referenced when the log-multiplier drops by this much (avoids overflow).
_LOG_BLOCK_SPAN = 300.0
#: Hours of candles whose volume sizes the volume model's prior.
PRIOR_VOLUME_HOURS = 24.0
#: Upper bound of the prior's entry-price spread (log units), so a very long lifetime cannot spread it absurdly.
_MAX_PRIOR_SIGMA = 0.25
SIDES = ("long", "short")


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
class TierAdjustment:
    """A leverage tier the symbol's brackets do not allow at the assumed position size.

    Attributes
    ----------
    leverage : float
        The tier as configured (x).
    used_leverage : float or None
        The leverage it was priced at (the symbol's maximum), or None when it was dropped.
    max_leverage : float
        Binance's maximum leverage for the symbol at ``assumed_position_usd``.
    """

    leverage: float
    used_leverage: float | None
    max_leverage: float


@dataclass(frozen=True)
class Estimate:
    """Result of :func:`estimate`. Every USD figure is a model estimate, not an observation.

    See ``docs/ARCHITECTURE.md`` for the columns of each DataFrame. ``usd_basis`` says in words what sets the
    size of the USD figures; ``alive_per_candle`` holds, per candle, the levered positions on the map and the
    modelled open interest per side (levered + hedged).
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
    usd_basis: str = ""
    tier_adjustments: tuple[TierAdjustment, ...] = ()
    brackets_as_of: str = ""
    alive_per_candle: pd.DataFrame = field(default_factory=pd.DataFrame)


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
# inputs: entry prices, volume, taker share, brackets and tiers
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inputs:
    """Per-candle model inputs."""

    entry: F64
    quote_volume: F64
    taker_share: F64
    step_hours: float


@dataclass(frozen=True)
class _Tiers:
    """Leverage tiers as priced for one symbol."""

    leverage: F64  # used leverage per tier (after the max-leverage rule)
    weight: F64  # normalised weight per tier (a dropped tier has 0)
    configured: F64  # the configured leverage per tier (for the profile)
    mmr: float
    maint_amount_usd: float
    adjustments: tuple[TierAdjustment, ...]
    brackets: SymbolBrackets


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


def _inputs(c: pd.DataFrame, cfg: ModelConfig) -> _Inputs:
    entry = _entry_prices(c, "typical" if cfg.entry_mode == "typical" else "vwap")
    return _Inputs(
        entry=entry,
        quote_volume=_quote_volume(c, entry),
        taker_share=_taker_share(c, cfg.use_taker_split),
        step_hours=_candle_seconds(c["open_time"]) / 3600.0,
    )


def _tiers(cfg: ModelConfig, symbol: str | None) -> _Tiers:
    """Price the configured tiers for ``symbol``: its bracket, and the rule for tiers above its maximum."""
    sb = brackets_for(symbol)
    b = sb.bracket_at(cfg.assumed_position_usd)
    max_lev = float(sb.max_leverage(cfg.assumed_position_usd))
    if max_lev <= 1.0:
        cap = max((x.notional_cap_usd for x in sb.brackets if x.max_leverage > 1), default=0.0)
        raise DataValidationError(
            f"A {cfg.assumed_position_usd:,.0f} USD position on {sb.symbol or 'this symbol'} is in Binance's 1x "
            f"bracket, where price moves cannot liquidate it. Use an assumed position size of at most "
            f"{cap:,.0f} USD."
        )
    lev = np.asarray(cfg.leverage_tiers, dtype=np.float64)
    w = np.asarray(cfg.tier_weights, dtype=np.float64)
    over = lev > max_lev
    rule = cfg.above_max_leverage
    if rule == "drop" and np.any(w[~over] > 0):
        w = np.where(over, 0.0, w)
    else:
        rule = "clip"
    used = np.minimum(lev, max_lev)
    adjustments = tuple(
        TierAdjustment(float(x), None if rule == "drop" else max_lev, max_lev) for x in lev[over]
    )
    return _Tiers(used, w / w.sum(), lev, b.mmr, b.maint_amount_usd, adjustments, sb)


def _tier_note(tiers: _Tiers, cfg: ModelConfig, symbol: str | None, as_of: str) -> str | None:
    if not tiers.adjustments:
        return None
    names = ", ".join(f"{a.leverage:g}x" for a in tiers.adjustments)
    max_lev = tiers.adjustments[0].max_leverage
    what = (
        f"priced at {max_lev:g}x (weights kept)"
        if tiers.adjustments[0].used_leverage is not None
        else "left out (their weight goes to the other tiers)"
    )
    return (
        f"{symbol or 'This symbol'} allows at most {max_lev:g}x for a {cfg.assumed_position_usd:,.0f} USD position "
        f"(Binance brackets of {as_of}): the {names} tier(s) are {what}."
    )


# --------------------------------------------------------------------------------------------------------
# positions
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Side:
    """Positions of one side: the prior (created at candle 0) first, then one per (candle, tier)."""

    created: I64  # creation candle
    tier: I64
    notional: F64  # USD at creation
    price: F64  # exact liquidation price
    swept_at: I64  # sweep candle, or T when alive at the end
    n_prior: int  # the first n_prior positions are the prior


def _liq_prices(entry: F64, tiers: _Tiers, side: str, cfg: ModelConfig) -> F64:
    """Liquidation price per (entry, tier), shape (len(entry), K)."""
    qty = cfg.assumed_position_usd / entry
    return np.asarray(
        liquidation_price(
            entry[:, None], tiers.leverage[None, :], side, tiers.mmr, tiers.maint_amount_usd, qty[:, None]
        ),
        dtype=np.float64,
    )


def prior_grid(sigma: float) -> tuple[F64, F64]:
    """z values and normal weights (summing to 1) of the prior's entry prices ``first_price × exp(z × σ)``.

    Examples
    --------
    >>> z, w = prior_grid(0.04)
    >>> len(z), round(float(w.sum()), 12), float(z[len(z) // 2])
    (481, 1.0, 0.0)
    """
    step = LEVEL_BIN_PCT / 100.0 / PRIOR_POINTS_PER_LEVEL_BIN
    n = 1 if sigma <= 0 else min(PRIOR_MAX_POINTS, 2 * math.ceil(PRIOR_Z_SPAN * sigma / step) + 1)
    z = np.linspace(-PRIOR_Z_SPAN, PRIOR_Z_SPAN, n) if n > 1 else np.zeros(1)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _prior_positions(
    c: pd.DataFrame, tiers: _Tiers, side: str, cfg: ModelConfig, usd: float, sigma: float
) -> tuple[F64, F64, I64]:
    """Prior positions (price, notional, tier) spread around the first price; see :func:`prior_grid`."""
    if usd <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    z, zw = prior_grid(sigma)
    entries = float(c["open"].iloc[0]) * np.exp(z * sigma)
    prices = _liq_prices(entries, tiers, side, cfg)
    share = zw[:, None] * tiers.weight[None, :]
    low0, high0 = float(c["low"].iloc[0]), float(c["high"].iloc[0])
    # a prior position whose price the first candle reaches was liquidated before the range began
    keep = (prices < low0) if side == "long" else (prices > high0)
    keep &= share > 0
    if not keep.any():
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    w = share[keep]
    tier = np.nonzero(keep)[1].astype(np.int64)
    return prices[keep], usd * w / w.sum(), tier


def _positions(
    c: pd.DataFrame,
    inp: _Inputs,
    tiers: _Tiers,
    cfg: ModelConfig,
    side: str,
    new_usd: F64,
    prior: float,
    sigma: float,
) -> _Side:
    """All positions of one side. ``new_usd`` per candle may be zeros (the OI model fills it in later)."""
    t, k = len(c), len(tiers.leverage)
    p_price, p_usd, p_tier = _prior_positions(c, tiers, side, cfg, prior, sigma)
    prices = _liq_prices(inp.entry, tiers, side, cfg)
    notional = new_usd[:, None] * tiers.weight[None, :]
    created = np.concatenate([np.zeros(len(p_price), dtype=np.int64), np.repeat(np.arange(t), k)])
    tier = np.concatenate([p_tier, np.tile(np.arange(k), t)])
    price = np.concatenate([p_price, prices.ravel()])
    n0 = np.concatenate([p_usd, notional.ravel()])
    if side == "long":
        swept = first_touch(c["low"].to_numpy(), created + 1, price)
    else:
        swept = first_touch(-c["high"].to_numpy(), created + 1, -price)
    return _Side(created, tier.astype(np.int64), n0, price, swept, len(p_price))


def _compact(s: _Side) -> _Side:
    """Drop positions with no notional (keeps later passes small)."""
    keep = s.notional > 0
    if keep.all():
        return s
    n_prior = int(keep[: s.n_prior].sum())
    return _Side(s.created[keep], s.tier[keep], s.notional[keep], s.price[keep], s.swept_at[keep], n_prior)


# --------------------------------------------------------------------------------------------------------
# flows: how each side's positions grow, close, decay and get swept
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Flow:
    """One side after the model's flows ran."""

    side: _Side
    big_l: F64  # log-multiplier per candle: a position created at c is worth N0·exp(L_τ − L_c) at τ
    swept_value: F64  # value of each position at its sweep (0 when alive)
    closed_usd: float
    decayed_usd: float
    anchor_usd: F64  # modelled open interest of this side per candle (levered + hedged)
    swept_usd: F64  # swept USD per candle
    levered_usd: F64  # levered (on the map) alive USD per candle, in or out of the grid


def _prior_sigma(c: pd.DataFrame, lifetime_candles: float) -> float:
    r = np.diff(np.log(c["close"].to_numpy(dtype=np.float64)))
    vol = float(np.std(r)) if len(r) > 1 else 0.0
    if not math.isfinite(lifetime_candles):
        return _MAX_PRIOR_SIGMA
    return min(vol * math.sqrt(max(lifetime_candles, 1.0)), _MAX_PRIOR_SIGMA)


def _split_loss(lost: float, log_close: float, log_decay: float) -> tuple[float, float]:
    """Split a lost amount between closures and decay in proportion to their rates."""
    total = log_close + log_decay
    if lost <= 0 or total == 0:
        return 0.0, 0.0
    return lost * log_close / total, lost * log_decay / total


def _volume_flows(
    c: pd.DataFrame, inp: _Inputs, tiers: _Tiers, cfg: ModelConfig
) -> tuple[tuple[_Flow, _Flow], list[str]]:
    """Volume model: new notional from volume, closures at the turnover-derived rate, a steady-state prior."""
    t = len(c)
    half_life_candles = cfg.half_life_hours() / inp.step_hours
    log_close = -math.log(2.0) / half_life_candles if math.isfinite(half_life_candles) else 0.0
    log_decay = 0.0 if cfg.decay_half_life_candles is None else -math.log(2.0) / cfg.decay_half_life_candles
    logd = log_close + log_decay
    lifetime = -1.0 / log_close if log_close < 0 else math.inf
    n_first = max(1, min(t, round(PRIOR_VOLUME_HOURS / inp.step_hours)))
    per_side_rate = cfg.inflow_share * float(np.mean(inp.quote_volume[:n_first]))
    prior_total = per_side_rate * lifetime if math.isfinite(lifetime) else 0.0
    sigma = _prior_sigma(c, lifetime)
    big_l = np.arange(t, dtype=np.float64) * logd
    flows = []
    for side, mult in zip(SIDES, (2.0 * inp.taker_share, 2.0 * (1.0 - inp.taker_share)), strict=True):
        new_side = cfg.inflow_share * inp.quote_volume * mult
        s = _compact(
            _positions(
                c, inp, tiers, cfg, side, cfg.levered_share * new_side, cfg.levered_share * prior_total, sigma
            )
        )
        hit = np.flatnonzero(s.swept_at < t)
        swept_value = np.zeros(len(s.notional))
        swept_value[hit] = s.notional[hit] * np.exp((s.swept_at[hit] - s.created[hit]) * logd)
        anchor = prior_total * np.exp(big_l) + _decayed_cumsum(new_side, logd)
        swept_usd = np.bincount(s.swept_at[hit], weights=swept_value[hit], minlength=t)[:t].astype(np.float64)
        # alive = what entered, decayed since, minus what was swept, decayed since (a swept position's value at
        # its sweep is exactly its decayed value then)
        entered = np.bincount(s.created, weights=s.notional, minlength=t)[:t].astype(np.float64)
        levered = np.maximum(_decayed_cumsum(entered, logd) - _decayed_cumsum(swept_usd, logd), 0.0)
        # what the levered positions lose to closures and decay: added − alive − swept
        lost = float(entered.sum()) - float(levered[-1]) - float(swept_usd.sum())
        closed, decayed = _split_loss(max(lost, 0.0), log_close, log_decay)
        flows.append(_Flow(s, big_l, swept_value, closed, decayed, anchor, swept_usd, levered))
    notes = []
    if prior_total > 0:
        notes.append(
            "Volume model: positions close with a half-life of "
            f"{cfg.half_life_hours():.0f} h (from measured turnover); the first candle starts with the "
            "positions one day of its volume would hold, placed around the first price."
        )
    return (flows[0], flows[1]), notes


def _decayed_cumsum(x: F64, logd: float) -> F64:
    """``y_t = Σ_{k<=t} x_k · exp((t−k)·logd)``, computed in blocks so the exponentials stay finite."""
    t = len(x)
    if logd == 0.0:
        return np.cumsum(x)
    out = np.empty(t)
    block = max(1, int(_LOG_BLOCK_SPAN / -logd))
    carry = 0.0
    for a in range(0, t, block):
        b = min(t, a + block)
        steps = np.arange(b - a, dtype=np.float64)
        local = np.cumsum(x[a:b] * np.exp(-steps * logd)) * np.exp(steps * logd)
        out[a:b] = local + carry * np.exp((steps + 1.0) * logd)
        carry = float(out[b - 1])
    return out


def _align_oi(c: pd.DataFrame, oi: pd.DataFrame) -> tuple[F64, list[str]]:
    """OI (USD) at the close of each candle: the last snapshot at or before ``open_time + interval``."""
    step = pd.Timedelta(seconds=_candle_seconds(c["open_time"]))
    left = pd.DataFrame({"close_time": c["open_time"] + step})
    merged = pd.merge_asof(
        left, oi.rename(columns={"time": "close_time"}), on="close_time", direction="backward"
    )
    # a copy: under pandas 3 ``to_numpy`` may return a read-only view, and the first values are filled below
    vals = np.array(merged["open_interest_usd"].to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
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
            f"Open interest starts after the first {first} candle(s); the first value is used before it."
        )
    oi_ns = oi["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    close_ns = left["close_time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    prev = np.searchsorted(oi_ns, close_ns, side="right") - 1
    age = close_ns - oi_ns[np.clip(prev, 0, None)]
    n_stale = int(((age > 3 * step.value) & (prev >= 0)).sum())
    if n_stale:
        notes.append(
            f"Open interest is missing for {n_stale} candle(s) (a hole or an early end); it is held at its last value there."
        )
    return vals, notes


def _oi_flows(
    c: pd.DataFrame, inp: _Inputs, tiers: _Tiers, cfg: ModelConfig, oi: F64
) -> tuple[tuple[_Flow, _Flow], list[str]]:
    """OI model: each side's levered positions follow ``levered_share × OI``, starting from the first value."""
    lifetime = cfg.half_life_hours() / inp.step_hours / math.log(2.0)
    sigma = _prior_sigma(c, lifetime)
    flows = []
    for side in SIDES:
        s = _positions(c, inp, tiers, cfg, side, np.zeros(len(c)), cfg.levered_share * float(oi[0]), sigma)
        flows.append(_anchor_side(s, tiers.weight, cfg, cfg.levered_share * oi, oi))
    notes = [
        "OI model: each side's positions follow open interest, starting from its first value, placed around "
        "the first price; the taker split does not apply (every contract has one long and one short holder)."
    ]
    return (flows[0], flows[1]), notes


def _anchor_side(s: _Side, weights: F64, cfg: ModelConfig, target: F64, oi: F64) -> _Flow:
    """Sequential anchor of one side to ``target`` (USD per candle): sweeps, then open or close the gap."""
    t = len(target)
    k = len(weights)
    w = np.asarray(s.notional, dtype=np.float64).copy()
    logdd = 0.0 if cfg.decay_half_life_candles is None else -math.log(2.0) / cfg.decay_half_life_candles
    dd = math.exp(logdd)
    order = np.argsort(s.swept_at, kind="stable")
    bounds = np.searchsorted(s.swept_at[order], np.arange(t + 1), side="left")
    big_l = np.zeros(t)
    swept_value = np.zeros(len(w))
    alive = 0.0
    closed = decayed = 0.0
    prev_l = 0.0
    for u in range(t):
        if alive > 0.0 and dd != 1.0:
            decayed += alive * (1.0 - dd)
            alive *= dd
        a, b = bounds[u], bounds[u + 1]
        if b > a:
            idx = order[a:b]
            vals = w[idx] * np.exp(prev_l + logdd - big_l[s.created[idx]])
            swept_value[idx] = vals
            alive = max(alive - float(vals.sum()), 0.0)
        if u == 0:  # the prior enters with the first candle's own positions
            alive += float(w[: s.n_prior].sum())
        logf = 0.0
        gap = float(target[u]) - alive
        if gap > 0.0:
            lo = s.n_prior + u * k
            w[lo : lo + k] = gap * weights
            alive += gap
        elif gap < 0.0 and alive > 0.0 and u > 0:
            remove = min(-gap, alive * _MAX_CLOSE_FRACTION)
            closed += remove
            logf = math.log1p(-remove / alive)
            alive -= remove
        big_l[u] = prev_l + logdd + logf
        prev_l = big_l[u]
    swept_value[s.swept_at >= t] = 0.0
    side = _Side(s.created, s.tier, w, s.price, s.swept_at, s.n_prior)
    hit = s.swept_at < t
    swept_usd = np.bincount(s.swept_at[hit], weights=swept_value[hit], minlength=t)[:t].astype(np.float64)
    # after each candle's sweeps the gap to the target is opened or closed, so alive equals the target
    levered = np.asarray(target, dtype=np.float64).copy()
    return _Flow(
        side, big_l, swept_value, closed, decayed, np.asarray(oi, dtype=np.float64), swept_usd, levered
    )


# --------------------------------------------------------------------------------------------------------
# grid, swept aggregates, profile
# --------------------------------------------------------------------------------------------------------
def _grid(side: _Side, big_l: F64, col_of: I64, col_end: I64, bin_idx: I64, n_cols: int, n_bins: int) -> F64:
    """Alive USD per (column, bin): a bincount difference array plus a cumulative sum, block-referenced."""
    t = len(col_of)
    inside = (bin_idx >= 0) & (bin_idx < n_bins)
    cc = col_of[side.created]
    cu = np.where(side.swept_at < t, col_of[np.minimum(side.swept_at, t - 1)], n_cols)
    lc = big_l[side.created]  # a gather of T values: no exponential per position unless blocks need it
    l_end = big_l[col_end]
    # split columns into blocks whose log-multiplier spans less than _LOG_BLOCK_SPAN
    starts = [0]
    if l_end[0] - l_end[-1] > _LOG_BLOCK_SPAN:
        for j in range(1, n_cols):
            if l_end[starts[-1]] - l_end[j] > _LOG_BLOCK_SPAN:
                starts.append(j)
    starts.append(n_cols)
    blocks = []
    single = len(starts) == 2
    for j0, j1 in zip(starts[:-1], starts[1:], strict=True):
        rows = j1 - j0
        ref = 0.0 if j0 == 0 else float(l_end[j0 - 1])
        sel = inside if single else inside & (cc < j1) & (cu > j0)
        base = np.where(sel, side.notional, 0.0) if single else side.notional[sel]
        a = cc if single else np.maximum(cc[sel], j0) - j0
        b = cu if single else np.minimum(cu[sel], j1) - j0
        bins = np.where(sel, bin_idx, 0) if single else bin_idx[sel]
        if single:
            # one block: exp(−L_c) per candle, gathered per position
            if big_l.any():
                base = base * np.exp(np.minimum(-big_l, 700.0))[side.created]
        else:
            base = base * np.exp(np.minimum(ref - lc[sel], 700.0))
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
    """Swept positions of one side, merged into clusters of adjacent price bins (one row per cluster)."""
    n_bins = len(edges) - 1
    price, created, swept = s.price[hit], s.created[hit], s.swept_at[hit]
    b = np.clip(bins, 0, n_bins - 1)
    tot = np.bincount(b, weights=usd, minlength=n_bins)
    idx = np.flatnonzero(tot > 0)
    # a run of adjacent non-empty bins is one cluster
    run_start = np.r_[True, np.diff(idx) > 1]
    cluster_of_bin = np.full(n_bins, -1, dtype=np.int64)
    cluster_of_bin[idx] = np.cumsum(run_start) - 1
    cl = cluster_of_bin[b]
    n_cl = int(cl.max()) + 1 if cl.size else 0
    usd_c = np.bincount(cl, weights=usd, minlength=n_cl)
    pv_c = np.bincount(cl, weights=usd * price, minlength=n_cl)
    times = pd.DatetimeIndex(open_time)
    big = np.iinfo(np.int64).max

    def at(arr: I64, fn: np.ufunc) -> I64:
        out = np.full(n_cl, big if fn is np.minimum else -1, dtype=np.int64)
        fn.at(out, cl, arr)
        return out

    first_bin = idx[run_start]
    last_bin = idx[np.r_[run_start[1:], True]]
    return pd.DataFrame(
        {
            "side": name,
            "price": pv_c / usd_c,
            "bin_low": edges[first_bin],
            "bin_high": edges[last_bin + 1],
            "notional_usd": usd_c,
            "created_first": times[at(created, np.minimum)],
            "created_last": times[at(created, np.maximum)],
            "swept_first": times[at(swept, np.minimum)],
            "swept_last": times[at(swept, np.maximum)],
        }
    )


def _column_layout(t: int, n_cols: int | None) -> tuple[I64, I64, int]:
    cols = t if n_cols is None else max(1, min(int(n_cols), t))
    bounds = np.floor(np.linspace(0, t, cols + 1)).astype(np.int64)
    col_of = np.searchsorted(bounds, np.arange(t), side="right").astype(np.int64) - 1
    col_end = bounds[1:] - 1
    return col_of, col_end, cols


@dataclass(frozen=True)
class _Alive:
    """The positions of one side alive at the last candle, compacted once."""

    price: F64
    usd: F64
    created: I64
    bin: I64
    tier: I64


@dataclass(frozen=True)
class _Grid:
    edges: F64
    lo: float
    hi: float

    def bins_of(self, p: F64) -> I64:
        n = len(self.edges) - 1
        return np.floor((p - self.lo) / (self.hi - self.lo) * n).astype(np.int64)


def _alive_at_end(f: _Flow, grid: _Grid) -> _Alive:
    s, t = f.side, len(f.big_l)
    ia = np.flatnonzero((s.swept_at >= t) & (s.notional > 0))
    created = s.created[ia]
    value_end = s.notional[ia]
    if f.big_l.any():
        value_end = value_end * np.exp(f.big_l[t - 1] - f.big_l[created])
    price = s.price[ia]
    return _Alive(price, value_end, created, grid.bins_of(price), s.tier[ia])


def _swept_tables(
    flows: tuple[_Flow, _Flow], grid: _Grid, open_time: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = len(open_time)
    spc = pd.DataFrame({"open_time": open_time})
    frames = []
    for name, f in zip(SIDES, flows, strict=True):
        s = f.side
        hit = (s.swept_at < t) & (f.swept_value > 0)
        spc[f"{name}_usd"] = f.swept_usd
        if hit.any():
            b = grid.bins_of(s.price[hit])
            frames.append(_swept_by_bin(name, b, f.swept_value[hit], s, hit, grid.edges, open_time))
    cols = [
        "side", "price", "bin_low", "bin_high", "notional_usd",
        "created_first", "created_last", "swept_first", "swept_last",
    ]  # fmt: skip
    if not frames:
        empty = pd.DataFrame({k: pd.Series(dtype="float64") for k in cols}).astype({"side": "object"})
        return empty, spc
    swept = pd.concat(frames, ignore_index=True)
    return swept.sort_values("swept_last", ascending=False, ignore_index=True), spc


def _profile(alive: tuple[_Alive, _Alive], configured: F64, edges: F64) -> pd.DataFrame:
    n_bins, k = len(edges) - 1, len(configured)
    frames = []
    for name, a in zip(SIDES, alive, strict=True):
        ok = (a.bin >= 0) & (a.bin < n_bins)
        agg = np.bincount(a.bin[ok] * k + a.tier[ok], weights=a.usd[ok], minlength=n_bins * k).reshape(
            n_bins, k
        )
        bi, ti = np.nonzero(agg)
        frames.append(
            pd.DataFrame(
                {
                    "bin_low": edges[bi],
                    "bin_high": edges[bi + 1],
                    "side": name,
                    "leverage": configured[ti],
                    "notional_usd": agg[bi, ti],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _alive_per_candle(flows: tuple[_Flow, _Flow], open_time: pd.Series, levered_share: float) -> pd.DataFrame:
    """Levered alive USD per side and candle (all prices, in or out of the grid), and the modelled OI."""
    out = pd.DataFrame({"open_time": open_time})
    for name, f in zip(SIDES, flows, strict=True):
        out[f"{name}_levered_usd"] = f.levered_usd
        out[f"{name}_total_usd"] = f.levered_usd + (1.0 - levered_share) * f.anchor_usd
    return out


# --------------------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------------------
def _check_symbol(symbol: object) -> str | None:
    if symbol is None:
        return None
    if not isinstance(symbol, str) or not symbol.strip():
        raise DataValidationError(
            f"symbol must be a Binance symbol such as 'BTCUSDT' (a string), or None; got {symbol!r:.40}."
        )
    return symbol.strip().upper()


def _usd_basis(model: str, cfg: ModelConfig) -> str:
    share = f"{cfg.levered_share:.0%} of open interest at the leverage tiers"
    if model == "oi":
        return f"anchored to open interest ({share})"
    return f"volume model, turnover-calibrated ({share}; positions close with a {cfg.half_life_hours():.0f} h half-life)"


def estimate(
    candles: pd.DataFrame,
    *,
    symbol: str | None,
    open_interest: pd.DataFrame | None = None,
    config: ModelConfig | None = None,
) -> Estimate:
    """Estimate where leveraged positions would be liquidated, from ``candles`` (and open interest).

    Parameters
    ----------
    candles : DataFrame
        ``open_time`` (UTC), ``open, high, low, close, volume``; optionally ``quote_volume`` (USD) and
        ``taker_buy_volume`` (base asset). Sorted, unique times. Not modified.
    symbol : str or None
        Binance symbol (e.g. ``"BTCUSDT"``); required, because it picks the maintenance-margin brackets and the
        maximum leverage. ``None`` uses a generic small-cap schedule and says so in ``notes``.
    open_interest : DataFrame, optional
        ``time`` (UTC) and ``open_interest_usd``. When given, positions follow open interest (the OI model);
        otherwise the volume model runs.
    config : ModelConfig, optional
        Every assumption of the model; defaults to ``ModelConfig()``.

    Returns
    -------
    Estimate
        Heatmap grid, levels, zones, swept positions, per-candle swept and alive USD, summary and totals. All
        USD values are estimates of the notional of positions whose liquidation price sits there.

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
    sym = _check_symbol(symbol)
    c = validate_candles(candles)
    inp = _inputs(c, cfg)
    tiers = _tiers(cfg, sym)
    as_of = BRACKETS_AS_OF
    notes = [n for n in (tiers.brackets.note, _tier_note(tiers, cfg, sym, as_of)) if n]
    if cfg.entry_mode == "vwap" and "quote_volume" not in c.columns:
        notes.append("No quote volume in the data: entry prices use the typical price (high+low+close)/3.")
    model: Literal["oi", "volume"]
    if open_interest is not None:
        oi_vals, oi_notes = _align_oi(c, validate_open_interest(open_interest))
        flows, flow_notes = _oi_flows(c, inp, tiers, cfg, oi_vals)
        model = "oi"
        notes += oi_notes
    else:
        flows, flow_notes = _volume_flows(c, inp, tiers, cfg)
        model = "volume"
    notes += flow_notes
    return _assemble(c, cfg, sym, model, flows, tiers, tuple(notes), as_of)


def _level_edges(lo: float, hi: float, last_price: float) -> F64:
    """Bins the levels are found on: :data:`LEVEL_BIN_PCT` of the last price wide, whatever the range shown,
    so a week and a month of data group the same positions into the same levels (at most
    :data:`MAX_LEVEL_BINS` bins; wider when a range is so large it would need more)."""
    width = max(last_price * LEVEL_BIN_PCT / 100.0, (hi - lo) / MAX_LEVEL_BINS)
    n = max(1, math.ceil((hi - lo) / width))
    return lo + width * np.arange(n + 1, dtype=np.float64)


def _assemble(
    c: pd.DataFrame,
    cfg: ModelConfig,
    symbol: str | None,
    model: Literal["oi", "volume"],
    flows: tuple[_Flow, _Flow],
    tiers: _Tiers,
    notes: tuple[str, ...],
    as_of: str,
) -> Estimate:
    """Grid, levels, swept tables, profile, summary and totals from the flows of both sides."""
    t = len(c)
    lo = float(c["low"].min()) * (1.0 - cfg.price_pad_pct / 100.0)
    hi = float(c["high"].max()) * (1.0 + cfg.price_pad_pct / 100.0)
    grid = _Grid(np.linspace(lo, hi, cfg.price_bins + 1), lo, hi)
    col_of, col_end, n_cols = _column_layout(t, cfg.time_columns)
    grids = [
        _grid(f.side, f.big_l, col_of, col_end, grid.bins_of(f.side.price), n_cols, cfg.price_bins)
        for f in flows
    ]
    alive = (_alive_at_end(flows[0], grid), _alive_at_end(flows[1], grid))
    times = c["open_time"].to_numpy(dtype="datetime64[ns]")[np.searchsorted(col_of, np.arange(n_cols))]
    heat = Heatmap(times=times, price_edges=grid.edges, long_usd=grids[0], short_usd=grids[1])
    open_time = c["open_time"]
    swept_df, spc = _swept_tables(flows, grid, open_time)
    last_price = float(c["close"].iloc[-1])
    levels, zones = build_levels(
        edges=_level_edges(lo, hi, float(c["close"].iloc[-1])),
        sides={name: (a.price, a.usd, a.created) for name, a in zip(SIDES, alive, strict=True)},
        low=c["low"].to_numpy(),
        high=c["high"].to_numpy(),
        open_time=open_time,
        last_price=last_price,
        config=cfg,
    )
    summary = build_summary(
        last_price=last_price,
        levels=levels,
        long_prices=alive[0].price,
        long_usd=alive[0].usd,
        short_prices=alive[1].price,
        short_usd=alive[1].usd,
    )
    per_candle = _alive_per_candle(flows, open_time, cfg.levered_share)
    alive_total = float(alive[0].usd.sum() + alive[1].usd.sum())
    in_grid = float(heat.long_usd[-1].sum() + heat.short_usd[-1].sum())
    hedged = (1.0 - cfg.levered_share) * float(flows[0].anchor_usd[-1] + flows[1].anchor_usd[-1])
    totals = {
        "added_usd": float(flows[0].side.notional.sum() + flows[1].side.notional.sum()),
        "alive_usd": alive_total,
        "swept_usd": float(spc["long_usd"].sum() + spc["short_usd"].sum()),
        "closed_usd": float(sum(f.closed_usd for f in flows)),
        "decayed_usd": float(sum(f.decayed_usd for f in flows)),
        "outside_grid_usd": max(alive_total - in_grid, 0.0),
        "hedged_usd": hedged,
        "open_interest_usd": float(flows[0].anchor_usd[-1] + flows[1].anchor_usd[-1]) / 2.0,
    }
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
        profile=_profile(alive, tiers.configured, grid.edges),
        summary=summary,
        totals=totals,
        notes=notes,
        usd_basis=_usd_basis(model, cfg),
        tier_adjustments=tiers.adjustments,
        brackets_as_of=as_of,
        alive_per_candle=per_candle,
    )
