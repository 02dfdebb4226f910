"""Benchmark inputs. Benchmarks (only) may read the shared real data set next to the repo."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "liq" / "data" / "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz"


def real_5m(symbol: str = "BTCUSDT") -> pd.DataFrame:
    """Real 5m klines: the shared Oct 2024 – Feb 2025 file when present, else the built-in sample."""
    path = SHARED / f"binance_futures_{symbol}_5m_2024-10-01_2025-02-18.csv"
    df = pd.read_csv(path if path.exists() else SAMPLE)
    ms = df["open_time_ms"]
    out = df[["open", "high", "low", "close", "volume"]].astype("float64")
    out.insert(0, "open_time", pd.to_datetime(ms, unit="ms", utc=True))
    return out


def one_minute_walk(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` 1-minute candles: a seeded random walk whose per-minute volatility and volume are calibrated on
    the real BTCUSDT 5m data (5m log-return std / sqrt(5), 5m volume / 5, lognormal)."""
    real = real_5m()
    r5 = np.diff(np.log(real["close"].to_numpy()))
    sigma = float(np.std(r5)) / np.sqrt(5.0)
    v5 = real["volume"].to_numpy()
    log_v1 = np.log(v5[v5 > 0] / 5.0)
    vol_mu, vol_sd = float(log_v1.mean()), float(log_v1.std())
    rng = np.random.default_rng(seed)
    # 4 sub-steps per minute give each candle a high/low beyond open/close
    steps = rng.standard_normal((n, 4)) * sigma / 2.0
    path = np.log(float(real["close"].iloc[0])) + np.cumsum(steps.ravel()).reshape(n, 4)
    open_ = np.exp(np.concatenate([[path[0, 0]], path[:-1, -1]]))
    px = np.exp(path)
    high = np.maximum(px.max(axis=1), open_)
    low = np.minimum(px.min(axis=1), open_)
    close = px[:, -1]
    volume = np.exp(rng.normal(vol_mu, vol_sd, n))
    times = pd.date_range("2024-12-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame(
        {"open_time": times, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def interleaved_median_ms(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time (ms) of each of ``fns`` over ``repeats`` rounds, one call of each per round.

    Taking turns puts every function under the same machine load, so a ratio of two medians is not skewed
    by load that changed between two separate timing phases (this machine is shared).
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]
