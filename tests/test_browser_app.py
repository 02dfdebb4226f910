"""Real-browser test of the app: ``streamlit run app.py`` on a loopback port, driven by headless Chromium.

The server runs in a subprocess whose sockets can only reach loopback (a ``sitecustomize`` written to a
temporary folder makes every other host fail like an offline machine), so the default "Auto" source falls
back to the built-in sample and no test reaches the internet.

Set ``LIQ_SCREENSHOTS_DIR=docs`` to also write the README screenshots (1280 px and phone width).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.browser import ROOT, chromium, require_chromium, serve_streamlit
from tests.support.offline import write_offline_sitecustomize

pytestmark = pytest.mark.browser

PAGES = {
    "": "Liq. Heatmap & Levels",
    "liquidation_heatmap": "Liquidation Heatmap",
    "model_check": "Model check",
}
LOAD_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("app_server")
    write_offline_sitecustomize(tmp)
    with serve_streamlit(
        "app.py", pythonpath=[tmp], env={"LIQ_CACHE_DIR": str(tmp / "cache")}
    ) as base:  # the sitecustomize in tmp keeps the server on loopback
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _wait_idle(page: object, *, settle_s: float = 1.5) -> None:
    """Wait until the app's script has stopped running (Streamlit's running indicator is gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=LOAD_TIMEOUT_MS)  # type: ignore[attr-defined]
    deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()  # type: ignore[attr-defined]
        stale = page.locator('[data-stale="true"]').count()  # type: ignore[attr-defined]
        if running == 0 and stale == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    raise AssertionError("the app kept running")


def _open(browser: object, url: str, width: int = 1280, height: int = 1000) -> object:
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page.goto(url)
    _wait_idle(page)
    return page


def _painted_pixels(page: object) -> int:
    """Non-transparent pixels across the chart component's canvases."""
    return int(
        page.locator('[data-testid="liq-chart"] canvas').evaluate_all(  # type: ignore[attr-defined]
            """els => els.reduce((n, c) => {
                 const ctx = c.getContext('2d');
                 if (!ctx || !c.width || !c.height) return n;
                 const d = ctx.getImageData(0, 0, c.width, c.height).data;
                 let k = 0;
                 for (let i = 3; i < d.length; i += 16) if (d[i] > 0) k++;
                 return n + k;
               }, 0)"""
        )
    )


def _wait_chart(page: object) -> None:
    page.wait_for_selector('[data-testid="liq-chart"] canvas', timeout=LOAD_TIMEOUT_MS)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while _painted_pixels(page) == 0 and time.monotonic() < deadline:
        time.sleep(0.25)


def _common_checks(page: object, title: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()  # type: ignore[attr-defined]
    assert "Liquidation Tools" in nav
    assert page.locator("h1").first.inner_text().strip().startswith(title)  # type: ignore[attr-defined]


def test_deep_link_first_on_a_fresh_server(server: str, browser: object) -> None:
    """The first visitor of a fresh server opens a page other than the default one (a shared link)."""
    page = _open(browser, f"{server}/liquidation_heatmap?sym=ETHUSDT&iv=15m")
    try:
        _common_checks(page, "Liquidation Heatmap")
        assert _selected(page, "sb_symbol") == "ETHUSDT"
        assert _selected(page, "sb_interval") == "15m"
    finally:
        page.close()  # type: ignore[attr-defined]


def test_default_page(server: str, browser: object) -> None:
    page = _open(browser, server + "/")
    try:
        _common_checks(page, "Liq. Heatmap & Levels")
        _wait_chart(page)
        assert _painted_pixels(page) > 1000, "the chart did not paint"
        panel = page.locator(".st-key-levels_panel")  # type: ignore[attr-defined]
        panel.scroll_into_view_if_needed()
        page.wait_for_selector(".st-key-levels_panel [role=row] >> nth=1", state="attached", timeout=30_000)  # type: ignore[attr-defined]
        rows = panel.locator("[role=row]").count()
        assert rows >= 2, "the levels table has no rows"  # header + at least one level
        assert page.locator('[data-testid="stMetric"]').count() >= 4  # type: ignore[attr-defined]
        text = page.locator('[data-testid="stMain"]').inner_text()  # type: ignore[attr-defined]
        assert "Built-in sample" in text
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1  # type: ignore[attr-defined]
        # a click on the chart's price pane highlights the nearest level in the table
        chart = page.locator('[data-testid="liq-chart"]').first  # type: ignore[attr-defined]
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.35)  # type: ignore[attr-defined]
        page.wait_for_selector("text=Chart click at", timeout=60_000)  # type: ignore[attr-defined]
        _wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["liquidation_heatmap", "model_check"])
