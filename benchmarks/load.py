"""Server capacity benchmark: many simulated viewers on the app's own websocket protocol, no browsers.

``python -m benchmarks.load [--sessions N] [--seconds S] [--scenario default|cycle] [--port P]`` (not run
in CI). It starts ``streamlit run app.py`` itself (headless, 127.0.0.1, a free port unless ``--port``),
waits for its health check, drives it with N concurrent sessions from this one process (asyncio; each
session speaks Streamlit's ``BackMsg``/``ForwardMsg`` protocol, see ``benchmarks/_load_proto.py``) for a
bounded time, and stops it at the end (also on Ctrl-C or an error).

Scenarios:

* ``default``: each viewer opens a page (``/``, ``/liquidation_heatmap``, ``/model_check``) from a share
  link of its own (pair, range, preset, interval), then, after a think time (``--think``, default 5-15 s),
  acts as a user would: picks another pair, range, interval or leverage preset in the sidebar (widgets
  found by their label, options read from the element), clicks a candle of the chart (the component's
  state, as its frontend sends it), switches page, reloads, or presses "Share this view" and opens the
  link it shows in a new session. Source (``--source``): the built-in sample by
  default; ``live`` or ``archive`` are answered by a fake Binance on 127.0.0.1 (synthetic candles, open
  interest and daily archive zips); ``auto`` finds no Binance at all and falls back to the sample.
* ``cycle``: a few viewers (default 4, 180 s) step through 30 symbols × 3 ranges on the live source
  (the fake Binance), so every step is new data for the caches; RSS is printed every 10 s, with its growth
  after the warm-up (``--warmup``, default 60 s).

Figures, printed against the targets of issue 12: errors (exception elements in the deltas, compile
errors, reruns that failed or timed out, "Something unexpected went wrong" messages, and Traceback blocks
in the server's log), p50/p95 of the time from sending ``rerun_script`` to ``script_finished``, reruns
done, and the server's peak RSS (``/proc/<pid>/status`` of the server and its children).

The server may reach nothing but loopback: a ``sitecustomize`` put on its path refuses other connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field

import websockets

from benchmarks._load_proto import (
    FakeBinance,
    ProtocolError,
    Run,
    Server,
    Viewer,
    fake_symbols,
    loopback_only,
    query_of,
    serve_app,
)

# Targets (issue 12, "Capacity, measured at the server").
TARGET_SESSIONS = 50
TARGET_SECONDS = 60
TARGET_ERRORS = 0
TARGET_P95_S = 1.5
TARGET_RSS_MB = 600
#: "Flat after warm-up": RSS may grow at most this much from the end of the warm-up to the end of the run.
TARGET_GROWTH_MB = 50
CYCLE_SYMBOLS = 30
CYCLE_RANGES = ("1d", "3d", "7d")

PAGES = (("/", 0.6), ("/liquidation_heatmap", 0.25), ("/model_check", 0.15))
MARKET_PAGES = {"/", "/liquidation_heatmap"}
#: What a share link in the wild holds: the app's public URL parameters (sym, iv, range, preset, src).
LINK_SYMBOLS = ("BTCUSDT", "ETHUSDT")
LINK_INTERVALS = ("5m", "15m", "1h", "4h")
LINK_RANGES = ("12h", "1d", "3d", "7d", "14d")
LINK_PRESETS = ("all", "high", "classic-5-100x")
LINK_KEYS = ("sym", "iv", "range", "src", "preset")
#: Sidebar widgets a user changes, by label; options come from the element (never hard-coded).
CHANGES = ("Pair", "Range", "Interval", "Leverage preset")
#: Never picked: they would leave the source under test ("Data source") or need a file ("Custom" weights).
AVOID_OPTIONS = {"Custom", "Upload CSV", "upload"}
UNEXPECTED = "Something unexpected went wrong"
#: The chart's component name ends with this (the in-repo ``liq_chart`` component).
CHART_COMPONENT = "liq_chart"
MAX_ACTIONS_PER_VIEWER = 10_000
RSS_EVERY_S = 10.0


@dataclass
class Stats:
    """Everything the viewers measured."""

    reruns: list[tuple[str, float]] = field(default_factory=list)  # (kind, seconds)
    errors: list[str] = field(default_factory=list)
    error_alerts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    titles_missing: int = 0
    sessions_opened: int = 0
    link_ignored: Counter[str] = field(default_factory=Counter)  # a typed link's parameter not echoed
    link_changed: Counter[str] = field(default_factory=Counter)  # same, for links the app itself gave out
    bytes_received: int = 0
    server_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    wall_s: float = 0.0
    alone: dict[str, float] = field(default_factory=dict)  # page -> warm rerun of one viewer alone (s)

    def record(self, kind: str, run: Run, viewer: Viewer) -> Run:
        self.reruns.append((kind, run.seconds))
        for ex in run.exceptions:
            self.errors.append(f"exception element on {viewer.path}: {ex[:160]}")
        for body in run.alerts(1):
            short = body.split("\n", 1)[0][:140]
            self.error_alerts[short] += 1
            if UNEXPECTED in body:
                self.errors.append(f"unexpected error shown on {viewer.path}: {short}")
        title = viewer.page_title
        if title and title not in run.texts():
            self.titles_missing += 1
        return run


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def share_link(rng: random.Random, source: str) -> dict[str, str]:
    """A link as users paste them: a few of the app's parameters, not always all of them."""
    q = {"sym": rng.choice(LINK_SYMBOLS), "range": rng.choice(LINK_RANGES)}
    if rng.random() < 0.7:
        q["preset"] = rng.choice(LINK_PRESETS)
    if rng.random() < 0.6:
        q["iv"] = rng.choice(LINK_INTERVALS)
    q["src"] = source
    return q


