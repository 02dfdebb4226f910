"""The Model check page on the built-in June 2025 multi-pair recording (set D): all pairs pooled, or one."""

from __future__ import annotations

from typing import Any

import pytest

import liq
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from tests.test_app_pages import _app, _metrics, _no_exception, _texts


def test_june_2025_recording_pools_all_pairs_and_checks_one() -> None:
    at = _app()
    at.run()
    at.switch_page("views/model_check.py").run()
    at.radio(key="mc_recording").set_value("jun2025").run()
    _no_exception(at)
    picker = at.selectbox(key="mc_symbol_jun2025")
    assert picker.options[0] == "all" and "SOLUSDT" in picker.options and "BNBUSDT" not in picker.options
    pooled = _metrics(at)
    # 77 long + 94 short events of the eight pairs with 1m candles
    assert pooled["Recorded events used"] == "171"
    assert any("All pairs pooled" in str(c.value) for c in at.caption)
    picker.set_value("SOLUSDT").run()
    _no_exception(at)
    assert not _texts(at, "error")
    assert _metrics(at)["Recorded events used"] == "26"


def test_a_rerun_of_the_check_hashes_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks and their charts are cached under names (recording, part, candles' digest, settings), so a
    rerun neither hashes the events nor the per-candle rows again, nor builds a chart again."""
    import pandas as pd

    from tests.support.apptest import clear_caches
    from ui import altair_charts

    clear_caches()  # the checks are shared: another test may have made this one already

    hashed: list[int] = []
    built: list[str] = []
    real_hash, real_scatter = pd.util.hash_pandas_object, altair_charts.scatter

    def spy_hash(obj: Any, *args: Any, **kwargs: Any) -> Any:
        hashed.append(len(obj))
        return real_hash(obj, *args, **kwargs)

    def spy_scatter(*args: Any, **kwargs: Any) -> Any:
        built.append("scatter")
        return real_scatter(*args, **kwargs)

    monkeypatch.setattr(pd.util, "hash_pandas_object", spy_hash)
    monkeypatch.setattr(altair_charts, "scatter", spy_scatter)
    at = _app()
    at.switch_page("views/model_check.py").run()
    _no_exception(at)
    assert built == ["scatter", "scatter"] and _metrics(at)
    hashed.clear()
    at.run()
    _no_exception(at)
    assert built == ["scatter", "scatter"], "the second run built the charts again"
    assert hashed == [], f"the second run hashed tables of {hashed} rows"


def test_a_failed_check_is_explained_in_the_open_and_a_rerun_is_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check that cannot run says why on the page, not inside the folded box; a rerun of a check that ran
    draws the box without ``st.status`` (and its 50 ms pause)."""
    from tests.support.apptest import clear_caches
    from ui import cache

    clear_caches()
    at = _app()
    at.switch_page("views/model_check.py").run()
    _no_exception(at)
    (ran,) = at.status
    assert ran.state == "complete" and ran.label.startswith("Checked ")
    at.run()
    _no_exception(at)
    assert not at.status and [e for e in at.expander if e.label == ran.label and e.icon == ":material/check:"]
    assert _metrics(at), "the check is shown as before"

    def no_candles(*args: Any, **kwargs: Any) -> Any:
        raise liq.NoDataError("No candles for this test's recording.")

    monkeypatch.setattr(cache, "model_check", no_candles)
    at.radio(key="mc_recording").set_value("oct2025").run()
    _no_exception(at)
    (failed,) = at.status
    assert failed.state == "error" and "reason is shown above" in failed.label
    assert not [e for e in failed.error], "the reason is not folded away"
    assert any("No candles for this test's recording." in str(e.value) for e in at.error)
    at.run()  # a check that failed is not recorded as done: its rerun opens the status again
    _no_exception(at)
    assert [s.state for s in at.status] == ["error"]
