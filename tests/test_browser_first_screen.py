"""Real-browser checks of a trader's first screen (issue 11) at 1440×900, on the offline built-in sample.

The chart starts in the upper half of the window, the nearest levels the header names are among the chart's
price lines, and a failed load shows its explanation without a click.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import chromium, require_chromium, serve_streamlit
from tests.support.offline import write_offline_sitecustomize
from tests.test_browser_app import _open, _wait_chart

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1440, 900
#: The chart's top edge must be at most this far down the window (the upper half and a bit).
CHART_TOP_MAX_PX = 500


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("first_screen_server")
    write_offline_sitecustomize(tmp)
    with serve_streamlit("app.py", pythonpath=[tmp], env={"LIQ_CACHE_DIR": str(tmp / "cache")}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _metric_value(page: object, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first  # type: ignore[attr-defined]
    return str(metric.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_chart_first_and_the_header_levels_on_it(server: str, browser: object) -> None:
    page = _open(browser, server + "/", width=WIDTH, height=HEIGHT)
    try:
        _wait_chart(page)
        chart = page.locator('[data-testid="liq-chart"]').first  # type: ignore[attr-defined]
        top = page.evaluate("() => window.scrollY") + chart.bounding_box()["y"]  # type: ignore[attr-defined]
        assert top <= CHART_TOP_MAX_PX, f"the chart starts {top:.0f} px down a {WIDTH}×{HEIGHT} window"
        header = page.locator(".st-key-header_metrics").bounding_box()  # type: ignore[attr-defined]
        assert header["y"] + header["height"] <= chart.bounding_box()["y"] + 1, (
            "the header numbers come first"
        )
        # the one-line badge names the source, the days and the bars
        badge = page.locator(".st-key-source_badge").inner_text()  # type: ignore[attr-defined]
        assert "SAMPLE" in badge and "bars" in badge
        # the footer names the days (with the year) and says the 5m candles were merged into 15m bars
        note = chart.locator(".liq-foot .note").inner_text()
        assert "15m bars (3 × 5m candles each" in note and re.search(r"\d+–\d+ \w{3} 20\d\d", note), note
        # the nearest level below and above, as the header shows them, are labelled price lines
        labels = json.loads(chart.get_attribute("data-levels") or "[]")
        below = _metric_value(page, "Long level below")
        above = _metric_value(page, "Short level above")
        assert any(lab.startswith(f"L {below} ·") for lab in labels), (below, labels)
        assert any(lab.startswith(f"S {above} ·") for lab in labels), (above, labels)
    finally:
        page.close()  # type: ignore[attr-defined]


def test_a_failed_load_is_explained_without_a_click(server: str, browser: object) -> None:
    page = _open(browser, server + "/?sym=NOPEUSDT&src=sample", width=WIDTH, height=HEIGHT)
    try:
        alert = page.locator('[data-testid="stMain"] [data-testid="stAlert"]', has_text="NOPEUSDT").first  # type: ignore[attr-defined]
        assert alert.is_visible(), "the explanation is folded away"
        box = alert.bounding_box()
        assert box is not None and box["y"] < HEIGHT, "the explanation is below the first screen"
        assert page.get_by_text("What to do:").first.is_visible()  # type: ignore[attr-defined]
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


def test_at_phone_width_labels_are_short_the_newest_bars_clear_and_the_footer_fits(
    server: str, browser: object
) -> None:
    page = _open(browser, server + "/", width=390, height=1700)
    try:
        _wait_chart(page)
        chart = page.locator('[data-testid="liq-chart"]').first  # type: ignore[attr-defined]
        titles = json.loads(chart.get_attribute("data-level-titles") or "[]")
        assert titles and all(re.fullmatch(r"[LS] \$[\d.]+[KMB]?", t) for t in titles), titles
        # the newest bar sits well left of the right edge, where the level labels are drawn
        newest_x = chart.evaluate("e => e.liqApi.logicalToX(e.liqApi.barCount() - 1)")
        width = chart.evaluate("e => e.liqApi.paneSize().width")
        assert newest_x is not None and newest_x < 0.88 * width, (newest_x, width)
        note = chart.locator(".liq-foot .note")
        assert note.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), note.inner_text()
        # the readout fits in the header strip beside the legend and the buttons (issue 11 item 18)
        readout = chart.locator(".liq-readout")
        assert readout.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), readout.inner_text()
    finally:
        page.close()  # type: ignore[attr-defined]


def test_the_png_is_twice_the_screen_size_with_a_title_line_and_nothing_overlapping(
    server: str, browser: object
) -> None:
    import io

    from PIL import Image

    page = _open(browser, server + "/", width=WIDTH, height=HEIGHT)
    try:
        _wait_chart(page)
        chart = page.locator('[data-testid="liq-chart"]').first  # type: ignore[attr-defined]
        css_width = chart.locator(".liq-chart").evaluate("e => e.clientWidth")
        with page.expect_download() as got:  # type: ignore[attr-defined]
            chart.locator(".liq-png").click()
        png = Path(got.value.path()).read_bytes()
        img = Image.open(io.BytesIO(png))
        assert img.width == 2 * css_width, (img.size, css_width)
        title = chart.get_attribute("data-export-title") or ""
        for part in ("BTCUSDT", "15m bars", "SAMPLE", "last candle", "UTC", "estimate"):
            assert part in title, (part, title)
        assert re.search(r"\d+–\d+ \w{3} 20\d\d", title), title
        scale_end = int(chart.get_attribute("data-export-scale-end") or 0)
        credit_start = int(chart.get_attribute("data-export-credit-start") or 0)
        assert 0 < scale_end < credit_start, (scale_end, credit_start)
    finally:
        page.close()  # type: ignore[attr-defined]


def test_the_swept_dots_are_explained_and_can_be_hidden(server: str, browser: object) -> None:
    page = _open(browser, server + "/", width=WIDTH, height=HEIGHT)
    try:
        _wait_chart(page)
        chart = page.locator('[data-testid="liq-chart"]').first  # type: ignore[attr-defined]
        toggle = chart.locator('[data-testid="liq-swept-toggle"]')
        assert toggle.is_visible() and "swept" in (toggle.get_attribute("title") or "")
        assert int(chart.get_attribute("data-swept-shown") or 0) > 0
        toggle.locator("input").uncheck()
        assert chart.get_attribute("data-swept-shown") == "0"
        toggle.locator("input").check()
        assert int(chart.get_attribute("data-swept-shown") or 0) > 0
    finally:
        page.close()  # type: ignore[attr-defined]
