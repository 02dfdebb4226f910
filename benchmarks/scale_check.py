"""Scale check: ``python -m benchmarks.scale_check``.

The model check scores ranks, which no USD scale affects. This compares the *size* of the model's swept USD
with what was really liquidated: the volume model (default config) over Binance BTCUSDT 5m klines from
2023-01-01 to 2024-05-14, summed per UTC day, against Coinalyze's daily Binance BTCUSDT long and short
liquidations for the same days. That period is not part of the model check's holdout. Reads ``../shared/data``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import liq
from benchmarks._data import SHARED

KLINES = SHARED / "binance_futures_BTCUSDT_5m_2023-01-01_2024-05-14.csv"
DAILY = SHARED / "coinalyze_daily_binance_BTCUSDT_oi_liquidations_funding_2022-01-02_2024-09-20.csv"
WARMUP_DAYS = 7


def main() -> None:
    t0 = time.perf_counter()
    k = pd.read_csv(KLINES)
    candles = k[["open", "high", "low", "close", "volume"]].astype("float64")
    candles.insert(0, "open_time", pd.to_datetime(k["open_time_ms"], unit="ms", utc=True))
    cfg = liq.ModelConfig(time_columns=100)
    est = liq.estimate(candles, config=cfg, symbol="BTCUSDT")
    spc = est.swept_per_candle
    model = spc.groupby(spc["open_time"].dt.date)[["long_usd", "short_usd"]].sum()
    daily = pd.read_csv(DAILY)
    daily.index = pd.to_datetime(daily["date_utc"]).dt.date
    both = model.join(daily, how="inner").iloc[WARMUP_DAYS:]
    print(
        f"Scale check: volume model (default config) vs recorded daily liquidations, Binance BTCUSDT, {len(both)} days"
    )
    print(
        f"  ({both.index[0]} -> {both.index[-1]}, first {WARMUP_DAYS} days skipped as warm-up; recorded = Coinalyze)"
    )
    for side in ("long", "short"):
        m = both[f"{side}_usd"].to_numpy()
        r = both[f"binance_btcusdt_liq_{side}_usd"].to_numpy()
        ok = r > 0
        ratio = float(np.median(m[ok] / r[ok]))
        rho = liq.spearman(m, r)
        print(
            f"  {side:5s}  model median {np.median(m) / 1e6:8.1f} M USD/day   recorded median {np.median(r) / 1e6:6.2f} M USD/day"
            f"   median ratio x{ratio:5.1f}   daily Spearman {rho:+.2f}"
        )
    oi_last = float(both["binance_btcusdt_oi_usd"].iloc[-1])
    print(
        f"  alive at the end of the run: {est.totals['alive_usd'] / 1e9:,.1f} B USD (recorded OI that day {oi_last / 1e9:.1f} B USD)"
    )
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
