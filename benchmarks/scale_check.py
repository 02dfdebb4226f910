"""Scale check: are the model's dollars believable?  ``python -m benchmarks.scale_check``

The model check scores ranks, which no USD scale affects. This checks the *size* of the dollars against what
was really there, on Binance BTCUSDT 5m klines of 2023-01-01 → 2024-05-14 (not a holdout period) with the
default config (volume model, as on the built-in sample):

1. modelled positions per side (levered + hedged) ÷ Coinalyze's daily open interest, median over the days after
   the first week: target 0.7-1.4;
2. daily swept USD ÷ Coinalyze's recorded daily liquidations, median per side: target ≤ 5× (the recording is a
   lower bound: the stream sends at most one liquidation per symbol per second);
3. the largest level of a 7-day and of a 30-day estimate ending at the same candle, at 12 month-ends: within
   25 % of each other.

It also prints the trade-off of the levered share (the one scale parameter) against these figures and the
tuning-window swept ratio that chose it. Reads ``../shared/data`` (benchmarks only).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import liq
from benchmarks._data import SHARED

KLINES = SHARED / "binance_futures_BTCUSDT_5m_2023-01-01_2024-05-14.csv"
DAILY = SHARED / "coinalyze_daily_binance_BTCUSDT_oi_liquidations_funding_2022-01-02_2024-09-20.csv"
WARMUP_DAYS = 7
ALIVE_TARGET = (0.7, 1.4)
SWEPT_TARGET = 5.0
RANGE_TARGET = 0.25
LEVERED_SHARES = (0.01, 0.02, 0.05, 0.10, 0.25, 1.0)


def _candles() -> pd.DataFrame:
    k = pd.read_csv(KLINES)
    c = k[["open", "high", "low", "close", "volume"]].astype("float64")
    c.insert(0, "open_time", pd.to_datetime(k["open_time_ms"], unit="ms", utc=True))
    return c


def _daily() -> pd.DataFrame:
    d = pd.read_csv(DAILY)
    d.index = pd.to_datetime(d["date_utc"]).dt.date
    return d


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def dollars(est: liq.Estimate, daily: pd.DataFrame) -> dict[str, float]:
    """Median daily ratios of one long estimate against Coinalyze: alive/OI and swept/recorded per side."""
    spc = est.swept_per_candle
    day = spc["open_time"].dt.date
    swept = spc.groupby(day)[["long_usd", "short_usd"]].sum()
    alive = est.alive_per_candle.groupby(est.alive_per_candle["open_time"].dt.date)[
        ["long_total_usd", "short_total_usd", "long_levered_usd", "short_levered_usd"]
    ].last()
    both = swept.join(alive).join(daily, how="inner").iloc[WARMUP_DAYS:]
    oi = both["binance_btcusdt_oi_usd"].to_numpy()
    out: dict[str, float] = {"days": float(len(both))}
    for side in ("long", "short"):
        rec = both[f"binance_btcusdt_liq_{side}_usd"].to_numpy()
        ok = rec > 0
        out[f"swept_{side}"] = float(np.median(both[f"{side}_usd"].to_numpy()[ok] / rec[ok]))
        out[f"alive_{side}"] = float(np.median(both[f"{side}_total_usd"].to_numpy() / oi))
        out[f"levered_{side}"] = float(np.median(both[f"{side}_levered_usd"].to_numpy() / oi))
        out[f"rho_{side}"] = liq.spearman(both[f"{side}_usd"].to_numpy(), rec)
    return out


def range_stability(candles: pd.DataFrame, cfg: liq.ModelConfig) -> pd.DataFrame:
    """Largest level of a 7-day and a 30-day estimate ending at the same candle, at 12 month-ends."""
    ends = pd.date_range("2023-02-28 23:55", "2024-04-30 23:55", freq="ME", tz="UTC")[-12:]
    rows = []
    t = candles["open_time"]
    for end in ends:
        row: dict[str, object] = {"end": end.date()}
        for days in (7, 30):
            part = candles[(t > end - pd.Timedelta(days=days)) & (t <= end)]
            est = liq.estimate(part, symbol="BTCUSDT", config=cfg)
            row[f"max_{days}d_usd"] = float(est.levels["notional_usd"].max()) if len(est.levels) else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    a, b = out["max_7d_usd"], out["max_30d_usd"]
    out["rel_diff"] = (a - b).abs() / np.maximum(a, b)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-tradeoff", action="store_true", help="skip the levered-share table")
    args = ap.parse_args()
    t0 = time.perf_counter()
    candles, daily = _candles(), _daily()
    cfg = liq.ModelConfig(time_columns=100)
    est = liq.estimate(candles, symbol="BTCUSDT", config=cfg)
    d = dollars(est, daily)
    print(
        f"Scale check: default config ({est.usd_basis}), Binance BTCUSDT 5m, {d['days']:.0f} days "
        f"2023-01-08 -> 2024-05-14 vs Coinalyze daily figures (first {WARMUP_DAYS} days skipped)"
    )
    lo, hi = ALIVE_TARGET
    for side in ("long", "short"):
        a, s = d[f"alive_{side}"], d[f"swept_{side}"]
        print(
            f"  {side:5s} modelled positions / OI  median {a:5.2f}   (target {lo}-{hi}: {_verdict(lo <= a <= hi)})"
            f"   of which on the map (levered) {d[f'levered_{side}']:.3f}"
        )
        print(
            f"  {side:5s} swept / recorded per day median x{s:5.2f}  (target <= x{SWEPT_TARGET:g}: "
            f"{_verdict(s <= SWEPT_TARGET)})   daily Spearman {d[f'rho_{side}']:+.2f}"
        )
    rs = range_stability(candles, liq.ModelConfig())
    worst = float(rs["rel_diff"].max())
    print(
        f"  largest level, 7-day vs 30-day estimate ending at the same candle (12 month-ends): median difference "
        f"{rs['rel_diff'].median():.0%}, worst {worst:.0%} (target <= {RANGE_TARGET:.0%}: {_verdict(worst <= RANGE_TARGET)})"
    )
    for r in rs.itertuples():
        print(
            f"      {r.end}  7d {r.max_7d_usd / 1e6:8.2f} M   30d {r.max_30d_usd / 1e6:8.2f} M   diff {r.rel_diff:4.0%}"
        )
    if not args.no_tradeoff:
        print(
            "\n  Trade-off of the levered share (swept USD is proportional to it; ranks, and so the model check's"
        )
        print("  partial Spearman, do not depend on it):")
        print(f"  {'levered share':>14} {'positions/OI long':>18} {'swept/recorded long':>20} {'short':>7}")
        for share in LEVERED_SHARES:
            e = liq.estimate(candles, symbol="BTCUSDT", config=cfg.with_(levered_share=share))
            dd = dollars(e, daily)
            mark = "  <- default" if share == cfg.levered_share else ""
            print(
                f"  {share:14.2f} {dd['alive_long']:18.2f} {dd['swept_long']:19.1f}x {dd['swept_short']:6.1f}x{mark}"
            )
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