class Driver:
    def __init__(self, url: str, args: argparse.Namespace, stats: Stats) -> None:
        self.url = url
        self.args = args
        self.stats = stats
        self.deadline = 0.0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    async def _guard(self, what: str, viewer: Viewer, step: Awaitable[Run]) -> Run | None:
        try:
            return await step
        except (ProtocolError, TimeoutError, OSError, LookupError, websockets.WebSocketException) as err:
            self.stats.errors.append(f"{what} on {viewer.path} failed: {type(err).__name__}: {err}"[:300])
            return None

    async def think(self, rng: random.Random) -> bool:
        """Wait like a user looking at the page; False when the time is up."""
        lo, hi = self.args.think
        wait = rng.uniform(lo, hi)
        if wait >= self.left():
            return False
        await asyncio.sleep(wait)
        return True

    async def open(
        self, viewer: Viewer, path: str, query: dict[str, str] | str, *, own_link: bool = False
    ) -> Run | None:
        """A new session on ``path?query``; ``own_link``: the app gave this link out (share button, URL)."""
        kind = "open"
        self.stats.sessions_opened += 1
        run = await self._guard(kind, viewer, viewer.open(path, query))
        if run is None:
            return None
        # The app mirrors its settings into the URL: a parameter of the link that does not come back
        # unchanged was not understood (renamed, or refused with a note).
        sent = query_of("?" + query) if isinstance(query, str) else query
        echoed = query_of("?" + viewer.query_string)
        for key, value in sent.items():
            if key in LINK_KEYS and echoed.get(key) != value:
                where = self.stats.link_changed if own_link else self.stats.link_ignored
                where[f"{key}={value} (page has {key}={echoed.get(key)})"] += 1
        return self.stats.record(kind, run, viewer)

    async def change(self, viewer: Viewer, rng: random.Random, label: str) -> Run | None:
        assert viewer.last is not None
        w = viewer.last.widget(label)
        if w is None:
            self.stats.skipped[f"{label} (not on {viewer.path})"] += 1
            return None
        current = w.proto.raw_value if w.kind == "selectbox" and w.proto.HasField("raw_value") else None
        options = [o for o in w.options if o not in AVOID_OPTIONS and o != current]
        if not options:
            self.stats.skipped[f"{label} (no other option)"] += 1
            return None
        run = await self._guard(label, viewer, viewer.rerun([w.state(rng.choice(options))]))
        return None if run is None else self.stats.record("change", run, viewer)

    async def share(self, viewer: Viewer) -> Run | None:
        assert viewer.last is not None
        button = viewer.last.widget("Share this view")
        if button is None:
            self.stats.skipped["Share this view (no button)"] += 1
            return None
        run = await self._guard("share", viewer, viewer.rerun([button.state(True)]))
        if run is None:
            return None
        self.stats.record("change", run, viewer)
        links = [c.code_text for c in run.of_kind("code") if "?" in c.code_text]
        if not links:
            self.stats.skipped["Share this view (no link shown)"] += 1
            return run
        link = links[-1]
        path, _, query = link.partition("?")
        path = "/" + path.split("://", 1)[-1].partition("/")[2]
        return await self.open(viewer, path, query, own_link=True)  # pasted into a new tab

    async def click_chart(self, viewer: Viewer, rng: random.Random) -> Run | None:
        """Click a candle of the chart, as the component reports it (``{"click": {"time", "price"}}``)."""
        assert viewer.last is not None
        charts = viewer.last.components(CHART_COMPONENT)
        try:
            candles = json.loads(json.loads(charts[0].proto.json)["payload_json"])["candles"]
            i = rng.randrange(len(candles["time"]))
            click = {"time": candles["time"][i], "price": rng.uniform(candles["low"][i], candles["high"][i])}
        except (IndexError, KeyError, TypeError, ValueError):
            self.stats.skipped[f"chart click (no {CHART_COMPONENT} chart with candles on {viewer.path})"] += 1
            return None
        run = await self._guard("chart click", viewer, viewer.rerun([charts[0].state({"click": click})]))
        return None if run is None else self.stats.record("change", run, viewer)

    async def goto(self, viewer: Viewer, rng: random.Random) -> Run | None:
        others = [p for p in viewer.pages if p and "/" + p != viewer.path] + (
            [""] if viewer.path != "/" else []
        )
        if not others:
            self.stats.skipped["page switch (no other page)"] += 1
            return None
        target = rng.choice(others)
        run = await self._guard("page switch", viewer, viewer.goto("/" + target))
        return None if run is None else self.stats.record("page", run, viewer)

    # -- scenarios --
    async def default_viewer(self, n: int) -> None:
        rng = random.Random(self.args.seed * 1000 + n)
        viewer = Viewer(self.url)
        try:
            await asyncio.sleep(rng.uniform(0, self.args.ramp))  # users do not all arrive in the same second
            path = rng.choices([p for p, _ in PAGES], [w for _, w in PAGES])[0]
            if await self.open(viewer, path, share_link(rng, self.args.source)) is None:
                return
            for _ in range(MAX_ACTIONS_PER_VIEWER):
                if not await self.think(rng):
                    break
                if viewer.last is None or viewer.closed:  # the tab broke (counted as an error)
                    break
                roll = rng.random()
                if roll < 0.55:
                    labels = CHANGES if viewer.path in MARKET_PAGES else ("Leverage preset",)
                    await self.change(viewer, rng, rng.choice(labels))
                elif roll < 0.65 and viewer.path in MARKET_PAGES:
                    await self.click_chart(viewer, rng)
                elif roll < 0.77:
                    await self.goto(viewer, rng)
                elif roll < 0.90:
                    await self.share(viewer)
                else:  # reload the tab: a new session on the current URL
                    await self.open(viewer, viewer.path, viewer.query_string, own_link=True)
        finally:
            await viewer.close()
            self.stats.bytes_received += viewer.bytes_received

    async def cycle_viewer(self, n: int, symbols: Sequence[str]) -> None:
        """Step through every (symbol, range) from an offset of its own, changing the sidebar like a user."""
        rng = random.Random(self.args.seed * 1000 + n)
        steps = [(s, r) for r in CYCLE_RANGES for s in symbols]
        offset = (n * len(steps)) // max(1, self.args.sessions)
        viewer = Viewer(self.url)
        try:
            await asyncio.sleep(n * 0.5)
            sym, rng_key = steps[offset]
            query = {"sym": sym, "range": rng_key, "src": self.args.source}
            if await self.open(viewer, "/", query) is None:
                return
            for i in range(1, MAX_ACTIONS_PER_VIEWER):
                if not await self.think(rng) or viewer.last is None or viewer.closed:
                    break
                sym, rng_key = steps[(offset + i) % len(steps)]
                for label, value in (("Range", rng_key), ("Pair", sym)):
                    w = viewer.last.widget(label) if viewer.last else None
                    if w is None:
                        self.stats.skipped[f"{label} (not on {viewer.path})"] += 1
                        continue
                    if w.kind == "selectbox" and w.proto.HasField("raw_value") and w.proto.raw_value == value:
                        continue
                    change = [w.state(value)]
                    run = await self._guard(label, viewer, viewer.rerun(change))
                    if run is None:
                        return
                    self.stats.record("change", run, viewer)
        finally:
            await viewer.close()
            self.stats.bytes_received += viewer.bytes_received

    async def run(self, server: Server, symbols: Sequence[str]) -> None:
        self.deadline = time.monotonic() + self.args.seconds
        if self.args.scenario == "cycle":
            viewers = [self.cycle_viewer(i, symbols) for i in range(self.args.sessions)]
        else:
            viewers = [self.default_viewer(i) for i in range(self.args.sessions)]
        tasks = [asyncio.create_task(self._safe(v)) for v in viewers]
        progress = asyncio.create_task(self._progress(server))
        try:
            # Bounded: every viewer stops at the deadline; a rerun in flight may finish up to its timeout.
            _, pending = await asyncio.wait(tasks, timeout=self.args.seconds + 180)
            if pending:
                self.stats.errors.append(
                    f"{len(pending)} viewers did not stop within 180 s after the deadline"
                )
        finally:
            for t in (*tasks, progress):
                t.cancel()
            await asyncio.gather(*tasks, progress, return_exceptions=True)

    async def _safe(self, viewer: Awaitable[None]) -> None:
        """One viewer's bug or surprise is an error in the figures, not the end of the whole run."""
        try:
            await viewer
        except Exception as err:
            self.stats.errors.append(f"viewer stopped: {type(err).__name__}: {err}"[:300])

    async def _progress(self, server: Server) -> None:
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(RSS_EVERY_S)
            print(
                f"  {time.monotonic() - t0:4.0f} s: {len(self.stats.reruns):5d} reruns, "
                f"{len(self.stats.errors)} errors, server RSS {server.rss_kb() / 1024:5.0f} MB",
                flush=True,
            )


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _rss_at_marks(samples: Sequence[tuple[float, int]], every_s: float) -> list[tuple[float, float]]:
    """RSS (MB) at 0, every_s, 2·every_s ... s of the run, from the poller's samples."""
    if not samples:
        return []
    end = samples[-1][0]
    out, mark, i = [], 0.0, 0
    while mark <= end + 1e-9:
        while i + 1 < len(samples) and samples[i + 1][0] <= mark:
            i += 1
        out.append((mark, samples[i][1] / 1024))
        mark += every_s
    return out


