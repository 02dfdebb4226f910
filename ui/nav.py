"""Make sure every page runs through ``app.py`` (its ``st.navigation`` and page config)."""

from __future__ import annotations

import streamlit as st

__all__ = ["require_entrypoint"]


def require_entrypoint() -> None:
    """Rerun through ``app.py`` when Streamlit ran this page file on its own.

    Because the project keeps its page scripts in a folder named ``pages/``, a freshly started Streamlit
    server treats the app as an old-style multipage app until ``st.navigation`` has run once. If the very
    first visitor opens a deep link (``/model_check`` or a shared ``/liquidation_heatmap?...`` link), the
    page script runs directly, without ``app.py``: the sidebar would list raw file names instead of
    "Liquidation Tools" and the wide layout would be missing. Clearing that flag and rerunning sends the
    session through ``app.py`` and its navigation, on the same page. With the flag already clear this does
    nothing.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
