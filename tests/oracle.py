"""Plain-loop reference implementation of the engine, used only as a test oracle.

It walks candle by candle and position by position, exactly as the model is described in words, with no
vectorisation tricks. It is slow on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from liq import ModelConfig, liquidation_price
from liq._config import bracket_for
from liq._sources.validate import validate_candles, validate_open_interest

MAX_CLOSE_FRACTION = 1.0 - 1e-12


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
    closed: float
    decayed: float


def oracle_estimate(
    candles: pd.DataFrame,
    *,
    open_interest: pd.DataFrame | None = None,
    config: ModelConfig | None = None,
    symbol: str | None = None,
) -> OracleResult:
    cfg = config or ModelConfig()
    c = validate_candles(candles)
    n = len(c)
    rows = c.to_dict("records")
    weights = np.asarray(cfg.tier_weights) / sum(cfg.tier_weights)
    bracket = bracket_for(symbol, cfg.assumed_position_usd)
    d = 1.0 if cfg.decay_half_life_candles is None else 2.0 ** (-1.0 / cfg.decay_half_life_candles)

    # per-candle inputs, row by row
    entries, shares, news = [], [], []
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
        quote = qv if (qv == qv and qv >= 0) else r["volume"] * entry
        news.append(cfg.inflow_share * quote)

    doi = [0.0] * n
    if open_interest is not None:
        oi = validate_open_interest(open_interest)
        step = pd.Series(c["open_time"]).diff().median()
        vals = []
        for r in rows:
            close_time = r["open_time"] + step
            before = oi[oi["time"] <= close_time]
            vals.append(float(before["open_interest_usd"].iloc[-1]) if len(before) else math.nan)
        first = next(i for i, v in enumerate(vals) if v == v)
        for i in range(first):
            vals[i] = vals[first]
        doi = [0.0] + [vals[i] - vals[i - 1] for i in range(1, n)]
        news = [max(x, 0.0) for x in doi]

    lo = float(c["low"].min()) * (1 - cfg.price_pad_pct / 100)
    hi = float(c["high"].max()) * (1 + cfg.price_pad_pct / 100)
    n_bins = cfg.price_bins
    n_cols = n if cfg.time_columns is None else max(1, min(cfg.time_columns, n))
    bounds = [int(x) for x in np.floor(np.linspace(0, n, n_cols + 1))]
    col_end = {bounds[j + 1] - 1: j for j in range(n_cols)}

    positions: list[OraclePosition] = []
    alive: list[OraclePosition] = []
    swept = {"long": np.zeros(n), "short": np.zeros(n)}
    grids = {"long": np.zeros((n_cols, n_bins)), "short": np.zeros((n_cols, n_bins))}
    added = closed = decayed = 0.0
    for u in range(n):
        for p in alive:  # decay of this candle
            decayed += p.value * (1 - d)
            p.value *= d
        still = []
        swept_now = 0.0
        for p in alive:  # sweeps (positions created at u are not in `alive` yet)
            touched = rows[u]["low"] <= p.price if p.side == "long" else rows[u]["high"] >= p.price
            if touched:
                swept[p.side][u] += p.value
                swept_now += p.value
                p.swept_at = u
            else:
                still.append(p)
        alive = still
        total = sum(p.value for p in alive)
        if doi[u] < 0 and total > 0:  # closures
            remove = min(max(-doi[u] - swept_now, 0.0), total * MAX_CLOSE_FRACTION)
            if remove > 0:
                frac = remove / total
                for p in alive:
                    p.value *= 1 - frac
                closed += remove
        for side, mult in (("long", 2 * shares[u]), ("short", 2 * (1 - shares[u]))):
            for k, lev in enumerate(cfg.leverage_tiers):
                notional = news[u] * mult * weights[k]
                if notional <= 0:
                    continue
                price = liquidation_price(
                    entries[u],
                    lev,
                    side,
                    bracket.mmr,
                    bracket.maint_amount_usd,
                    cfg.assumed_position_usd / entries[u],
                )
                pos = OraclePosition(u, side, k, notional, price, notional)
                positions.append(pos)
                alive.append(pos)
                added += notional
        if u in col_end:
            j = col_end[u]
            for p in alive:
                b = math.floor((p.price - lo) / (hi - lo) * n_bins)
                if 0 <= b < n_bins:
                    grids[p.side][j, b] += p.value
    return OracleResult(
        positions=positions,
        swept_long=swept["long"],
        swept_short=swept["short"],
        grid_long=grids["long"],
        grid_short=grids["short"],
        added=added,
        alive=sum(p.value for p in alive),
        closed=closed,
        decayed=decayed,
    )
