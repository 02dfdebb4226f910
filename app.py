"""Liq. Heatmap & Levels — Streamlit entry point."""

import streamlit as st

st.set_page_config(page_title="Liq. Heatmap & Levels", page_icon="🔥", layout="wide")

pages = {
    "Liquidation Tools": [
        st.Page("pages/heatmap_levels.py", title="Liq. Heatmap & Levels", icon="🔥", default=True),
    ]
}
st.navigation(pages).run()
