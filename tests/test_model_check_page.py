"""The Model check page on the built-in June 2025 multi-pair recording (set D): all pairs pooled, or one."""

from __future__ import annotations

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
