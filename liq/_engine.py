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
all positions are resolved in ``O(N log T)`` numpy work; the grid is a difference array (positions added at
their creation column, the swept ones subtracted at their sweep column) plus a cumulative sum over columns.
Each side's positions are made, summarised and dropped before the other side's; the swept and alive
positions are taken once by index and reused; no pass copies or masks arrays of the positions' size when an
index or an in-place operation does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import Literal, TypeVar

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
from ._formula import check_positive_prices, unchecked_liquidation_price_into
from ._levels import Summary, build_levels, build_summary, descending_order
from ._sources.validate import validate_candles, validate_open_interest

__all__ = ["Estimate", "Heatmap", "TierAdjustment", "estimate", "first_touch"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
_Scalar = TypeVar("_Scalar", bound=np.generic)

#: Closures never remove more than this fraction of what is alive in one candle (keeps logs finite).
_MAX_CLOSE_FRACTION = 1.0 - 1e-12
#: Blocks of the grid are re-referenced when the log-multiplier drops by this much (avoids overflow).
_LOG_BLOCK_SPAN = 300.0
#: Hours of candles whose volume sizes the volume model's prior.
PRIOR_VOLUME_HOURS = 24.0
#: Upper bound of the prior's entry-price spread (log units), so a very long lifetime cannot spread it absurdly.
_MAX_PRIOR_SIGMA = 0.25
SIDES = ("long", "short")
#: Positions handled at a time by the passes that scatter them (their buffers stay small and in cache).
_CHUNK = 1 << 15


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
def _sparse_min_table(values: F64, reduce: np.ufunc = np.minimum) -> list[F64]:
    """``table[j][i] = min(values[i : i + 2**j])``, truncated at the end of ``values`` (every row has length n);
    maxima with ``reduce=np.maximum``."""
    table = [values]
    j = 1
    while (1 << j) <= len(values):
        prev = table[-1]
        half = 1 << (j - 1)
        row = np.empty_like(prev)  # each element written once (a copy of prev would write most twice)
        reduce(prev[:-half], prev[half:], out=row[:-half])
        row[-half:] = prev[-half:]
        table.append(row)
        j += 1
    return table


def first_touch(values: F64, start: I64, threshold: F64, *, above: bool = False) -> I64:
    """First index ``i >= start`` with ``values[i] <= threshold``, or ``len(values)`` when there is none.

    Vectorised over queries. A suffix minimum settles the queries that never touch; the others use a sparse
    table of range minima (``table[j][i] = min(values[i:i+2**j])``) with binary lifting: from the largest
    block down, skip a block whenever its minimum stays above the threshold. That is ``O(log T)`` numpy
    passes over the queries, never a per-query Python scan. With ``above=True`` it finds the first
    ``values[i] >= threshold`` instead (maxima for minima), which is ``first_touch(-values, start, -threshold)``
    without the negated copies.

    Examples
    --------
    >>> v = np.array([5.0, 4.0, 6.0, 3.0, 7.0])
    >>> first_touch(v, np.array([0, 1, 2, 4]), np.array([3.5, 4.0, 3.0, 3.0])).tolist()
    [3, 1, 3, 5]
    >>> first_touch(v, np.array([0, 1, 2, 4]), np.array([5.5, 7.5, 6.0, 7.0]), above=True).tolist()
    [2, 5, 2, 4]
    """
    n = len(values)
    start = np.asarray(start, dtype=np.int64)
    thr = np.asarray(threshold, dtype=np.float64)
    if n == 0 or start.size == 0:
        return np.full(start.shape, n, dtype=np.int64)
    reduce, touches, beyond = (
        (np.maximum, np.greater_equal, np.less) if above else (np.minimum, np.less_equal, np.greater)
    )
    suffix = np.append(reduce.accumulate(values[::-1])[::-1], -np.inf if above else np.inf)
    # a start before 0 searches from 0, one at or after the end finds nothing (the ±inf after the end)
    open_q = np.flatnonzero(touches(np.take(suffix, start, mode="clip"), thr))
    pos = np.maximum(start[open_q], 0)
    if open_q.size:
        table = _sparse_min_table(values, reduce)
        th = thr[open_q]
        # Every open query has a touch at some h >= pos, and the loop never skips past it, so pos < n holds
        # throughout; a block truncated at the end of the data contains h and is therefore never skipped.
        for j in range(len(table) - 1, -1, -1):
            pos += beyond(table[j][pos], th) * (1 << j)
        del table, th  # the result may reuse their memory
    out = np.full(start.shape, n, dtype=np.int64)
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
    opens: F64  # the candles' prices (views of the validated frame's columns, taken once)
    highs: F64
    lows: F64
    closes: F64


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
    if not len(ns):
        return 60.0
    if ns.min() == ns.max():  # evenly spaced candles: the median is that step (no partition of T values)
        return float(ns[0]) / 1e9
    return float(np.median(ns)) / 1e9


def _inputs(c: pd.DataFrame, cfg: ModelConfig) -> _Inputs:
    entry = _entry_prices(c, "typical" if cfg.entry_mode == "typical" else "vwap")
    return _Inputs(
        entry=entry,
        quote_volume=_quote_volume(c, entry),
        taker_share=_taker_share(c, cfg.use_taker_split),
        step_hours=_candle_seconds(c["open_time"]) / 3600.0,
        opens=c["open"].to_numpy(),
        highs=c["high"].to_numpy(),
        lows=c["low"].to_numpy(),
        closes=c["close"].to_numpy(),
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
    """Positions of one side, ordered by creation candle: the prior (created at candle 0) first, then one per
    (candle, tier)."""

    created: I64  # creation candle
    tier: npt.NDArray[np.int8]  # tier index (at most MAX_TIERS: a byte holds it, in an eighth of the memory)
    notional: F64  # USD at creation
    price: F64  # exact liquidation price
    swept_at: I64  # sweep candle, or T when alive at the end
    n_prior: int  # the first n_prior positions are the prior
    all_positive: bool = False  # known to have notional > 0 everywhere (compacted)


def _liq_prices(entry: F64, tiers: _Tiers, side: str, cfg: ModelConfig, out: F64 | None = None) -> F64:
    """Liquidation price per (entry, tier), shape (len(entry), K), into ``out`` when given.

    The formula of :func:`liq.liquidation_price` without its input checks, which hold here already: entries
    are positive and finite (validated candles), tiers above 1x (config bounds, clipped to a maximum above 1x)
    and the rate in ``[0, 1)`` (bracket table). The result is checked as the public function checks it. It is
    computed a tier at a time: contiguous entries in, one (strided) column out, which numpy does much faster
    than rows of only K values, with no temporary larger than the entries.
    """
    if out is None:
        out = np.empty((len(entry), len(tiers.leverage)))
    sign = 1.0 if side == "long" else -1.0
    signed_cum = None
    if tiers.maint_amount_usd != 0:  # cum / quantity, quantity = position / entry
        signed_cum = sign * (np.float64(tiers.maint_amount_usd) / (cfg.assumed_position_usd / entry))
    col = np.empty(len(entry))
    for j, lev in enumerate(tiers.leverage):
        unchecked_liquidation_price_into(entry, float(lev), sign, tiers.mmr, signed_cum, out=col)
        out[:, j] = check_positive_prices(col)
    return out


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
    inp: _Inputs, tiers: _Tiers, side: str, cfg: ModelConfig, usd: float, sigma: float
) -> tuple[F64, F64, I64]:
    """Prior positions (price, notional, tier) spread around the first price; see :func:`prior_grid`."""
    if usd <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    z, zw = prior_grid(sigma)
    entries = float(inp.opens[0]) * np.exp(z * sigma)
    prices = _liq_prices(entries, tiers, side, cfg)
    share = zw[:, None] * tiers.weight[None, :]
    low0, high0 = float(inp.lows[0]), float(inp.highs[0])
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
    p_price, p_usd, p_tier = _prior_positions(inp, tiers, side, cfg, prior, sigma)
    n_p = len(p_price)
    # filled in place, a tier at a time (index n_p + t·K + k): no temporary of the positions' size. The three
    # 8-byte columns share one allocation (one large block pages in much faster than three).
    block = np.empty((3, n_p + t * k))
    n0, price, created = block[0], block[1], block[2].view(np.int64)
    tier = np.empty(n_p + t * k, dtype=np.int8)
    created[:n_p], tier[:n_p], n0[:n_p], price[:n_p] = 0, p_tier, p_usd, p_price
    candles = np.arange(t)
    for j in range(k):
        created[n_p + j :: k] = candles
        tier[n_p + j :: k] = j
        np.multiply(new_usd, tiers.weight[j], out=n0[n_p + j :: k])
    _liq_prices(inp.entry, tiers, side, cfg, out=price[n_p:].reshape(t, k))
    # swept by the first candle after the creating one: the first touch in the candles from the second on,
    # searched from each position's own candle (no array of start candles), one candle later
    if side == "long":
        swept = first_touch(inp.lows[1:], created, price)
    else:
        swept = first_touch(inp.highs[1:], created, price, above=True)
    swept += 1
    return _Side(created, tier, n0, price, swept, n_p)


def _compact(s: _Side) -> _Side:
    """Drop positions with no notional (keeps later passes small)."""
    keep = s.notional > 0
    if keep.all():
        return replace(s, all_positive=True)
    n_prior = int(keep[: s.n_prior].sum())
    return _Side(
        s.created[keep], s.tier[keep], s.notional[keep], s.price[keep], s.swept_at[keep], n_prior, True
    )


# --------------------------------------------------------------------------------------------------------
# flows: how each side's positions grow, close, decay and get swept
# --------------------------------------------------------------------------------------------------------
class _LogExps:
    """The exponentials of a log-multiplier per candle that the grid and the alive positions need, each
    computed once when first used (the volume model's two sides share one multiplier, so they share these)."""

    def __init__(self, big_l: F64, from_start: F64 | None = None) -> None:
        self.big_l = big_l
        self._from_start = from_start  # when the caller has it already

    @cached_property
    def nonzero(self) -> bool:
        """Whether the multiplier is anywhere other than 0 (else every exponential is 1)."""
        return bool(self.big_l.any())

    @cached_property
    def to_end(self) -> F64:
        """``exp(L_{T−1} − L_c)`` per candle ``c``: a position's value at the last candle per unit of its notional."""
        return np.exp(self.big_l[-1] - self.big_l)

    @cached_property
    def from_start(self) -> F64:
        """``exp(−L_c)`` per candle ``c`` (capped at ``exp(700)``): a position's weight on the grid's one reference."""
        if self._from_start is not None:
            return self._from_start
        return np.exp(np.minimum(-self.big_l, 700.0))


@dataclass(frozen=True)
class _Flow:
    """One side after the model's flows ran."""

    side: _Side
    big_l: F64  # log-multiplier per candle: a position created at c is worth N0·exp(L_τ − L_c) at τ
    closed_usd: float
    decayed_usd: float
    anchor_usd: F64  # modelled open interest of this side per candle (levered + hedged)
    swept_usd: F64  # swept USD per candle
    levered_usd: F64  # levered (on the map) alive USD per candle, in or out of the grid
    hit: I64  # indices of the positions swept before the last candle ended (swept_at < T), increasing
    hit_at: I64  # their sweep candles (``side.swept_at[hit]``)
    hit_value: F64  # their values at their sweeps
    exps: _LogExps  # exponentials of ``big_l``


def _prior_sigma(closes: F64, lifetime_candles: float) -> float:
    r = np.diff(np.log(closes))
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


@dataclass(frozen=True)
class _VolumeRates:
    """The volume model's constants for one estimate (shared by both sides)."""

    log_close: float
    log_decay: float
    prior_total: float
    sigma: float
    big_l: F64  # ``c × logd`` per candle ``c``
    growth: F64  # ``exp(big_l)``: what a position is worth ``a`` candles after its creation is ``growth[a]``
    prior_anchor: F64
    blocks: tuple[_DecayBlock, ...]  # the decayed sums' exponentials, shared by both sides
    exps: _LogExps


#: Builds one side's flow on demand (``"long"`` or ``"short"``), so that the caller can summarise a side and
#: drop its positions before the other side's are made.
FlowMaker = Callable[[str], _Flow]


def _volume_flows(
    c: pd.DataFrame, inp: _Inputs, tiers: _Tiers, cfg: ModelConfig
) -> tuple[FlowMaker, list[str]]:
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
    l_ext = np.arange(t + 1, dtype=np.float64) * logd  # one candle more, for the decayed sums' carry
    big_l = l_ext[:t]
    growth_ext = np.exp(l_ext)
    if logd != 0.0 and t <= _decay_block_len(logd):  # one block (−L stays below 300): its exponentials
        from_start = np.exp(-big_l)  # (= exp(min(−L, 700)), the grid's weights) serve everywhere
        blocks: tuple[_DecayBlock, ...] = ((0, t, from_start, growth_ext),)
    else:
        blocks, from_start = _decay_blocks(t, logd), None
    rates = _VolumeRates(
        log_close,
        log_decay,
        prior_total,
        _prior_sigma(inp.closes, lifetime),
        big_l,
        growth_ext[:t],
        prior_total * growth_ext[:t],
        blocks,
        _LogExps(big_l, from_start),
    )
    notes = []
    if prior_total > 0:
        notes.append(
            "Volume model: positions close with a half-life of "
            f"{cfg.half_life_hours():.0f} h (from measured turnover); the first candle starts with the "
            "positions one day of its volume would hold, placed around the first price."
        )
    return partial(_volume_side, c, inp, tiers, cfg, rates), notes


def _volume_side(
    c: pd.DataFrame, inp: _Inputs, tiers: _Tiers, cfg: ModelConfig, r: _VolumeRates, side: str
) -> _Flow:
    """One side of the volume model: its positions, their sweeps and the per-candle flows."""
    t = len(c)
    logd = r.log_close + r.log_decay
    mult = 2.0 * inp.taker_share if side == "long" else 2.0 * (1.0 - inp.taker_share)
    new_side = cfg.inflow_share * inp.quote_volume * mult
    s = _compact(
        _positions(
            c, inp, tiers, cfg, side, cfg.levered_share * new_side, cfg.levered_share * r.prior_total, r.sigma
        )
    )
    hit = np.flatnonzero(s.swept_at < t)
    hit_at = s.swept_at.take(hit)
    # a swept position's value is its notional times exp(age × logd), age = its candles alive (1 to T−1): the
    # growth per age, gathered (the same numbers, without an exponential per position)
    age = s.created.take(hit)
    np.subtract(hit_at, age, out=age)
    hit_value: F64 = r.growth.take(age)
    del age
    hit_value *= s.notional.take(hit)
    swept_usd = np.bincount(hit_at, weights=hit_value, minlength=t)[:t].astype(np.float64)
    entered = np.bincount(s.created, weights=s.notional, minlength=t)[:t].astype(np.float64)
    new_decayed, entered_decayed, swept_decayed = _decayed_cumsums(
        (new_side, entered, swept_usd), logd, r.blocks
    )
    # alive = what entered, decayed since, minus what was swept, decayed since (a swept position's value at
    # its sweep is exactly its decayed value then)
    levered = np.maximum(entered_decayed - swept_decayed, 0.0)
    # what the levered positions lose to closures and decay: added − alive − swept
    lost = float(entered.sum()) - float(levered[-1]) - float(swept_usd.sum())
    closed, decayed = _split_loss(max(lost, 0.0), r.log_close, r.log_decay)
    anchor = r.prior_anchor + new_decayed
    return _Flow(s, r.big_l, closed, decayed, anchor, swept_usd, levered, hit, hit_at, hit_value, r.exps)


#: One block of candles of the decayed sums: its first and end candle, ``exp(−s·logd)`` for its steps ``s``
#: and ``exp(s·logd)`` for the steps ``0 … len`` (one more, for the carry into the block).
_DecayBlock = tuple[int, int, F64, F64]


def _decay_block_len(logd: float) -> int:
    """Candles per block of the decayed sums: their exponentials span at most :data:`_LOG_BLOCK_SPAN`."""
    return max(1, int(_LOG_BLOCK_SPAN / -logd))


def _decay_blocks(t: int, logd: float) -> tuple[_DecayBlock, ...]:
    """The blocks of :func:`_decayed_cumsums` for ``t`` candles: short enough that the exponentials stay finite."""
    if logd == 0.0:
        return ()
    block = _decay_block_len(logd)
    out = []
    for a in range(0, t, block):
        b = min(t, a + block)
        steps = np.arange(b - a + 1, dtype=np.float64)
        out.append((a, b, np.exp(-steps[:-1] * logd), np.exp(steps * logd)))
    return tuple(out)


def _decayed_cumsums(
    xs: tuple[F64, ...], logd: float, blocks: tuple[_DecayBlock, ...] | None = None
) -> list[F64]:
    """``y_t = Σ_{k<=t} x_k · exp((t−k)·logd)`` for each series in ``xs`` (all of one length), computed in
    blocks so the exponentials stay finite; the blocks' exponentials (``blocks``, from :func:`_decay_blocks`
    when not given) serve every series.

    Examples
    --------
    >>> [y.round(3).tolist() for y in _decayed_cumsums((np.ones(3), np.array([2.0, 0, 0])), math.log(0.5))]
    [[1.0, 1.5, 1.75], [2.0, 1.0, 0.5]]
    """
    t = len(xs[0])
    if logd == 0.0:
        return [np.cumsum(x) for x in xs]
    outs = [np.empty(t) for _ in xs]
    for a, b, down, up in _decay_blocks(t, logd) if blocks is None else blocks:
        for x, out in zip(xs, outs, strict=True):
            carry = float(out[a - 1]) if a else 0.0
            local = out[a:b]  # computed in place
            np.multiply(x[a:b], down, out=local)
            np.cumsum(local, out=local)
            local *= up[:-1]
            if carry:
                local += carry * up[1:]
    return outs


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
) -> tuple[FlowMaker, list[str]]:
    """OI model: each side's levered positions follow ``levered_share × OI``, starting from the first value."""
    lifetime = cfg.half_life_hours() / inp.step_hours / math.log(2.0)
    sigma = _prior_sigma(inp.closes, lifetime)

    def make(side: str) -> _Flow:
        s = _positions(c, inp, tiers, cfg, side, np.zeros(len(c)), cfg.levered_share * float(oi[0]), sigma)
        return _anchor_side(s, tiers.weight, cfg, cfg.levered_share * oi, oi)

    notes = [
        "OI model: each side's positions follow open interest, starting from its first value, placed around "
        "the first price; the taker split does not apply (every contract has one long and one short holder)."
    ]
    return make, notes


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
    side = _Side(s.created, s.tier, w, s.price, s.swept_at, s.n_prior)
    hit = np.flatnonzero(s.swept_at < t)
    hit_at, hit_value = s.swept_at[hit], swept_value[hit]
    swept_usd = np.bincount(hit_at, weights=hit_value, minlength=t)[:t].astype(np.float64)
    # after each candle's sweeps the gap to the target is opened or closed, so alive equals the target
    levered = np.asarray(target, dtype=np.float64).copy()
    oi_usd = np.asarray(oi, dtype=np.float64)
    return _Flow(
        side, big_l, closed, decayed, oi_usd, swept_usd, levered, hit, hit_at, hit_value, _LogExps(big_l)
    )