def report(args: argparse.Namespace, stats: Stats, server: Server, tracebacks: list[str]) -> None:
    times = [s for _, s in stats.reruns]
    p50, p95 = _pct(times, 0.50), _pct(times, 0.95)
    errors = len(stats.errors) + len(tracebacks)
    peak_mb = max(server.peak_rss_kb, server.hwm_last_kb) / 1024
    print()
    print(f"Results ({args.scenario}: {args.sessions} sessions, {args.seconds:g} s, source {args.source}):")
    print(f"  {'figure':<42} {'measured':>14}   target")
    print(
        f"  {'sessions × seconds':<42} {f'{args.sessions} × {args.seconds:g} s':>14}   "
        f"{TARGET_SESSIONS} × {TARGET_SECONDS} s (default scenario)"
    )
    print(f"  {'reruns done (sessions opened)':<42} {f'{len(times)} ({stats.sessions_opened})':>14}")
    print(f"  {'reruns per second':<42} {len(times) / max(stats.wall_s, 1e-9):>14.1f}")
    offered = args.sessions / (sum(args.think) / 2 + (p50 if times else 0.0))
    print(f"  {'offered (sessions / (think + rerun))':<42} {offered:>14.1f}   reruns per second")
    if stats.alone:
        ceiling = 1 / statistics.mean(stats.alone.values())
        print(f"  {'≈ ceiling (1 / warm rerun of one viewer)':<42} {ceiling:>14.1f}   reruns per second")
    print(f"  {'errors':<42} {errors:>14}   {TARGET_ERRORS}  {_mark(errors <= TARGET_ERRORS)}")
    print(f"  {'  in the app (exceptions, failed reruns)':<42} {len(stats.errors):>14}")
    print(f"  {'  Traceback blocks in the server log':<42} {len(tracebacks):>14}")
    print(f"  {'rerun p50':<42} {p50:>12.2f} s")
    print(f"  {'rerun p95':<42} {p95:>12.2f} s   ≤ {TARGET_P95_S} s  {_mark(p95 <= TARGET_P95_S)}")
    for kind in ("open", "change", "page"):
        k = [s for kd, s in stats.reruns if kd == kind]
        if k:
            print(
                f"  {f'  {kind} ({len(k)}): p50 / p95 / max':<42} "
                f"{f'{_pct(k, 0.5):.2f} / {_pct(k, 0.95):.2f} / {max(k):.2f}':>14} s"
            )
    print(
        f"  {'server peak RSS (server + children)':<42} {peak_mb:>11.0f} MB   ≤ {TARGET_RSS_MB} MB  "
        f"{_mark(peak_mb <= TARGET_RSS_MB)}"
    )
    cores = stats.server_cpu_s / max(stats.wall_s, 1e-9)
    print(
        f"  {'server CPU while driven':<42} {stats.server_cpu_s:>12.0f} s   ({cores:.2f} cores of {stats.wall_s:.0f} s)"
    )
    print(f"  {'driver CPU (this process)':<42} {stats.driver_cpu_s:>12.1f} s")
    if times:
        print(f"  {'received per rerun':<42} {stats.bytes_received / len(times) / 1e6:>11.2f} MB")
    marks = _rss_at_marks(server.samples, RSS_EVERY_S)
    if len(marks) >= 4:  # at least 30 s: enough to tell a warm-up from a trend
        print("  RSS every 10 s (MB): " + ", ".join(f"{t:.0f} s {mb:.0f}" for t, mb in marks))
        warm = min(args.warmup, marks[-1][0])
        after = [kb / 1024 for t, kb in server.samples if t >= warm]
        half = len(after) // 2
        growth = statistics.median(after[half:]) - statistics.median(after[:half]) if half else 0.0
        verdict = f"≤ {TARGET_GROWTH_MB} MB  {_mark(growth <= TARGET_GROWTH_MB)}"
        label = f"RSS growth after the {warm:.0f} s warm-up (medians)"
        print(f"  {label:<42} {growth:>+11.0f} MB   {verdict if args.scenario == 'cycle' else ''}")
        if after:
            print(f"  {'  RSS range after the warm-up':<42} {f'{min(after):.0f}-{max(after):.0f}':>11} MB")
    if stats.titles_missing:
        print(f"  runs whose tree lacked the page's title: {stats.titles_missing}")
    tallies = (
        ("share-link parameters the page did not take (renamed or refused?):", stats.link_ignored, 5),
        ("links the app gave out (share button, URL) that reopened differently:", stats.link_changed, 5),
        ("error messages shown (st.error), most common:", stats.error_alerts, 5),
        ("actions skipped (widget not found or nothing to change):", stats.skipped, 8),
    )
    for heading, tally, most in tallies:
        if tally:
            print(f"  {heading}")
            for what, n in tally.most_common(most):
                print(f"    {n:4d} × {what}")
    for e in stats.errors[:10]:
        print(f"  error: {e}")
    for tb in tracebacks[:3]:
        print("  server traceback:\n    " + tb.replace("\n", "\n    ")[-1500:])
    print(
        "  (a 2-core machine shared with other work: the driver runs on the same cores; figures are indicative)"
    )


