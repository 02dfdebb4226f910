"""Model check: how well the estimate matches liquidations that were really recorded."""

import streamlit as st

from ui import check, messages, pipeline, sidebar

sb = sidebar.render(show_market=False)
st.title("Model check")
st.caption(
    "How close is the estimate to reality? Here the model's per-candle liquidation estimate is compared with "
    "Binance liquidation events that were actually recorded."
)


def body() -> None:
    if sb.config is None:
        st.error(
            f"Fix the model settings first (sidebar, Model settings): {messages.plain(sb.config_error)}",
            icon=":material/error:",
        )
        return
    rec = check.pick_recording()
    if rec is None:
        return
    config = sb.settings.model_config(5)  # the check runs on 5-minute candles
    result = check.check_for(rec, config)
    if result is not None:
        check.show_check(result, config, check.split_for(rec, config))


pipeline.run_body(body, live=False)