# --------------------------------------------------------------------------------------------------------
# grid, swept aggregates, profile
# --------------------------------------------------------------------------------------------------------
def _column_layout(t: int, n_cols: int | None) -> tuple[I64, I64, int]:
    cols = t if n_cols is None else max(1, min(int(n_cols), t))
    bounds = np.floor(np.linspace(0, t, cols + 1)).astype(np.int64)
    # bounds rise by at least 1 (cols <= t), so no column is empty and each candle's column is a repeat
    col_of = np.repeat(np.arange(cols, dtype=np.int64), np.diff(bounds))
    col_end = bounds[1:] - 1
    return col_of, col_end, cols


@dataclass(frozen=True)
class _Layout:
    """The heatmap's cells: each candle's column, each column's last candle, and the number of price bins."""

    col_of: I64
    col_end: I64
    n_cols: int
    n_bins: int


def _block_starts(l_end: F64) -> list[int]:
    """First column of each block of columns whose log-multiplier spans less than ``_LOG_BLOCK_SPAN``, then C."""
    n_cols = len(l_end)
    starts = [0]
    if l_end[0] - l_end[-1] > _LOG_BLOCK_SPAN:
        for j in range(1, n_cols):
            if l_end[starts[-1]] - l_end[j] > _LOG_BLOCK_SPAN:
                starts.append(j)
    starts.append(n_cols)
    return starts


