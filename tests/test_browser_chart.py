"""The chart in a real headless Chromium: heat pixels, level labels, a click that reaches Python.

A tiny Streamlit page (``tests/apps/chart_page.py``) with the real built-in sample is served by
``streamlit run`` on a free loopback port; Debian's ``/usr/bin/chromium`` is driven by playwright.
Nothing leaves the machine: the page and the chart code come from this repository.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.support.browser import (
    PAINT_TIMEOUT_MS,
    chromium,
    open_chart,
    require_chromium,
    serve_chart_page,
)

pytestmark = pytest.mark.browser


# ---------------------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Any]]:
    """The chart test page on a loopback server, and Chromium."""
    require_chromium()
    with serve_chart_page() as url, chromium() as browser:
        yield url, browser


@pytest.fixture(scope="module")
def chart(served: tuple[str, Any]) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    import liq
    from tests.test_chart_payload import real_estimate

    url, browser = served
    payload = liq.build_chart_payload(real_estimate())  # what the page sends (same data, same defaults)
    page, root = open_chart(browser, url)
    yield page, root, payload
    page.close()


def rgb_at(png: bytes, points: list[tuple[float, float]], radius: int = 2) -> list[np.ndarray]:
    """The RGB pixels in a (2r+1)² square around each point of a screenshot."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    out = []
    for x, y in points:
        xi, yi = round(x), round(y)
        out.append(img[yi - radius : yi + radius + 1, xi - radius : xi + radius + 1].reshape(-1, 3))
    return out


def is_top_colour(px: np.ndarray) -> np.ndarray:
    """The bright (yellow) end of the colour map: rgb(253, 231, 37) and its close neighbours."""
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    return (r > 200) & (g > 190) & (b < 110)


def grid_total(payload: dict[str, Any]) -> np.ndarray:
    from liq._chart_payload import decode_grid

    return decode_grid(payload, "long") + decode_grid(payload, "short")


