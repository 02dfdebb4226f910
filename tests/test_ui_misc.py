"""UI plumbing: user text shown as text, unexpected errors logged (with traceback) but shown plainly, caches."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.apptest import clear_caches
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import messages

APP = str(Path(__file__).resolve().parents[1] / "app.py")
EVIL = "**BOLD**[x](https://evil.example)"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


def test_plain_text_cannot_become_markdown() -> None:
    shown = messages.plain(EVIL + " :material/home: :red[x] $1 and $2 www.evil.example")
    for raw in ("**", "[x]", "https://", " :material/", " :red[", " $1", "www.evil"):
        assert raw not in shown, raw
    # every character is still there, behind a backslash where markdown would act on it
    assert (
        shown.replace("\\", "").replace("\u200b", "")
        == EVIL + " :material/home: :red[x] $1 and $2 www.evil.example"
    )


def test_a_link_with_markdown_in_the_pair_shows_it_as_text() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["sym"] = EVIL
    at.query_params["src"] = "sample"
    at.run()
    assert not at.exception
    (warning,) = [str(w.value) for w in at.warning if "sym=" in str(w.value)]
    assert "\\*\\*BOLD\\*\\*\\[x\\]" in warning and "https\\:" in warning
    assert "**BOLD**" not in warning and "://" not in warning.replace("\\", "")  # no autolink either


def _run_with_a_fault(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    owner: object,
    name: str,
    err: Exception,
) -> AppTest:
    """The app on the sample with ``owner.name`` raising ``err``; ui's log records are captured."""

    def broken(*args: object, **kwargs: object) -> None:
        raise err

    monkeypatch.setattr(owner, name, broken)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["src"] = "sample"
    with caplog.at_level(logging.ERROR, logger="ui"):
        at.run()
    assert not at.exception
    return at


def test_an_unexpected_error_is_logged_with_its_traceback_and_shown_plainly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import liq

    at = _run_with_a_fault(monkeypatch, caplog, liq, "estimate", RuntimeError("secret internal detail"))
    errors = " ".join(str(e.value) for e in at.error)
    assert "Something unexpected went wrong while estimating the levels" in errors
    assert "secret internal detail" not in errors and "RuntimeError" not in errors
    record = next(r for r in caplog.records if r.name.startswith("ui."))
    assert record.exc_info is not None and "secret internal detail" in str(record.exc_info[1])


def test_an_error_while_drawing_is_logged_and_the_page_still_renders(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ui import panels

    at = _run_with_a_fault(monkeypatch, caplog, panels, "swept_list", KeyError("a column that is not there"))
    assert any("while drawing the page" in str(e.value) for e in at.error)
    assert at.metric  # what was drawn before the failure stays
    assert any(r.exc_info for r in caplog.records if r.name == "ui.messages")


def test_market_data_is_hashed_by_content() -> None:
    from datetime import datetime, timezone

    import liq
    from ui import cache

    start, end = datetime(2024, 12, 1, tzinfo=timezone.utc), datetime(2024, 12, 3, tzinfo=timezone.utc)
    a = liq.load_market_data("BTCUSDT", "5m", start, end, "sample").data
    b = liq.load_market_data("BTCUSDT", "5m", start, end, "sample").data
    assert a is not b and cache.market_digest(a) == cache.market_digest(b)
    changed = a.candles.copy()
    changed.loc[len(changed) // 2, "close"] += 0.01  # one price anywhere in the middle
    assert cache.market_digest(a) != cache.market_digest(type(a)(**{**a.__dict__, "candles": changed}))
    assert cache.market_digest(a) != cache.market_digest(type(a)(**{**a.__dict__, "source": "upload"}))


def test_a_rerun_does_not_hash_the_candles_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetched data's digest travels with the cached fetch, so a cache hit's copy is not hashed again."""
    from ui import cache

    hashed: list[str] = []
    real = cache._digest

    def spy(md: object) -> str:
        hashed.append(getattr(md, "symbol", "?"))
        return real(md)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "_digest", spy)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"sym": "ETHUSDT", "range": "3d", "src": "sample"})
    at.run()
    assert not at.exception and hashed == ["ETHUSDT"]
    at.run()
    assert not at.exception
    assert hashed == ["ETHUSDT"], "the second run hashed the candles again"


@pytest.mark.parametrize(("ci", "outcome"), [("true", "failed"), ("", "skipped")])
def test_missing_chromium_fails_on_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    from tests.support import browser

    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(
        pytest.fail.Exception if outcome == "failed" else pytest.skip.Exception, match="chromium"
    ):
        browser.require_chromium()