def _cumsum_rows(a: F64, factor: F64 | None = None, clip: bool = False) -> None:
    """Cumulative sum down the rows of the C-contiguous 2-D array ``a``, in place; then each row times
    ``factor[row]`` (when given) and floored at 0 (``clip``).

    Rows add up within groups of about 2√R rows; then each group in turn adds the previous group's last row
    and, while it is still in cache, is scaled and clipped. The sums are those of ``np.cumsum(a, axis=0)`` up
    to rounding, in about 4√R numpy calls that each span many rows: several times faster than numpy's own
    accumulation down axis 0 followed by two more passes over the array.

    Examples
    --------
    >>> a = np.arange(12.0).reshape(6, 2)
    >>> _cumsum_rows(a)
    >>> a[:, 0].tolist()
    [0.0, 2.0, 6.0, 12.0, 20.0, 30.0]
    """
    r = a.shape[0]
    g = max(1, math.isqrt(4 * r))
    n_full = r // g
    groups = a[: n_full * g].reshape(n_full, g, a.shape[1])  # a view: ``a`` is C-contiguous
    for i in range(1, g):
        groups[:, i] += groups[:, i - 1]
    carry: F64 | None = None  # the previous row's running sum (before scaling)
    for lo in range(0, r, g):
        rows = a[lo : lo + g]
        if lo >= n_full * g:  # the last rows (fewer than g): a plain running sum
            if carry is not None:
                rows[0] += carry
            for i in range(1, len(rows)):
                rows[i] += rows[i - 1]
        elif carry is not None:
            rows += carry
        carry = rows[-1].copy()
        if factor is not None:
            rows *= factor[lo : lo + g, None]
        if clip:
            np.maximum(rows, 0.0, out=rows)


