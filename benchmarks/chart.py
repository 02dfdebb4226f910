"""Chart benchmark: payload bytes and time to first paint in headless Chromium.

``python -m benchmarks.chart [--runs N]`` (not run in CI). Two views:

* ``default``: the real built-in BTCUSDT sample (45 days of 5m candles) with the payload defaults;
* ``1000x500``: the last 1,000 hours of the sample with a heatmap of exactly 1,000 × 500 cells.

For each: the payload (JSON) bytes, plus the component code sent with it; the time from navigation start to
the first heatmap paint (Streamlit boot included) and from the component call to that paint; the heatmap draw
time per frame while panning. Figures are printed against the budgets.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import liq
from liq._chart_payload import payload_nbytes
from tests.apps import chart_data
from tests.support.browser import chromium, open_chart, serve_chart_page

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "liq_chart" / "frontend"

BUDGET_PAYLOAD_BYTES = 1_000_000
BUDGET_FIRST_PAINT_MS = 3_000  # navigation start -> heat on screen, Streamlit boot included
BUDGET_FRAME_MS = 20.0  # heatmap draw per frame while panning


def _payloads() -> dict[str, dict[str, Any]]:
    default = liq.build_chart_payload(chart_data.sample_estimate())
    grid = liq.build_chart_payload(chart_data.grid_estimate(1000, 500), **chart_data.grid_options(1000, 500))
    return {"default": default, "1000x500": grid}


def _measure(browser: Any, url: str, runs: int) -> dict[str, float]:
    first, render, frames = [], [], []
    for _ in range(runs):
        page, root = open_chart(browser, url)
        first.append(float(root.get_attribute("data-first-paint-ms") or "nan"))
        render.append(float(root.get_attribute("data-render-ms") or "nan"))
        box = root.locator(".liq-chart").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
        before = len(root.evaluate("e => e.liqApi.drawTimes()"))
        for _ in range(10):  # zoom in and out: every step repaints the heatmap
            page.mouse.wheel(0, -240)
            page.wait_for_timeout(50)
        for _ in range(10):
            page.mouse.wheel(0, 240)
            page.wait_for_timeout(50)
        times = root.evaluate("e => e.liqApi.drawTimes()")
        frames.extend(times[min(before, len(times) - 1) :])
        page.close()
    frames.sort()
    return {
        "first_paint_ms": statistics.median(first),
        "render_ms": statistics.median(render),
        "frame_ms_median": statistics.median(frames) if frames else float("nan"),
        "frame_ms_p95": frames[int(0.95 * (len(frames) - 1))] if frames else float("nan"),
        "frames": float(len(frames)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="page loads per view (median reported)")
    args = parser.parse_args()

    code = sum(
        (FRONTEND / n).stat().st_size for n in ("lightweight-charts.standalone.production.js", "liq_chart.js")
    )
    payloads = _payloads()
    print(f"component code (lightweight-charts + liq_chart.js): {code:,} B, sent with every render")
    urls = {"default": "", "1000x500": "?grid=1000x500"}
    with serve_chart_page() as base, chromium() as browser:
        open_chart(browser, base)[0].close()  # warm-up: Streamlit imports, estimate cache
        open_chart(browser, base + urls["1000x500"])[0].close()
        for name, payload in payloads.items():
            hm = payload["heatmap"]
            size = payload_nbytes(payload)
            t0 = time.perf_counter()
            m = _measure(browser, base + urls[name], args.runs)
            wall = time.perf_counter() - t0
            ok = lambda good: "OK " if good else "OVER"  # noqa: E731
            print(
                f"\n== {name}: heatmap {hm['cols']}×{hm['rows']} cells, {len(payload['candles']['time'])} bars"
            )
            print(
                f"  payload          {size:>10,} B   budget {BUDGET_PAYLOAD_BYTES:,} B   {ok(size <= BUDGET_PAYLOAD_BYTES)}"
            )
            print(
                f"  payload + code   {size + code:>10,} B   budget {BUDGET_PAYLOAD_BYTES:,} B   {ok(size + code <= BUDGET_PAYLOAD_BYTES)}"
            )
            print(
                f"  first paint      {m['first_paint_ms']:>10,.0f} ms  budget {BUDGET_FIRST_PAINT_MS:,} ms    "
                f"{ok(m['first_paint_ms'] <= BUDGET_FIRST_PAINT_MS)} (navigation start -> heat drawn)"
            )
            print(f"  component→paint  {m['render_ms']:>10,.0f} ms  (decode + first frame)")
            print(
                f"  frame (zoom)     {m['frame_ms_median']:>10,.2f} ms  median, p95 {m['frame_ms_p95']:.2f} ms over "
                f"{m['frames']:.0f} frames   budget {BUDGET_FRAME_MS} ms   {ok(m['frame_ms_p95'] <= BUDGET_FRAME_MS)}"
            )
            print(f"  ({args.runs} page loads in {wall:.1f} s)")


if __name__ == "__main__":
    main()
