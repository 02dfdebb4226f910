"""Plain-loop reference implementation of the engine, used only as a test oracle.

It walks candle by candle and position by position, exactly as the model is described in words, with no
vectorisation tricks. It is slow on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from liq import ModelConfig, liquidation_price
from liq._brackets import brackets_for
from liq._engine import _MAX_CLOSE_FRACTION, _MAX_PRIOR_SIGMA, PRIOR_VOLUME_HOURS, prior_grid
from liq._sources.validate import validate_candles, validate_open_interest

# the model's constants, read from the engine (the oracle checks the loop, not the numbers)
MAX_CLOSE_FRACTION = _MAX_CLOSE_FRACTION
MAX_PRIOR_SIGMA = _MAX_PRIOR_SIGMA


@dataclass
class OraclePosition:
    created: int
    side: str
    tier: int
    notional: float
    price: float
    value: float
    swept_at: int = -1


@dataclass
class OracleResult:
    positions: list[OraclePosition]
    swept_long: np.ndarray
    swept_short: np.ndarray
    grid_long: np.ndarray
    grid_short: np.ndarray
    added: float
    alive: float
    lost: float  # closed + decayed


@dataclass
class _Setup:
    rows: list[dict]
    entries: list[float]
    shares: list[float]
    quotes: list[float]
    leverages: list[float]
    weights: list[float]
    mmr: float
    cum: float
    step_hours: float


def _setup(c: pd.DataFrame, cfg: ModelConfig, symbol: str | None) -> _Setup:
    rows = c.to_dict("records")
    sb = brackets_for(symbol)
    bracket = sb.bracket_at(cfg.assumed_position_usd)
    max_lev = sb.max_leverage(cfg.assumed_position_usd)
    total = sum(cfg.tier_weights)
    weights = [w / total for w in cfg.tier_weights]
    over = [lev > max_lev for lev in cfg.leverage_tiers]
    if cfg.above_max_leverage == "drop" and any(w > 0 for w, o in zip(weights, over, strict=True) if not o):
        weights = [0.0 if o else w for w, o in zip(weights, over, strict=True)]
        weights = [w / sum(weights) for w in weights]
    leverages = [min(lev, max_lev) for lev in cfg.leverage_tiers]
    entries, shares, quotes = [], [], []
    for r in rows:
        typical = (r["high"] + r["low"] + r["close"]) / 3.0
        entry = typical
        qv = r.get("quote_volume", math.nan)
        if cfg.entry_mode != "typical" and qv == qv and qv > 0 and r["volume"] > 0:
            vwap = qv / r["volume"]
            if r["low"] <= vwap <= r["high"]:
                entry = vwap
        share = 0.5
        tb = r.get("taker_buy_volume", math.nan)
        if cfg.use_taker_split and tb == tb and r["volume"] > 0:
            share = min(max(tb / r["volume"], 0.0), 1.0)
        entries.append(entry)
        shares.append(share)
        quotes.append(qv if (qv == qv and qv >= 0) else r["volume"] * entry)
    times = c["open_time"]
    step = pd.Series(times).diff().median() if len(times) > 1 else pd.Timedelta(minutes=1)
    return _Setup(
        rows, entries, shares, quotes, leverages, weights, bracket.mmr, bracket.maint_amount_usd,
        step.total_seconds() / 3600.0,
    )  # fmt: skip


def _price(s: _Setup, cfg: ModelConfig, entry: float, k: int, side: str) -> float:
    return liquidation_price(entry, s.leverages[k], side, s.mmr, s.cum, cfg.assumed_position_usd / entry)


def _sigma(s: _Setup, lifetime: float) -> float:
    closes = [r["close"] for r in s.rows]
    r = [math.log(b / a) for a, b in zip(closes[:-1], closes[1:], strict=True)]
    vol = float(np.std(r)) if len(r) > 1 else 0.0
    if not math.isfinite(lifetime):
        return MAX_PRIOR_SIGMA
    return min(vol * math.sqrt(max(lifetime, 1.0)), MAX_PRIOR_SIGMA)


def _prior(s: _Setup, cfg: ModelConfig, side: str, usd: float, sigma: float) -> list[OraclePosition]:
    if usd <= 0:
        return []
    p0, low0, high0 = s.rows[0]["open"], s.rows[0]["low"], s.rows[0]["high"]
    out = []
    zs, zw = prior_grid(sigma)
    for z, wz in zip(zs, zw, strict=True):
        entry = p0 * math.exp(z * sigma)
        for k in range(len(s.leverages)):
            price = _price(s, cfg, entry, k, side)
            beyond = price >= low0 if side == "long" else price <= high0
            share = s.weights[k] * wz
            if beyond or share <= 0:
                continue
            out.append(OraclePosition(0, side, k, share, price, share))
    total = sum(p.notional for p in out)
    for p in out:
        p.notional = p.value = usd * p.notional / total
    return out


def _oi_values(c: pd.DataFrame, open_interest: pd.DataFrame, rows: list[dict]) -> list[float]:
    oi = validate_open_interest(open_interest)
    step = pd.Series(c["open_time"]).diff().median()
    vals = []
    for r in rows:
        before = oi[oi["time"] <= r["open_time"] + step]
        vals.append(float(before["open_interest_usd"].iloc[-1]) if len(before) else math.nan)
    first = next(i for i, v in enumerate(vals) if v == v)
    for i in range(first):
        vals[i] = vals[first]
    return vals


@dataclass
class _State:
    """What the loop carries from candle to candle."""

    positions: list[OraclePosition]
    alive: dict[str, list[OraclePosition]]
    swept: dict[str, np.ndarray]
    lost: float = 0.0


def _decay_and_sweep(st_: _State, s: _Setup, u: int, side: str, factor: float) -> None:
    """Closures (volume model) and decay of this candle, then its sweeps (positions created at u are not alive yet)."""
    for p in st_.alive[side]:
        st_.lost += p.value * (1 - factor)
        p.value *= factor
    row = s.rows[u]
    still = []
    for p in st_.alive[side]:
        if (row["low"] <= p.price) if side == "long" else (row["high"] >= p.price):
            st_.swept[side][u] += p.value
            p.swept_at = u
        else:
            still.append(p)
    st_.alive[side] = still


def _new_notional(
    st_: _State, s: _Setup, cfg: ModelConfig, u: int, side: str, oi_vals: list[float] | None
) -> float:
    """New levered notional of this candle and side; in the OI model, closes the gap when OI fell."""
    if oi_vals is None:
        mult = 2 * s.shares[u] if side == "long" else 2 * (1 - s.shares[u])
        return cfg.levered_share * cfg.inflow_share * s.quotes[u] * mult
    total = sum(p.value for p in st_.alive[side])
    gap = cfg.levered_share * oi_vals[u] - total
    if gap < 0 and total > 0 and u > 0:
        remove = min(-gap, total * MAX_CLOSE_FRACTION)
        for p in st_.alive[side]:
            p.value *= 1 - remove / total
        st_.lost += remove
    return max(gap, 0.0)


def _open(st_: _State, s: _Setup, cfg: ModelConfig, u: int, side: str, new: float) -> None:
    for k in range(len(s.leverages)):
        notional = new * s.weights[k]
        if notional <= 0:
            continue
        pos = OraclePosition(u, side, k, notional, _price(s, cfg, s.entries[u], k, side), notional)
        st_.positions.append(pos)
        st_.alive[side].append(pos)


def _snapshot(
    grids: dict[str, np.ndarray], j: int, alive: dict[str, list[OraclePosition]], lo: float, hi: float
) -> None:
    n_bins = grids["long"].shape[1]
    for side in ("long", "short"):
        for p in alive[side]:
            b = math.floor((p.price - lo) / (hi - lo) * n_bins)
            if 0 <= b < n_bins:
                grids[side][j, b] += p.value


def _prior_size(
    s: _Setup, cfg: ModelConfig, oi_vals: list[float] | None, n: int
) -> tuple[float, float, float]:
    """(closure factor per candle, prior USD per side, mean lifetime in candles)."""
    half_life_candles = cfg.half_life_hours() / s.step_hours
    lifetime = half_life_candles / math.log(2.0)
    if oi_vals is not None:
        return 1.0, cfg.levered_share * oi_vals[0], lifetime
    dc = 2.0 ** (-1.0 / half_life_candles) if math.isfinite(half_life_candles) else 1.0
    n_first = max(1, min(n, round(PRIOR_VOLUME_HOURS / s.step_hours)))
    rate = cfg.inflow_share * sum(s.quotes[:n_first]) / n_first
    prior_usd = cfg.levered_share * rate * lifetime if math.isfinite(lifetime) else 0.0
    return dc, prior_usd, lifetime


def oracle_estimate(candles: pd.DataFrame, *, symbol: str | None, **options: Any) -> OracleResult:
    """The loop reference of :func:`liq.estimate` (same arguments: ``open_interest``, ``config``)."""
    open_interest: pd.DataFrame | None = options.get("open_interest")
    cfg: ModelConfig = options.get("config") or ModelConfig()
    c = validate_candles(candles)
    n = len(c)
    s = _setup(c, cfg, symbol)
    dd = 1.0 if cfg.decay_half_life_candles is None else 2.0 ** (-1.0 / cfg.decay_half_life_candles)
    oi_vals = None if open_interest is None else _oi_values(c, open_interest, s.rows)
    dc, prior_usd, lifetime = _prior_size(s, cfg, oi_vals, n)
    sigma = _sigma(s, lifetime)

    lo = float(c["low"].min()) * (1 - cfg.price_pad_pct / 100)
    hi = float(c["high"].max()) * (1 + cfg.price_pad_pct / 100)
    n_cols = n if cfg.time_columns is None else max(1, min(cfg.time_columns, n))
    bounds = [int(x) for x in np.floor(np.linspace(0, n, n_cols + 1))]
    col_end = {bounds[j + 1] - 1: j for j in range(n_cols)}
    grids = {"long": np.zeros((n_cols, cfg.price_bins)), "short": np.zeros((n_cols, cfg.price_bins))}
    st_ = _State([], {"long": [], "short": []}, {"long": np.zeros(n), "short": np.zeros(n)})
    for u in range(n):
        for side in ("long", "short"):
            _decay_and_sweep(st_, s, u, side, dc * dd)
            if u == 0:
                prior = _prior(s, cfg, side, prior_usd, sigma)
                st_.positions += prior
                st_.alive[side] += prior
            _open(st_, s, cfg, u, side, _new_notional(st_, s, cfg, u, side, oi_vals))
        if u in col_end:
            _snapshot(grids, col_end[u], st_.alive, lo, hi)
    return OracleResult(
        positions=st_.positions,
        swept_long=st_.swept["long"],
        swept_short=st_.swept["short"],
        grid_long=grids["long"],
        grid_short=grids["short"],
        added=sum(p.notional for p in st_.positions),
        alive=sum(p.value for side in st_.alive.values() for p in side),
        lost=st_.lost,
    )