def _accumulate(diff: F64, rows: int, n_bins: int, scale: F64) -> F64:
    """Grid rows from a flat difference array: cumulative sum over columns, times ``exp(scale)`` per column,
    with the -1e-12 cumulative-sum noise clipped to 0."""
    block = diff[: rows * n_bins].reshape(rows, n_bins)
    if not block.flags.c_contiguous:  # never: ``diff`` is a fresh bincount
        block = np.ascontiguousarray(block)
    _cumsum_rows(block, np.exp(scale) if scale.any() else None, clip=True)
    return block


def _grid(f: _Flow, bins: I32, lay: _Layout, out: F64, any_outside: bool = True) -> F64:
    """Alive USD per (column, bin) into ``out`` (C × P): a difference array plus a cumulative sum over columns,
    block-referenced. ``bins`` is each position's price bin on the grid; positions off the grid are left out
    (``any_outside`` False says there are none)."""
    l_end = f.big_l[lay.col_end]
    starts = _block_starts(l_end)
    if len(starts) == 2:
        return _one_block_grid(f, bins, lay, l_end, out, any_outside)
    for j0, j1 in zip(starts[:-1], starts[1:], strict=True):
        out[j0:j1] = _block_grid(f, bins, lay, l_end, j0, j1)
    return out


def _pick(values: npt.NDArray[_Scalar], pos: slice | I64) -> npt.NDArray[_Scalar]:
    """``values[pos]``: a view for a slice, ``take`` (faster than fancy indexing) for indices."""
    return values[pos] if isinstance(pos, slice) else values.take(pos)