def test_other_pages(server: str, browser: object, path: str) -> None:
    page = _open(browser, f"{server}/{path}")
    try:
        _common_checks(page, PAGES[path])
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1  # type: ignore[attr-defined]
        if path == "liquidation_heatmap":
            _wait_chart(page)
            assert _painted_pixels(page) > 1000
            # the still picture downloads as a standalone HTML file with Vega's export menu
            with page.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
                page.get_by_role("button", name="Download as interactive HTML").click()  # type: ignore[attr-defined]
            html = Path(info.value.path()).read_text(encoding="utf-8")
            assert "vegaEmbed" in html and '"export": true' in html
        else:
            assert page.locator('[data-testid="stMetric"]').count() >= 3  # type: ignore[attr-defined]
            assert page.locator('[data-testid="stDataFrame"] [role=row]').count() >= 5  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


def _pick(page: object, key: str, option: str) -> None:
    """Choose ``option`` in the sidebar selectbox with widget key ``key``."""
    page.locator(f".st-key-{key} button[aria-haspopup=listbox]").click()  # type: ignore[attr-defined]
    page.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]
    _wait_idle(page)


def _selected(page: object, key: str) -> str:
    return str(page.locator(f".st-key-{key} input[role=combobox]").input_value()).strip()  # type: ignore[attr-defined]


def test_share_link_restores_settings(server: str, browser: object) -> None:
    page = _open(browser, server + "/")
    try:
        _pick(page, "sb_symbol", "ETHUSDT")
        _pick(page, "sb_interval", "1h")
        _pick(page, "sb_range", "14d")
        assert "iv=1h" in page.url  # type: ignore[attr-defined]
        page.locator(".st-key-sb_share button").click()  # type: ignore[attr-defined]
        _wait_idle(page)
        link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"] code').inner_text().strip()  # type: ignore[attr-defined]
        assert link.startswith(server)
        for part in (
            "sym=ETHUSDT",
            "iv=1h",
            "range=14d",
            "src=auto",
            "w=",
            "bins=",
            "sig=",
            "thr=",
            "decay=",
        ):
            assert part in link, part
    finally:
        page.close()  # type: ignore[attr-defined]

    # a new browser session opens the link
    other = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    try:
        page = other.new_page()
        page.goto(link)
        _wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert _selected(page, "sb_symbol") == "ETHUSDT"
        assert _selected(page, "sb_interval") == "1h"
        assert _selected(page, "sb_range") == "14d"
        assert "ETHUSDT · 1h · last 14d" in page.locator('[data-testid="stMain"]').inner_text()
        # switching pages keeps the settings (Streamlit drops the query string; the app restores it)
        page.locator('[data-testid="stSidebarNav"] a', has_text="Liquidation Heatmap").click()
        _wait_idle(page)
        assert "liquidation_heatmap" in page.url
        assert "sym=ETHUSDT" in page.url and "iv=1h" in page.url and "range=14d" in page.url
        assert _selected(page, "sb_interval") == "1h"
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        other.close()


def _edit_weight(page: object, row: int, value: str, done: Callable[[], bool] | None = None) -> None:
    """Type ``value`` into the Weight cell of ``row`` of the sidebar's tier-weight editor.

    Retried a few times: right after the expander opens, the grid may still be laying out and miss the
    first double-click. Success shows in the URL, which mirrors the weights (or as ``done()`` says).
    """
    before = page.url  # type: ignore[attr-defined]
    for attempt in range(8):
        grid = page.locator('[class*="st-key-sb_weights_v"] canvas[data-testid="data-grid-canvas"]').first  # type: ignore[attr-defined]
        if not grid.is_visible():  # the Model settings expander is closed (or was re-rendered closed)
            page.locator('[data-testid="stSidebar"] summary', has_text="Model settings").click()  # type: ignore[attr-defined]
        grid.wait_for(state="visible", timeout=30_000)
        grid.scroll_into_view_if_needed()
        time.sleep(1.0 + 0.5 * attempt)  # let the sidebar finish scrolling (longer on a busy machine)
        box = grid.bounding_box()
        page.mouse.dblclick(box["x"] + box["width"] - 30, box["y"] + 35 * (row + 1) + 17)  # type: ignore[attr-defined]
        time.sleep(0.5)
        page.keyboard.press("Control+A")  # type: ignore[attr-defined]
        page.keyboard.type(value)  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        time.sleep(0.5)
        _wait_idle(page)
        if done() if done is not None else page.url != before:  # type: ignore[attr-defined]
            return
        page.keyboard.press("Escape")  # type: ignore[attr-defined]
    raise AssertionError("the tier-weight edit did not register")


