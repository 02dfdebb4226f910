"""Liq. Heatmap & Levels — Streamlit entry point: page setup and navigation."""

import streamlit as st

from ui.memory import limit_malloc_arenas

limit_malloc_arenas()  # once per process: see ui/memory.py

st.set_page_config(
    page_title="Liq. Heatmap & Levels",
    page_icon="🔥",
    layout="wide",
    initial_sidebar_state="auto",
)

pages = {
    "Liquidation Tools": [
        st.Page(
            "views/heatmap_levels.py",
            title="Liq. Heatmap & Levels",
            icon=":material/local_fire_department:",
            default=True,
        ),
        st.Page("views/liquidation_heatmap.py", title="Liquidation Heatmap", icon=":material/blur_on:"),
        st.Page("views/screener.py", title="Levels screener", icon=":material/filter_list:"),
        st.Page("views/model_check.py", title="Model check", icon=":material/fact_check:"),
    ]
}
st.navigation(pages).run()