def _one_block_grid(f: _Flow, bins: I32, lay: _Layout, l_end: F64, out: F64, any_outside: bool) -> F64:
    """The grid when one reference multiplier serves every column: a position enters at its creation column
    and (if swept) leaves at its sweep column, weighted by ``exp(−L_c)`` gathered from its creation candle.

    Cells and weights are made :data:`_CHUNK` positions at a time in two small buffers, in position order, so
    the scatters add in the order one pass over all positions would (and no array of the positions' size is
    made). A position off the grid adds 0 to a valid cell of its column."""
    s, n_bins = f.side, lay.n_bins
    grow = f.exps.from_start if f.exps.nonzero else None
    col_key = lay.col_of * n_bins
    diff = out.reshape(-1)  # a view: ``out`` is C-contiguous
    diff.fill(0.0)
    n = len(s.created)
    m = max(1, min(n, _CHUNK))
    cell = np.empty(m, dtype=np.int64)
    weight = np.empty(m)

    def fill(pos: slice | I64, at: I64) -> tuple[I64, F64]:
        """Cells and weights of the positions ``pos``, whose columns are those of the candles ``at``."""
        c, w = cell[: len(at)], weight[: len(at)]
        # (every index is valid: "clip" only spares numpy's buffering of ``out`` that "raise" needs)
        np.take(col_key, at, out=c, mode="clip")
        b = _pick(bins, pos)
        off = b.view(np.uint32) >= n_bins if any_outside else None  # a negative bin is a huge unsigned one
        c += b if off is None else np.where(off, 0, b)
        if grow is None:
            np.copyto(w, _pick(s.notional, pos))
        else:
            np.take(grow, _pick(s.created, pos), out=w, mode="clip")
            w *= _pick(s.notional, pos)
        if off is not None:
            w[off] = 0.0
        return c, w

    for a in range(0, n, m):
        c, w = fill(slice(a, a + m), s.created[a : a + m])
        np.add.at(diff, c, w)
    for a in range(0, len(f.hit), m):
        h = f.hit[a : a + m]
        c, w = fill(h, f.hit_at[a : a + m])
        np.subtract.at(diff, c, w)
    return _accumulate(diff, lay.n_cols, n_bins, l_end)