def test_heat_pixels_are_painted_where_the_grid_is_densest(chart: tuple[Any, Any, dict[str, Any]]) -> None:
    _page, root, payload = chart
    hm = payload["heatmap"]
    total = grid_total(payload)
    lo, hi = root.evaluate("e => e.liqApi.visiblePriceRange()")
    edges = np.asarray(hm["price_edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    inner = (centres > lo + 0.05 * (hi - lo)) & (centres < hi - 0.05 * (hi - lo))
    # away from the first and last columns (their centres sit on the pane's edges)
    masked = np.where(inner[None, :], total, -1.0)
    masked[:2], masked[-2:] = -1.0, -1.0
    col, row = np.unravel_index(np.argmax(masked), masked.shape)
    assert total[col, row] >= hm["color_max_usd"], "the densest visible cell must get the top colour"
    # Sample a few of the densest cells (a level line or a candle may cross any one of them).
    order = np.argsort(masked, axis=None)[::-1][:12]
    points = []
    for flat in order:
        c, r = np.unravel_index(flat, masked.shape)
        if total[c, r] < hm["color_max_usd"]:
            continue
        pt = root.evaluate(f"e => e.liqApi.cellCenter({int(c)}, {int(r)})")
        if pt is not None:
            points.append((pt["x"], pt["y"]))
    assert points
    png = root.locator(".liq-chart").screenshot()
    bright = [float(is_top_colour(px).mean()) for px in rgb_at(png, points)]
    assert max(bright) >= 0.8, f"top-colour share around the densest cells: {bright}"
    assert np.median(bright) >= 0.5, f"top-colour share around the densest cells: {bright}"


#: A colour threshold that clears most cells, so that the picture has empty regions to look at.
EMPTY_THRESHOLD = 0.5


@pytest.fixture(scope="module")
def thresholded(served: tuple[str, Any]) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    import liq
    from tests.test_chart_payload import real_estimate

    url, browser = served
    payload = liq.build_chart_payload(real_estimate(), threshold=EMPTY_THRESHOLD)
    page, root = open_chart(browser, f"{url}?threshold={EMPTY_THRESHOLD}")
    yield page, root, payload
    page.close()


def test_no_heat_where_the_grid_is_empty(thresholded: tuple[Any, Any, dict[str, Any]]) -> None:
    _page, root, payload = thresholded
    hm = payload["heatmap"]
    total = grid_total(payload)
    k = hm["bars_per_col"]
    edges = np.asarray(hm["price_edges"])
    lo, hi = root.evaluate("e => e.liqApi.visiblePriceRange()")
    highs = np.asarray(payload["candles"]["high"])
    lows = np.asarray(payload["candles"]["low"])
    level_prices = np.asarray([lv["price"] for lv in payload["levels"]] + [payload["last_price"]])
    row_h = edges[1] - edges[0]
    candidates = []
    for c in range(4, hm["cols"] - 8):
        bars = slice(max(0, (c - 3) * k), (c + 4) * k)
        for r in range(4, hm["rows"] - 4):
            price = (edges[r] + edges[r + 1]) / 2
            if not lo + 0.15 * (hi - lo) < price < hi - 0.15 * (hi - lo):
                continue  # away from the overlays at the top and the pane edges
            if total[c - 3 : c + 4, r - 3 : r + 4].any():
                continue
            if lows[bars].min() - 3 * row_h < price < highs[bars].max() + 3 * row_h:
                continue  # a candle is drawn there
            if np.min(np.abs(level_prices - price)) < 3 * row_h:
                continue  # a level line is drawn there
            candidates.append((c, r))
    assert candidates, "the real sample should leave some empty price range in view"
    picks = [candidates[i] for i in np.linspace(0, len(candidates) - 1, min(8, len(candidates))).astype(int)]
    points = []
    for c, r in picks:
        pt = root.evaluate(f"e => e.liqApi.cellCenter({c}, {r})")
        if pt is not None:
            points.append((pt["x"], pt["y"]))
    assert points
    png = root.locator(".liq-chart").screenshot()
    theme = root.evaluate("e => e.liqApi.theme()")
    assert theme["dark"], "the repository's .streamlit/config.toml asks for the dark theme"
    bg = np.array([int(theme["bgHex"][i : i + 2], 16) for i in (1, 3, 5)])
    for px in rgb_at(png, points):
        assert not is_top_colour(px).any()
        assert np.abs(px - bg).max() <= 4, f"heat painted in an empty region: {px[:3].tolist()} (bg {bg})"


def test_level_labels_are_present(chart: tuple[Any, Any, dict[str, Any]]) -> None:
    _page, root, payload = chart
    labels = json.loads(root.get_attribute("data-levels") or "[]")
    assert labels, "the chart exposes its level labels"
    assert labels == [lv["label"] for lv in payload["levels"]]
    assert all(lab[:2] in ("L ", "S ") and " · $" in lab for lab in labels)
    assert root.get_attribute("data-color-max") == payload["heatmap"]["color_max_label"]
    link = root.locator("a[href='https://www.tradingview.com/']")
    assert link.count() == 1 and "TradingView" in link.inner_text()


def test_click_returns_time_and_price_to_python(chart: tuple[Any, Any, dict[str, Any]]) -> None:
    page, root, payload = chart
    hm = payload["heatmap"]
    box = root.locator(".liq-chart").bounding_box()
    assert box is not None
    # Zoom in first: the rerun that the click causes must keep the view (same data, same chart).
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    for _ in range(3):
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(100)
    page.wait_for_function(
        "e => { const r = e.liqApi.visibleLogicalRange(); return r && r.to - r.from < 1000; }",
        arg=root.element_handle(),
        timeout=PAINT_TIMEOUT_MS,
    )
    before = root.evaluate("e => e.liqApi.visibleLogicalRange()")
    k = hm["bars_per_col"]
    col = int((before["from"] + before["to"]) / 2 / k)
    lo, hi = root.evaluate("e => e.liqApi.visiblePriceRange()")
    edges = np.asarray(hm["price_edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    row = int(np.argmin(np.abs(centres - (lo + hi) / 2)))
    pt = root.evaluate(f"e => e.liqApi.cellCenter({col}, {row})")
    assert pt is not None
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    shown = page.get_by_text("CLICKED {", exact=False)
    shown.wait_for(timeout=PAINT_TIMEOUT_MS)
    value = json.loads(shown.inner_text().split("CLICKED", 1)[1])
    assert set(value) == {"time", "price"}
    bar_times = payload["candles"]["time"]
    assert value["time"] in bar_times
    assert abs(bar_times.index(value["time"]) - ((col + 0.5) * k - 0.5)) <= k
    assert abs(value["price"] - pt["price"]) <= 2 * (edges[1] - edges[0])
    # The rerun reused the chart and kept the zoom.
    after = root.evaluate("e => e.liqApi.visibleLogicalRange()")
    assert after == pytest.approx(before)
    assert root.evaluate("e => e.liqApi.charts()") == 1
    assert root.get_attribute("data-error") is None


def test_a_payload_it_cannot_draw_shows_a_plain_message(served: tuple[str, Any]) -> None:
    url, browser = served
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        page.goto(url + "?broken=1", wait_until="domcontentloaded", timeout=PAINT_TIMEOUT_MS)
        problem = page.locator("[data-testid=liq-chart] .liq-problem")
        problem.wait_for(state="visible", timeout=PAINT_TIMEOUT_MS)
        text = problem.inner_text()
        assert "could not be drawn" in text and "Error" not in text and "atob" not in text
        assert page.locator("[data-testid=liq-chart]").get_attribute("data-error")
        assert page.locator("[data-testid=liq-chart][data-painted='1']").count() == 0
    finally:
        page.close()