def _think(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    a, b = float(lo), float(hi or lo)
    if not 0 <= a <= b:
        raise argparse.ArgumentTypeError("think time is MIN-MAX seconds, 0 ≤ MIN ≤ MAX")
    return a, b


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=None, help="concurrent viewers (default 50; cycle 4)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="how long they act (default 60; cycle 180)"
    )
    parser.add_argument("--scenario", choices=("default", "cycle"), default="default")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument(
        "--source",
        choices=("sample", "live", "archive", "auto"),
        default=None,
        help="data source in the links: the built-in sample; live or archive answered by a fake Binance "
        "on loopback; auto with no Binance at all (it falls back to the sample) (default: sample; cycle: live)",
    )
    parser.add_argument(
        "--think",
        type=_think,
        default=None,
        help="seconds a user looks at the page between actions, MIN-MAX (default 5-15; cycle 1-2)",
    )
    parser.add_argument(
        "--ramp", type=float, default=None, help="arrivals spread over this many seconds (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=None, help="seconds counted as warm-up for the RSS growth"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    cycle = args.scenario == "cycle"
    args.sessions = args.sessions or (4 if cycle else TARGET_SESSIONS)
    args.seconds = args.seconds or (180.0 if cycle else float(TARGET_SECONDS))
    args.source = args.source or ("live" if cycle else "sample")
    args.think = args.think or ((1.0, 2.0) if cycle else (5.0, 15.0))
    args.ramp = min(args.ramp if args.ramp is not None else 10.0, args.seconds / 4)
    args.warmup = args.warmup if args.warmup is not None else (60.0 if cycle else args.seconds / 3)
    if cycle and args.source not in ("live", "archive"):
        parser.error("the cycle scenario needs 30 symbols: use --source live or archive (a fake Binance)")
    if args.sessions < 1 or args.seconds <= 0:
        parser.error("--sessions and --seconds must be positive")
    return args


async def baseline(url: str, source: str, reruns: int = 3) -> dict[str, float]:
    """Median time of a warm rerun of each page for one viewer alone: the floor under the figures."""
    out: dict[str, float] = {}
    for path, _ in PAGES:
        async with Viewer(url) as viewer:
            await viewer.open(path, {"sym": LINK_SYMBOLS[0], "range": "7d", "src": source})
            times = [(await viewer.rerun()).seconds for _ in range(reruns)]
            out[path] = statistics.median(times)
    return out


async def _drive(server: Server, args: argparse.Namespace, stats: Stats, symbols: Sequence[str]) -> None:
    await Driver(server.url, args, stats).run(server, symbols)


def run(args: argparse.Namespace) -> tuple[Stats, list[str]]:
    """Start the server (and the fake Binance when needed), drive it, stop it; print and return figures."""
    stats = Stats()
    symbols = fake_symbols(CYCLE_SYMBOLS)
    with contextlib.ExitStack() as stack:
        fake = stack.enter_context(FakeBinance(symbols)) if args.source in ("live", "archive") else None
        pythonpath, env = stack.enter_context(loopback_only(fake.url if fake else ""))
        # The archive source keeps downloaded zips on disk: a folder of this run's own.
        env["LIQ_CACHE_DIR"] = stack.enter_context(tempfile.TemporaryDirectory(prefix="liq-load-cache-"))
        print(
            f"Load benchmark: scenario {args.scenario}, {args.sessions} sessions for {args.seconds:g} s, "
            f"think {args.think[0]:g}-{args.think[1]:g} s, source {args.source}"
            + (f" (fake Binance on {fake.url}, {len(symbols)} symbols)" if fake else ""),
            flush=True,
        )
        t_start = time.monotonic()
        with serve_app(port=args.port, pythonpath=pythonpath, env=env) as server:
            print(
                f"  server pid {server.pid} on {server.url}, healthy after {time.monotonic() - t_start:.1f} s, "
                f"RSS {server.rss_kb() / 1024:.0f} MB",
                flush=True,
            )
            if args.scenario == "default":
                alone = stats.alone = asyncio.run(baseline(server.url, args.source))
                print(
                    "  one viewer alone, warm rerun (median of 3): "
                    + ", ".join(f"{p} {t:.2f} s" for p, t in alone.items()),
                    flush=True,
                )
            server.start_polling(0.5)
            t0, cpu0, mine0 = time.monotonic(), server.cpu_s(), time.process_time()
            asyncio.run(_drive(server, args, stats, symbols))
            stats.wall_s = time.monotonic() - t0
            stats.server_cpu_s = server.cpu_s() - cpu0
            stats.driver_cpu_s = time.process_time() - mine0
            time.sleep(1.0)  # let the server write what it logs about the last runs
            server.hwm_last_kb = server.hwm_kb()
            tracebacks = server.tracebacks()
        report(args, stats, server, tracebacks)
        if fake:
            print(f"  fake Binance answered {fake.requests} requests")
    return stats, tracebacks


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` must stop the server too: the server has its own session, so it outlives a dead driver.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run(args)
    except KeyboardInterrupt:
        print("interrupted; the server was stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