def _block_grid(f: _Flow, bins: I32, lay: _Layout, l_end: F64, j0: int, j1: int) -> F64:
    """Columns ``j0:j1`` of the grid, referenced to the multiplier at the end of column ``j0 − 1``."""
    s, n_bins = f.side, lay.n_bins
    rows = j1 - j0
    ref = 0.0 if j0 == 0 else float(l_end[j0 - 1])
    cc = lay.col_of[s.created]
    cu = np.full(len(cc), lay.n_cols, dtype=np.int64)
    cu[f.hit] = lay.col_of[f.hit_at]
    sel = (bins >= 0) & (bins < n_bins) & (cc < j1) & (cu > j0)
    base = s.notional[sel] * np.exp(np.minimum(ref - f.big_l[s.created[sel]], 700.0))
    a = np.maximum(cc[sel], j0) - j0
    b = np.minimum(cu[sel], j1) - j0
    size = (rows + 1) * n_bins
    diff = np.bincount(a * n_bins + bins[sel], weights=base, minlength=size).astype(np.float64, copy=False)
    diff -= np.bincount(b * n_bins + bins[sel], weights=base, minlength=size)
    return _accumulate(diff, rows, n_bins, l_end[j0:j1] - ref)


SWEPT_COLUMNS = (
    "side", "price", "bin_low", "bin_high", "notional_usd",
    "created_first", "created_last", "swept_first", "swept_last",
)  # fmt: skip
#: The columns of ``Estimate.swept`` that hold times (computed as candle indices first).
_SWEPT_TIME_COLUMNS = SWEPT_COLUMNS[5:]


def _swept_clusters(f: _Flow, bins: I32, edges: F64) -> dict[str, npt.NDArray[np.generic]]:
    """Swept positions of one side, merged into clusters of adjacent price bins (one entry per cluster).

    Times are candle indices here (``_SWEPT_TIME_COLUMNS``); the caller turns them into open times.
    """
    n_bins = len(edges) - 1
    s = f.side
    h, usd, swept = f.hit, f.hit_value, f.hit_at
    positive = usd > 0
    b = bins.take(h).astype(np.int64)  # (numpy scatters and gathers by 64-bit indices faster)
    if not positive.all():
        h, usd, swept, b = h[positive], usd[positive], swept[positive], b[positive]
    if b.min() < 0 or b.max() >= n_bins:
        b = np.clip(b, 0, n_bins - 1)
    # per bin first (many bins: fast scatters), then per run of adjacent non-empty bins (one cluster each)
    tot = np.bincount(b, weights=usd, minlength=n_bins)
    price_usd = s.price.take(h)
    price_usd *= usd
    pv = np.bincount(b, weights=price_usd, minlength=n_bins)
    del price_usd
    idx = np.flatnonzero(tot > 0)
    run_start = np.r_[True, np.diff(idx) > 1]
    first = np.flatnonzero(run_start)
    big = np.iinfo(np.int64).max

    def per_cluster(arr: I64, fn: np.ufunc) -> I64:
        if len(first) == 1:  # one run of bins (the usual case): the cluster's extreme is the side's
            if arr is h:  # increasing
                return h[-1:] if fn is np.maximum else h[:1]
            return np.atleast_1d(fn.reduce(arr))
        out = np.full(n_bins, big if fn is np.minimum else -1, dtype=np.int64)
        fn.at(out, b, arr)
        return fn.reduceat(out[idx], first)

    usd_c = np.add.reduceat(tot[idx], first)
    return {
        "price": np.add.reduceat(pv[idx], first) / usd_c,
        "bin_low": edges[idx[first]],
        "bin_high": edges[idx[np.r_[first[1:] - 1, len(idx) - 1]] + 1],
        "notional_usd": usd_c,
        # positions are ordered by creation candle: the first and last created are the lowest and highest index
        "created_first": s.created[per_cluster(h, np.minimum)],
        "created_last": s.created[per_cluster(h, np.maximum)],
        "swept_first": per_cluster(swept, np.minimum),
        "swept_last": per_cluster(swept, np.maximum),
    }


@dataclass(frozen=True)
class _Alive:
    """The positions of one side alive at the last candle, compacted once."""

    price: F64
    usd: F64
    created: I64


@dataclass(frozen=True)
class _Profile:
    """Alive USD at the last candle per (bin, tier) of one side, for the cells that hold any."""

    bin: I64
    tier: I64
    usd: F64


