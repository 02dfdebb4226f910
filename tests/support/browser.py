"""Shared plumbing of the real-browser tests: a ``streamlit run`` server on loopback and Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
#: Flags for headless Chromium as root on a machine without internet (no background traffic).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Generous: a noisy 2-core machine may take a while to start Streamlit.
SERVER_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def streamlit_command(
    script: str | Path,
    port: int,
    extra_args: Sequence[str] = (),
    *,
    pythonpath: Sequence[str | Path] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of ``streamlit run script`` on ``127.0.0.1:port`` (headless, no file
    watcher, no telemetry); ``pythonpath`` entries go before the repository root on ``PYTHONPATH``."""
    run_env = {**os.environ, **(env or {})}
    paths = [*map(str, pythonpath), str(ROOT), run_env.get("PYTHONPATH", "")]
    run_env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address=127.0.0.1", f"--server.port={port}", "--server.headless=true",
        "--server.fileWatcherType=none", "--server.runOnSave=false", "--browser.gatherUsageStats=false",
        "--global.developmentMode=false", *extra_args,
    ]  # fmt: skip
    return cmd, run_env


@contextlib.contextmanager
def serve_streamlit(
    script: str | Path,
    extra_args: Sequence[str] = (),
    *,
    pythonpath: Sequence[str | Path] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """``streamlit run script`` on a free loopback port; yields its base URL and stops the server afterwards.

    ``pythonpath`` entries go before the repository root on ``PYTHONPATH``; ``env`` adds variables.
    If the server exits or does not answer its health check in time, the error carries its log.
    """
    port = free_port()
    cmd, run_env = streamlit_command(script, port, extra_args, pythonpath=pythonpath, env=env)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def server_log() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")

    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{server_log()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:  # loopback only
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not answer on {url} within {SERVER_TIMEOUT_S} s:\n{server_log()}"
                )
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by playwright (never playwright's own browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def require_chromium() -> None:
    """Skip the calling test without Debian's Chromium, except on CI (``CI=true``), where that is a failure.

    On CI a missing install step must not pass silently as a skipped browser suite.
    """
    import pytest

    if Path(CHROMIUM).exists():
        return
    message = f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(message)


CHART_PAGE = ROOT / "tests" / "apps" / "chart_page.py"
#: Generous: a noisy 2-core machine may take a while to paint.
PAINT_TIMEOUT_MS = 120_000


@contextlib.contextmanager
def serve_chart_page(page: Path = CHART_PAGE, *extra_args: str) -> Iterator[str]:
    """``streamlit run`` the chart test page on a free loopback port; yields its URL, then stops the server.

    ``extra_args`` are more ``streamlit run`` options, e.g. ``"--theme.base=light"``.
    """
    with serve_streamlit(page, extra_args) as url:
        yield url


def open_chart(browser: Any, url: str, *, width: int = 1400, height: int = 900) -> tuple[Any, Any]:
    """A new page at ``url``; waits until the heatmap has been painted. Returns ``(page, chart root)``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="domcontentloaded", timeout=PAINT_TIMEOUT_MS)
    root = page.locator("[data-testid=liq-chart]")
    page.locator("[data-testid=liq-chart][data-painted='1']").wait_for(timeout=PAINT_TIMEOUT_MS)
    return page, root
