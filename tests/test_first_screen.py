"""A trader's first screen (issue 11): failures in the open, presets that survive a link, the chart first.

AppTest checks on the built-in sample with the network blocked (see conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from ui import pipeline, settings

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    import streamlit as st

    st.cache_data.clear()


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --- 1: a failed load is explained in the open, with what to do ------------------------------------------------
def test_a_failed_load_is_explained_outside_the_folded_status() -> None:
    at = _app(sym="NOPEUSDT", src="sample")
    at.run()
    _no_exception(at)
    errors = [str(e.value) for e in at.error]
    assert any("NOPEUSDT" in e for e in errors), errors
    # not inside the (collapsed) status box: the explanation is on the page itself
    inside = [str(e.value) for s in at.status for e in s.error]
    assert not any("NOPEUSDT" in e for e in inside), inside
    assert any(str(c.value) == pipeline.NEXT_STEP for c in at.caption)
    assert [s.label for s in at.status if s.state == "error"], "the status names the failure"
    assert not at.metric  # nothing half-drawn below the message


# --- 3: every preset survives a reload and a share link ----------------------------------------------------------
@pytest.mark.parametrize("key", [k for k in settings.PRESETS if k != "custom"])
def test_a_preset_survives_the_rounding_of_a_link(key: str) -> None:
    s = settings.Settings(preset=key, weights=settings.preset_weights(key))
    back, problems = settings.decode(settings.encode(s))
    assert problems == []
    assert back.preset == key


def test_a_mix_that_is_not_a_preset_stays_custom() -> None:
    near_high = ((25.0, 0.47), (50.0, 0.30), (100.0, 0.23))
    assert settings.preset_of(near_high) == "custom"
    assert settings.preset_of(((25.0, 6.0), (50.0, 4.0), (100.0, 3.0))) == "high"  # same shares, unnormalised


def test_high_leverage_comes_back_from_its_share_link() -> None:
    link = settings.encode(settings.Settings(preset="high", weights=settings.preset_weights("high")))
    at = _app(**link)
    at.run()
    _no_exception(at)
    assert at.selectbox(key="sb_preset").value == "high"
    assert at.query_params["preset"] == "high"
    at.run()  # a reload of the rewritten link
    assert at.selectbox(key="sb_preset").value == "high"