def test_tier_weight_editor(server: str, browser: object) -> None:
    page = _open(browser, server + "/?src=sample")
    try:
        sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
        used = sidebar.get_by_text("Weights used:")
        before = used.inner_text()
        _edit_weight(page, 0, "0.5")  # 5x: 0.10 -> 0.50, so every share changes after renormalising
        deadline = time.monotonic() + 60
        while used.inner_text() == before and time.monotonic() < deadline:
            time.sleep(0.25)
        assert used.inner_text() != before
        assert "preset=custom" in page.url and "5%3A0.5" in page.url  # type: ignore[attr-defined]
        assert _selected(page, "sb_preset") == "Custom"
        # a fresh session from the current link, then a negative weight: refused with an explanation
        page.goto(page.url)  # type: ignore[attr-defined]
        _wait_idle(page)
        assert _selected(page, "sb_preset") == "Custom"
        shares = used.text_content()  # (the expander may be closed: text_content reads hidden text)
        refused = sidebar.get_by_text("weights must be zero or positive")
        _edit_weight(page, 0, "-1", done=lambda: refused.count() > 0)
        # refused with an explanation in the sidebar; the weights in use stay as they were
        sidebar.get_by_text("weights must be zero or positive").first.wait_for(timeout=60_000)
        assert used.text_content() == shares
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


def _binance_kline_csv(n: int = 600) -> bytes:
    """Real sample candles written in Binance's headerless 12-column kline CSV layout."""
    import pandas as pd

    raw = pd.read_csv(ROOT / "liq" / "data" / "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz").tail(n)
    lines = []
    for r in raw.itertuples(index=False):
        quote = r.volume * r.close
        lines.append(
            f"{r.open_time_ms},{r.open},{r.high},{r.low},{r.close},{r.volume},{r.open_time_ms + 299_999},"
            f"{quote:.4f},100,{r.volume / 2:.4f},{quote / 2:.4f},0"
        )
    return ("\n".join(lines) + "\n").encode()


def test_upload_source(server: str, browser: object, tmp_path: Path) -> None:
    klines = tmp_path / "BTCUSDT-5m.csv"
    klines.write_bytes(_binance_kline_csv())
    page = _open(browser, server + "/?src=upload")
    try:
        assert "Upload a klines CSV" in page.locator('[data-testid="stMain"]').inner_text()  # type: ignore[attr-defined]
        page.locator(".st-key-sb_up_klines input[type=file]").set_input_files(str(klines))  # type: ignore[attr-defined]
        # the one-line source badge names the upload (the details are in its popover)
        page.locator(".st-key-source_badge", has_text="UPLOAD").wait_for(timeout=LOAD_TIMEOUT_MS)  # type: ignore[attr-defined]
        _wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
        assert page.locator('[data-testid="stMetric"]').count() >= 4  # type: ignore[attr-defined]
        _wait_chart(page)
        assert _painted_pixels(page) > 1000
    finally:
        page.close()  # type: ignore[attr-defined]


def test_screenshots(server: str, browser: object) -> None:
    """Write the README screenshots when LIQ_SCREENSHOTS_DIR is set (the layout is checked at both widths)."""
    out = os.environ.get("LIQ_SCREENSHOTS_DIR")
    shots = [
        ("screenshot_app.png", "/", 1440, 900),
        ("screenshot_heatmap.png", "/liquidation_heatmap", 1280, 1450),
        ("screenshot_phone.png", "/", 390, 1700),
    ]
    for name, path, width, height in shots:
        page = _open(browser, server + path, width=width, height=height)
        try:
            _wait_chart(page)
            assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
            # nothing wider than the viewport: the layout fits phones too
            overflow = page.evaluate(  # type: ignore[attr-defined]
                "() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{name}: content is {overflow}px wider than the viewport"
            if out:
                time.sleep(1.0)
                page.screenshot(path=str(Path(out) / name))  # type: ignore[attr-defined]
        finally:
            page.close()  # type: ignore[attr-defined]