@dataclass(frozen=True)
class _SideResult:
    """What an estimate keeps of one side once its positions are summarised (the positions themselves go)."""

    grid: F64
    alive: _Alive
    profile: _Profile
    clusters: dict[str, npt.NDArray[np.generic]] | None
    swept_usd: F64
    levered_usd: F64
    anchor_usd: F64
    added_usd: np.float64
    closed_usd: float
    decayed_usd: float


@dataclass(frozen=True)
class _Grid:
    edges: F64
    lo: float
    hi: float

    def bins_of(self, p: F64) -> I32:
        """Each price's bin ``floor((p − lo) / (hi − lo) × P)``, a price off the grid at −1 or P (so that bins fit
        32 bits), made :data:`_CHUNK` prices at a time (no temporary of the prices' size)."""
        n = len(self.edges) - 1
        out = np.empty(len(p), dtype=np.int32)
        x = np.empty(max(1, min(len(p), _CHUNK)))
        for a in range(0, len(p), len(x)):
            part = p[a : a + len(x)]
            xa = x[: len(part)]
            np.subtract(part, self.lo, out=xa)
            xa /= self.hi - self.lo
            xa *= n
            np.floor(xa, out=xa)
            np.clip(xa, -1.0, n, out=xa)
            out[a : a + len(part)] = xa
        return out


def _alive_at_end(
    f: _Flow, bins: I32, n_bins: int, k: int, any_outside: bool = True
) -> tuple[_Alive, _Profile]:
    """The side's positions alive at the last candle, and their USD per (grid bin, tier).

    The USD per cell is added :data:`_CHUNK` positions at a time, in position order (the sums of one bincount)."""
    s, t = f.side, len(f.big_l)
    alive = s.swept_at >= t
    if not s.all_positive:
        alive &= s.notional > 0
    ia = np.flatnonzero(alive)
    del alive
    created = s.created.take(ia)
    value_end = s.notional.take(ia)
    if not len(ia):  # (bincount's result, and so the profile's USD column, are int64 then, as before)
        agg: F64 = np.bincount(ia, weights=value_end, minlength=n_bins * k)  # type: ignore[assignment]
    else:
        agg = np.zeros(n_bins * k)
    for a in range(0, len(ia), _CHUNK):
        at, usd = ia[a : a + _CHUNK], value_end[a : a + _CHUNK]
        if f.exps.nonzero:
            usd *= f.exps.to_end.take(created[a : a + _CHUNK])  # in place: the values at the end
        b = bins.take(at)
        off = np.flatnonzero(b.view(np.uint32) >= n_bins) if any_outside else ()
        if len(off):  # off the grid: no weight, and any valid bin (a sum plus 0.0 is the same sum)
            b[off] = 0
            usd = usd.copy()
            usd[off] = 0.0
        cell = np.multiply(b, k, dtype=np.int64)  # (bin, tier) cells, as 64-bit indices (faster scatters)
        cell += s.tier.take(at)
        np.add.at(agg, cell, usd)
    bi, ti = np.nonzero(agg.reshape(n_bins, k))
    return _Alive(s.price.take(ia), value_end, created), _Profile(bi, ti, agg[bi * k + ti])


def _summarise(f: _Flow, grid: _Grid, lay: _Layout, k: int, out: F64) -> _SideResult:
    """Everything the estimate needs from one side's positions: grid (into ``out``), alive positions, profile
    and swept clusters."""
    bins = grid.bins_of(f.side.price)
    any_outside = bool(len(bins)) and (int(bins.min()) < 0 or int(bins.max()) >= lay.n_bins)
    alive, profile = _alive_at_end(f, bins, lay.n_bins, k, any_outside)
    clusters = _swept_clusters(f, bins, grid.edges) if np.any(f.hit_value > 0) else None
    return _SideResult(
        grid=_grid(f, bins, lay, out, any_outside),
        alive=alive,
        profile=profile,
        clusters=clusters,
        swept_usd=f.swept_usd,
        levered_usd=f.levered_usd,
        anchor_usd=f.anchor_usd,
        added_usd=f.side.notional.sum(),
        closed_usd=f.closed_usd,
        decayed_usd=f.decayed_usd,
    )


