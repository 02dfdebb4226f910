"""Live-tail and overlay benchmark: ``python -m benchmarks.live_tail``.

1. A websocket server on 127.0.0.1 floods the live tail (:mod:`liq._check.live_tail`) with ``--events``
   forceOrder messages spread over ``--symbols`` symbols, as fast as it can send them. Prints the events per
   second the tail took in, the events it kept, its buffer's bytes and the process's RSS growth, against the
   caps (memory must stay bounded however much arrives).
2. The overlay on the tail's full buffer: the time of :func:`liq._check.overlay.aggregate_markers` on 1,200
   bars, and of :func:`liq._check.overlay.compare_with_recorded` for the built-in Dec 2024 recording over the
   built-in BTCUSDT candles.

Point the app at such a server with the environment variable ``LIQ_FORCE_ORDER_URL`` (``ws://127.0.0.1:<port>/``).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import liq
from benchmarks._data import median_ms
from liq._check import live_tail, overlay
from liq._check.recorded import builtin_recording
from tests.support.ws_server import ThreadedWsServer, hold

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[1] / "tests/data/ws_forceOrder.docexample.json").read_text()
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _messages(n: int, n_symbols: int) -> list[str]:
    now_ms = int(time.time() * 1000)
    out = []
    for i in range(n):
        data = copy.deepcopy(EXAMPLE)
        data["E"] = data["o"]["T"] = now_ms - n + i
        data["o"]["s"] = f"SYM{i % n_symbols}USDT"
        data["o"]["S"] = "SELL" if i % 3 else "BUY"
        data["o"]["ap"] = str(100.0 + (i % 500) * 0.1)
        out.append(json.dumps({"stream": "!forceOrder@arr", "data": data}))
    return out


def _flood(n: int, n_symbols: int) -> tuple[live_tail.LiveTail, float]:
    msgs = _messages(n, n_symbols)

    async def script(conn, k):  # type: ignore[no-untyped-def]
        for m in msgs:
            await conn.send(m)
        await hold(conn)

    with ThreadedWsServer(script) as server:
        tail = live_tail.LiveTail(server.url, backoff_initial_s=0.05, backoff_max_s=0.2).start()
        t0 = time.perf_counter()
        while tail.status().events_received < n and time.perf_counter() - t0 < 300:
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        tail.stop()
    return tail, elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--symbols", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    rss0 = _rss_mb()
    tail, elapsed = _flood(args.events, args.symbols)
    st = tail.status()
    print(
        f"flood: {st.events_received:,} events in {elapsed:.1f} s = {st.events_received / elapsed:,.0f} events/s"
    )
    print(
        f"kept {st.events_kept:,} (cap {live_tail.MAX_EVENTS_TOTAL:,} total, {live_tail.MAX_EVENTS_PER_SYMBOL:,}"
        f"/symbol), dropped {st.events_dropped:,}; buffers {st.buffer_bytes / 1e6:.1f} MB; "
        f"peak RSS +{_rss_mb() - rss0:.0f} MB"
    )
    ev = pd.concat([tail.events(f"SYM{k}USDT") for k in range(args.symbols)], ignore_index=True)
    t = ev["time"].astype("int64") // 10**9
    step = max(1, int(t.max() - t.min()) // 1200 + 1)
    bars = int(t.min()) + step * np.arange(1200)
    t_mark = median_ms(lambda: overlay.aggregate_markers(ev, bars, step), args.repeats)
    n_markers = len(overlay.aggregate_markers(ev, bars, step).frame)
    print(
        f"aggregate_markers: the whole buffer ({len(ev):,} events) on 1,200 bars -> {n_markers:,} markers: "
        f"{t_mark:.1f} ms (median)"
    )

    start, end = datetime(2024, 11, 25, tzinfo=timezone.utc), datetime(2024, 12, 5, 2, tzinfo=timezone.utc)
    md = liq.load_market_data("BTCUSDT", "5m", start, end, source="sample").data
    est = liq.estimate(md.candles, symbol="BTCUSDT")
    rec = builtin_recording("BTCUSDT", start, end)
    assert rec is not None
    t_cmp = median_ms(lambda: overlay.compare_with_recorded(est, rec), args.repeats)
    print(
        f"compare_with_recorded: {len(est.levels)} levels, {len(est.swept)} swept clusters, "
        f"{len(rec.events):,} events: {t_cmp:.1f} ms (median)"
    )


if __name__ == "__main__":
    main()
