"""Streamlit AppTest of ``app.py``: the app's path, a run timeout, fresh caches and query parameters.

Import :func:`fresh_caches` into a test module to clear Streamlit's caches before each of its tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

__all__ = ["APP", "TIMEOUT", "app_test", "clear_caches", "fresh_caches"]

#: The app's entry point.
APP = str(Path(__file__).resolve().parents[2] / "app.py")
#: Seconds one AppTest run may take (two shared cores).
TIMEOUT = 180


def clear_caches() -> None:
    """Empty Streamlit's caches (data and resource: the app's shared estimates are resources)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    """Clear Streamlit's caches, so that no test sees another's cached loads."""
    clear_caches()


def app_test(params: dict[str, str]) -> AppTest:
    """An AppTest of :data:`APP` (not run yet) opened with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at
