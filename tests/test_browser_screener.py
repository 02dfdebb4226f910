"""Real-browser test of the Levels screener: ``streamlit run app.py`` offline (loopback only), headless Chromium.

Set ``LIQ_SCREENSHOTS_DIR=docs`` to also write ``screenshot_screener.png`` for the README.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import ROOT, chromium, require_chromium, serve_streamlit
from tests.support.offline import write_offline_sitecustomize

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 180_000
WATCH = "BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT,NOPEUSDT"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("screener_server")
    write_offline_sitecustomize(tmp)
    with serve_streamlit("app.py", pythonpath=[tmp], env={"LIQ_CACHE_DIR": str(tmp / "cache")}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def _wait_idle(page: object, *, settle_s: float = 1.5) -> None:
    """Wait until the script has stopped running (no running indicator, nothing stale)."""
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


def _open(browser: object, url: str, width: int = 1400, height: int = 900) -> object:
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page.goto(url)
    _wait_idle(page)
    return page


def _table(page: object) -> object:
    table = page.locator(".st-key-scr_table")  # type: ignore[attr-defined]
    table.scroll_into_view_if_needed()
    page.wait_for_selector(".st-key-scr_table [role=row] >> nth=1", state="attached", timeout=60_000)  # type: ignore[attr-defined]
    return table


def _cells(table: object, label: str) -> list[str]:
    """Texts of the column headed ``label`` in the grid's accessible table, top to bottom."""
    heads = [h.strip() for h in table.locator("[role=columnheader]").all_inner_texts()]  # type: ignore[attr-defined]
    rows = table.locator("[role=row]")  # type: ignore[attr-defined]
    out = []
    for i in range(1, rows.count()):
        cells = rows.nth(i).locator("[role=gridcell]")
        offset = len(heads) - cells.count()  # the selection column has a header but no grid cell
        out.append(cells.nth(heads.index(label) - offset).inner_text().strip())
    return out


def _main_text(page: object) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())  # type: ignore[attr-defined]


def _pick(page: object, key: str, option: str) -> None:
    page.locator(f".st-key-{key} button[aria-haspopup=listbox]").click()  # type: ignore[attr-defined]
    page.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]
    _wait_idle(page)


def test_screener_rows_sort_highlight_and_a_failing_pair(server: str, browser: object) -> None:
    page = _open(browser, f"{server}/screener?src=sample&watch={WATCH}")
    try:
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
        assert page.locator("h1").first.inner_text().strip() == "Levels screener"  # type: ignore[attr-defined]
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()  # type: ignore[attr-defined]
        assert "Liquidation Tools" in nav and "Levels screener" in nav
        table = _table(page)
        assert table.locator("[role=row]").count() == 1 + 5  # type: ignore[attr-defined]
        text = _main_text(page)
        assert "5 pairs" in text and "1 could not be screened" in text
        symbols = _cells(table, "Pair")
        assert symbols[-1] == "NOPEUSDT" and set(symbols) == set(WATCH.split(","))
        if os.environ.get("LIQ_SCREENSHOTS_DIR"):
            folder = Path(os.environ["LIQ_SCREENSHOTS_DIR"])
            folder = folder if folder.is_absolute() else ROOT / folder
            page.screenshot(path=str(folder / "screenshot_screener.png"), full_page=False)  # type: ignore[attr-defined]

        page.set_viewport_size({"width": 3600, "height": 900})  # type: ignore[attr-defined]  # every column drawn
        _wait_idle(page)
        _pick(page, "scr_sort", "Largest level (USD)")
        usd = _cells(_table(page), "Largest est. USD")
        values = [
            float(re.sub(r"[^0-9.]", "", v)) * {"K": 1e3, "M": 1e6, "B": 1e9}.get(v[-1], 1)
            for v in usd
            if v not in ("–", "", "None", "nan")
        ]
        assert len(values) == 4 and values == sorted(values, reverse=True), usd

        within = page.locator(".st-key-scr_within input")  # type: ignore[attr-defined]
        within.fill("20")
        within.press("Enter")
        _wait_idle(page)
        assert "4 with a level within 20 % of price (highlighted)" in _main_text(page)
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]


def test_clicking_a_row_opens_the_pair_on_the_main_page(server: str, browser: object) -> None:
    page = _open(browser, f"{server}/screener?src=sample&iv=1h&range=14d&watch=SOLUSDT,ETHUSDT")
    try:
        table = _table(page)
        symbol = _cells(table, "Pair")[0]
        box = table.locator("canvas").first.bounding_box()  # type: ignore[attr-defined]
        # the grid draws rows 35 px high under a 35 px header; its first column holds the row-selection boxes
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # type: ignore[attr-defined]
        page.wait_for_url(re.compile(rf".*sym={symbol}.*"), timeout=60_000)  # type: ignore[attr-defined]
        _wait_idle(page)
        assert page.locator("h1").first.inner_text().strip().startswith("Liq. Heatmap & Levels")  # type: ignore[attr-defined]
        url = page.url  # type: ignore[attr-defined]
        assert "iv=1h" in url and "range=14d" in url and "src=sample" in url
        assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    finally:
        page.close()  # type: ignore[attr-defined]