def _swept_tables(
    sides: tuple[_SideResult, _SideResult], open_time: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``Estimate.swept`` (clusters of both sides, latest sweep first) and ``Estimate.swept_per_candle``."""
    # the frames here are built from arrays made for them (no copy needed)
    spc = pd.DataFrame(
        {
            "open_time": open_time.array,
            **{f"{n}_usd": r.swept_usd for n, r in zip(SIDES, sides, strict=True)},
        },
        copy=False,
    )
    parts = {n: r.clusters for n, r in zip(SIDES, sides, strict=True) if r.clusters is not None}
    if not parts:
        empty = pd.DataFrame({k: pd.Series(dtype="float64") for k in SWEPT_COLUMNS}).astype(
            {"side": "object"}
        )
        return empty, spc
    cols = {k: np.concatenate([p[k] for p in parts.values()]) for k in SWEPT_COLUMNS[1:]}
    cols["side"] = np.repeat(list(parts), [len(p["price"]) for p in parts.values()])
    # latest sweep first, ties in the order DataFrame.sort_values gives them
    order = descending_order(open_time.to_numpy(dtype="datetime64[ns]")[cols["swept_last"]])
    times = open_time.array
    swept = {
        k: times.take(cols[k][order]) if k in _SWEPT_TIME_COLUMNS else cols[k][order] for k in SWEPT_COLUMNS
    }
    swept["side"] = pd.array(swept["side"], dtype="str")  # the frame's dtype for it, without inference
    return pd.DataFrame(swept, copy=False), spc


def _profile(profiles: tuple[_Profile, _Profile], configured: F64, edges: F64) -> pd.DataFrame:
    """``Estimate.profile``: alive USD at the last candle per (bin, tier) with any, longs then shorts."""
    bi = np.concatenate([p.bin for p in profiles])
    return pd.DataFrame(
        {
            "bin_low": edges[bi],
            "bin_high": edges[bi + 1],
            "side": pd.array(np.repeat(SIDES, [len(p.bin) for p in profiles]), dtype="str"),
            "leverage": configured[np.concatenate([p.tier for p in profiles])],
            "notional_usd": np.concatenate([p.usd for p in profiles]),
        },
        copy=False,
    )


def _alive_per_candle(
    sides: tuple[_SideResult, _SideResult], open_time: pd.Series, levered_share: float
) -> pd.DataFrame:
    """Levered alive USD per side and candle (all prices, in or out of the grid), and the modelled OI."""
    cols: dict[str, object] = {"open_time": open_time.array}  # (the candles' RangeIndex is the default)
    for name, r in zip(SIDES, sides, strict=True):
        cols[f"{name}_levered_usd"] = r.levered_usd
        cols[f"{name}_total_usd"] = r.levered_usd + (1.0 - levered_share) * r.anchor_usd
    return pd.DataFrame(cols, copy=False)  # arrays made for it


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
        make_flow, flow_notes = _oi_flows(c, inp, tiers, cfg, oi_vals)
        model = "oi"
        notes += oi_notes
    else:
        make_flow, flow_notes = _volume_flows(c, inp, tiers, cfg)
        model = "volume"
    notes += flow_notes
    return _assemble(c, cfg, sym, model, make_flow, tiers, tuple(notes), as_of)


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
    make_flow: FlowMaker,
    tiers: _Tiers,
    notes: tuple[str, ...],
    as_of: str,
) -> Estimate:
    """Grid, levels, swept tables, profile, summary and totals from the flows of both sides.

    Each side's flow is made and summarised in turn, so only one side's positions are in memory at a time.
    """
    t = len(c)
    low, high, close = (c[k].to_numpy() for k in ("low", "high", "close"))
    lo = float(low.min()) * (1.0 - cfg.price_pad_pct / 100.0)
    hi = float(high.max()) * (1.0 + cfg.price_pad_pct / 100.0)
    grid = _Grid(np.linspace(lo, hi, cfg.price_bins + 1), lo, hi)
    col_of, col_end, n_cols = _column_layout(t, cfg.time_columns)
    lay = _Layout(col_of, col_end, n_cols, cfg.price_bins)
    k = len(tiers.leverage)
    # both sides' grids in one allocation (one large block pages in much faster than two)
    grids = np.empty((2, n_cols, cfg.price_bins))
    sides = (
        _summarise(make_flow("long"), grid, lay, k, grids[0]),
        _summarise(make_flow("short"), grid, lay, k, grids[1]),
    )
    alive = (sides[0].alive, sides[1].alive)
    open_time = c["open_time"]
    times = open_time.to_numpy(dtype="datetime64[ns]")[np.r_[0, col_end[:-1] + 1]]
    heat = Heatmap(times=times, price_edges=grid.edges, long_usd=sides[0].grid, short_usd=sides[1].grid)
    swept_df, spc = _swept_tables(sides, open_time)
    last_price = float(close[-1])
    levels, zones = build_levels(
        edges=_level_edges(lo, hi, last_price),
        sides={name: (a.price, a.usd, a.created) for name, a in zip(SIDES, alive, strict=True)},
        low=low,
        high=high,
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
    per_candle = _alive_per_candle(sides, open_time, cfg.levered_share)
    alive_total = float(alive[0].usd.sum() + alive[1].usd.sum())
    in_grid = float(heat.long_usd[-1].sum() + heat.short_usd[-1].sum())
    oi_end = float(sides[0].anchor_usd[-1] + sides[1].anchor_usd[-1])
    totals = {
        "added_usd": float(sides[0].added_usd + sides[1].added_usd),
        "alive_usd": alive_total,
        "swept_usd": float(spc["long_usd"].sum() + spc["short_usd"].sum()),
        "closed_usd": float(sum(r.closed_usd for r in sides)),
        "decayed_usd": float(sum(r.decayed_usd for r in sides)),
        "outside_grid_usd": max(alive_total - in_grid, 0.0),
        "hedged_usd": (1.0 - cfg.levered_share) * oi_end,
        "open_interest_usd": oi_end / 2.0,
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
        profile=_profile((sides[0].profile, sides[1].profile), tiers.configured, grid.edges),
        summary=summary,
        totals=totals,
        notes=notes,
        usd_basis=_usd_basis(model, cfg),
        tier_adjustments=tiers.adjustments,
        brackets_as_of=as_of,
        alive_per_candle=per_candle,
    )
