"""Engine benchmark: ``python -m benchmarks.engine``.

Prints the median time of ``liq.estimate`` on 43,200 one-minute candles (30 days) with 5 leverage tiers ×
2 sides on a 1000 × 500 grid, beside the plain numpy prototype (``benchmarks/_prototype.py``) on the same
candles (each in its own phase, and taking turns), the plain-loop oracle's time on a smaller slice scaled up, and the time at 4× the candles, against the
targets of the engine issues (at most 1.2× the prototype, about 60 ms, ≥ 100× the oracle). The candles are a seeded random walk
calibrated on real BTCUSDT 5m data (see ``benchmarks/_data.py``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import liq
from benchmarks._data import interleaved_median_ms, median_ms, one_minute_walk
from benchmarks._prototype import prototype
from tests.support.oracle import oracle_estimate

TARGET_MEDIAN_MS = 60.0
TARGET_PROTOTYPE_RATIO = 1.2
TARGET_SPEEDUP = 100.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=25)
    ap.add_argument("--oracle-candles", type=int, default=1440)
    args = ap.parse_args(argv)

    n = 43_200
    # the setting: 5 leverage tiers (the "Classic 5-100x" preset) x 2 sides, 1000 x 500 grid
    cfg = liq.ModelConfig.preset("Classic 5-100x", time_columns=1000, price_bins=500)
    default_cfg = liq.ModelConfig(time_columns=1000, price_bins=500)
    candles = one_minute_walk(4 * n)
    base = candles.iloc[:n]
    t_default = median_ms(lambda: liq.estimate(base, config=default_cfg, symbol="BTCUSDT"), args.repeats)
    t_4x = median_ms(lambda: liq.estimate(candles, config=cfg, symbol="BTCUSDT"), max(3, args.repeats // 3))
    lev = np.asarray(cfg.leverage_tiers)
    w = np.asarray(cfg.tier_weights) / sum(cfg.tier_weights)
    proto = dict(
        mmr=0.004, half_life_candles=cfg.half_life_hours() * 60, levered_share=cfg.levered_share,
        inflow_share=cfg.inflow_share, n_cols=1000, n_bins=500, pad_pct=cfg.price_pad_pct,
    )  # fmt: skip
    run_estimate = lambda: liq.estimate(base, config=cfg, symbol="BTCUSDT")  # noqa: E731
    run_prototype = lambda: prototype(base, lev, w, **proto)  # noqa: E731
    # Two ways to time them, both printed: each in its own phase (how the goal was first measured), and
    # taking turns, one call of each per round (both under the same load, and neither reuses a heap left
    # warm by its own previous call). The verdict takes the worse ratio.
    t_main = median_ms(run_estimate, args.repeats)
    t_proto = median_ms(run_prototype, args.repeats)
    t_main_turns, t_proto_turns = interleaved_median_ms([run_estimate, run_prototype], args.repeats)

    m = args.oracle_candles
    small_cfg = cfg.with_(time_columns=max(1, round(1000 * m / n)))
    small = base.iloc[:m]
    t_vec_small = median_ms(lambda: liq.estimate(small, config=small_cfg, symbol="BTCUSDT"), args.repeats)
    t0 = time.perf_counter()
    oracle_estimate(small, config=small_cfg, symbol="BTCUSDT")
    t_oracle_small = (time.perf_counter() - t0) * 1e3
    t_oracle_scaled = t_oracle_small * n / m  # linear scaling: a lower bound, the oracle grows faster

    growth = t_4x / t_main
    print(f"liq.estimate, {n:,} 1m candles, 5 tiers x 2 sides, 1000x500 grid")
    print(
        f"  median            {t_main:8.1f} ms   target <= {TARGET_MEDIAN_MS:.0f} ms   {'OK' if t_main <= TARGET_MEDIAN_MS else 'MISSED'}"
    )
    ratio, ratio_turns = t_main / t_proto, t_main_turns / t_proto_turns
    worst = max(ratio, ratio_turns)
    print(f"  plain numpy prototype {t_proto:.1f} ms: estimate is x{ratio:.2f} (each in its own phase)")
    print(
        f"  taking turns: estimate {t_main_turns:.1f} ms, prototype {t_proto_turns:.1f} ms: x{ratio_turns:.2f}"
    )
    print(
        f"  worse of the two x{worst:.2f}   target <= x{TARGET_PROTOTYPE_RATIO}   "
        f"{'OK' if worst <= TARGET_PROTOTYPE_RATIO else 'MISSED'}"
    )
    print(f"  default config ({len(default_cfg.leverage_tiers)} tiers): {t_default:.1f} ms")
    print(f"  4x candles        {t_4x:8.1f} ms   growth x{growth:.2f} for 4x data (linear = x4.0)")
    print(
        f"oracle (plain loops) on {m:,} candles: {t_oracle_small:,.0f} ms; scaled to {n:,}: {t_oracle_scaled:,.0f} ms"
    )
    print(
        f"  vectorised on the same {m:,} candles: {t_vec_small:.1f} ms (x{t_oracle_small / t_vec_small:,.0f})"
    )
    speedup = t_oracle_scaled / t_main
    print(
        f"  speed-up at {n:,} candles: x{speedup:,.0f}   target >= x{TARGET_SPEEDUP:.0f}   {'OK' if speedup >= TARGET_SPEEDUP else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
