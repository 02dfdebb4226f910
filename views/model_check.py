"""Model check: how well the estimate matches liquidations that were really recorded."""

import streamlit as st

from ui import check, sidebar

sb = sidebar.render(show_market=False)
st.title("Model check")
st.caption(
    "How close is the estimate to reality? Here the model's per-candle liquidation estimate is compared with "
    "Binance liquidation events that were actually recorded."
)
if sb.config is None:
    st.error(
        f"Fix the model settings first (sidebar, Model settings): {sb.config_error}", icon=":material/error:"
    )
    st.stop()
rec = check.pick_recording()
if rec is None:
    st.stop()
config = sb.settings.model_config(5)  # the check runs on 5-minute candles
result = check.check_for(rec, config)
if result is None:
    st.stop()
check.show_check(result, config)
