"""Screener benchmark: ``python -m benchmarks.screener``.

Screens the built-in sample's ten pairs, 7 days of 5m candles each, the way the app does (the per-pair
cache of ``ui.cache.screen_row`` inside ``liq``'s pool of workers), and prints:

* **cold**: every cache empty (Streamlit's caches and the sample's file cache), goal ≤ 3 s;
* **warm**: the same screen again, every row from the cache, goal ≤ 0.5 s;
* the cost of one pair on one worker, for ``docs/SCALING.md``;
* the Binance request weight a live refresh of the same screen would spend.

Nothing here is asserted; the figures are printed against their goals.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import streamlit as st

import liq
from liq import _screen
from liq._sources import sample

COLD_GOAL_S = 3.0
WARM_GOAL_S = 0.5
END = datetime(2026, 1, 29, 6, 35, tzinfo=timezone.utc)
START = END - timedelta(days=7)


def _clear() -> None:
    st.cache_data.clear()
    sample._read.cache_clear()
    sample._segments_unlocked.cache_clear()


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _verdict(value: float, goal: float) -> str:
    return "OK" if value <= goal else "MISSED"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes of bare mode

    from ui import cache

    config = liq.ModelConfig()
    pairs = liq.sample_symbols()

    def app_screen(workers: int = _screen.SCREEN_WORKERS) -> liq._screen.Screen:
        return _screen.screen(
            pairs,
            "5m",
            START,
            END,
            "sample",
            config,
            workers=workers,
            pair_fn=lambda sym: cache.screen_row(config, sym, "5m", START, END, "sample"),
        )

    colds, warms = [], []
    for _ in range(args.repeats):
        _clear()
        colds.append(_timed(app_screen))
        warms.append(statistics.median(_timed(app_screen) for _ in range(3)))
    res = app_screen()
    assert not res.failed, [r.error for r in res.failed]

    first, one = [], []
    for sym in pairs[:4]:
        _clear()  # the first pair also reads and indexes every sample file
        first.append(_timed(lambda s=sym: _screen.screen_pair(s, "5m", START, END, "sample", config)))
        st.cache_data.clear()
        one.append(_timed(lambda s=sym: _screen.screen_pair(s, "5m", START, END, "sample", config)))
    cold, warm = statistics.median(colds), statistics.median(warms)
    print(
        f"Levels screener, {len(pairs)} sample pairs, 7 days of 5m ({(END - START) // timedelta(minutes=5):,} candles each)"
    )
    print(
        f"  cold (empty caches)   median {cold:6.2f} s  worst {max(colds):5.2f} s   goal <= {COLD_GOAL_S:g} s   {_verdict(cold, COLD_GOAL_S)}"
    )
    print(
        f"  warm (cached rows)    median {warm * 1e3:6.1f} ms worst {max(warms) * 1e3:5.1f} ms  goal <= {WARM_GOAL_S * 1e3:.0f} ms  {_verdict(warm, WARM_GOAL_S)}"
    )
    per_pair = statistics.median(one)
    print(
        f"  one pair, one worker  median {per_pair * 1e3:6.0f} ms (slice + estimate + row, files in memory)"
    )
    print(
        f"  the first pair        median {statistics.median(first) * 1e3:6.0f} ms (also reads every sample file)"
    )
    print(
        "  (the sample is screened by one worker: with nothing to wait for, threads only take turns at the GIL)"
    )
    w = _screen.live_request_weight("5m", END - START)
    n_fit = (_screen.LIVE_WEIGHT_BUDGET - _screen.TICKER_24H_WEIGHT - _screen.EXCHANGE_INFO_WEIGHT) // w
    print(
        f"  live refresh: {w} weight a pair (klines) + {_screen.oi_requests('5m', END - START)} open-interest "
        f"requests; {len(pairs)} pairs = {len(pairs) * w + _screen.TICKER_24H_WEIGHT + _screen.EXCHANGE_INFO_WEIGHT} "
        f"weight of Binance's 2,400 a minute; the {_screen.LIVE_WEIGHT_BUDGET} budget fits {n_fit} pairs"
    )


if __name__ == "__main__":
    main()
