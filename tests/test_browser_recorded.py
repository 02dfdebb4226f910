"""Recorded liquidations on the main chart, in a real Chromium: the Dec 2024 recording over the built-in BTCUSDT
candles (reached with ``end``), its markers, the hover readout, the legend toggle and the hit level lines.

The app is served by ``streamlit run`` on loopback with every other host failing like an offline machine (the
module-scoped ``server`` of ``tests/test_browser_app.py``). Set ``LIQ_SCREENSHOTS_DIR=docs`` to also write
``docs/screenshot_liquidations.png``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser_app import LOAD_TIMEOUT_MS, _open, browser, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PAST = "/?src=sample&sym=BTCUSDT&iv=5m&range=1d&end=2024-12-05T02:00"


def _until(root: Any, js: str, timeout_s: float) -> Any:
    """Poll ``js`` (a function of the chart's root element) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = root.evaluate(js)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {js}")


def _points(root: Any) -> list[dict[str, float]]:
    return list(root.evaluate("el => el.liqApi.recordedPoints()"))


def test_markers_hover_toggle_and_hit_lines(server: str, browser: Any) -> None:  # noqa: F811
    page = _open(browser, server + PAST, width=1600, height=1100)
    try:
        root = page.locator('[data-testid="liq-chart"]')
        root.wait_for(timeout=LOAD_TIMEOUT_MS)
        _until(root, "el => el.dataset.painted === '1' && Number(el.dataset.recordedMarkers || 0) > 0", 60)
        points = _until(
            root, "el => el.liqApi.recordedPoints().length > 10 && el.liqApi.recordedPoints()", 30
        )
        legend = root.locator('[data-testid="liq-recorded-toggle"]')
        assert legend.is_visible() and legend.inner_text().startswith("Recorded liquidations ($")

        biggest = max(points, key=lambda p: p["r"])
        box = root.locator(".liq-chart").bounding_box()
        page.mouse.move(box["x"] + biggest["x"], box["y"] + biggest["y"])
        hover = _until(root, "el => el.dataset.recordedHover", 10)
        assert root.locator(".liq-readout").inner_text() == hover
        assert (
            ("Longs liquidated" in hover or "Shorts liquidated" in hover) and "$" in hover and "UTC" in hover
        )
        assert "2024-12-04" in hover or "2024-12-05" in hover

        _screenshot(root)

        legend.locator("input").click()  # hide the markers
        _until(
            root, "el => el.liqApi.recordedPoints().length === 0 && el.dataset.recordedVisible === '0'", 10
        )
        legend.locator("input").click()
        _until(root, "el => el.liqApi.recordedPoints().length > 0", 10)
        assert json.loads(root.get_attribute("data-levels") or "[]")  # the level lines are drawn
        assert page.get_by_text("levels were hit").first.is_visible()
    finally:
        page.close()


def _screenshot(root: Any) -> None:
    out_dir = os.environ.get("LIQ_SCREENSHOTS_DIR")
    if out_dir:
        root.screenshot(path=str(Path(out_dir) / "screenshot_liquidations.png"))
