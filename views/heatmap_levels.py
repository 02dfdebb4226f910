"""Liq. Heatmap & Levels: estimated liquidation density behind the candles, plus the exact levels."""

import streamlit as st

from ui import chart, pipeline, render, sidebar

sb = sidebar.render()
s = sb.settings
st.title("Liq. Heatmap & Levels")
st.caption(
    f"{s.symbol} · {s.interval} · last {s.range_key} · Binance USD-M futures. Heatmap, levels and USD figures are "
    "model estimates."
)
view = pipeline.load_view(sb)


def body() -> None:
    v = pipeline.refresh(view)
    render.metrics_row(v.est.summary)
    click = chart.show(v, levels=True, key="levels_chart")
    render.levels_panel(v.est, click, key="levels")
    render.swept_list(v.est)
    render.liquidation_map(v.est, key="levels_map")
    render.how_to_read()


pipeline.run_body(body, live=s.live)
