"""Liquidation Heatmap: the density view without level lines, plus a still Altair version to export."""

import streamlit as st

from ui import chart, nav, pipeline, render, sidebar

nav.require_entrypoint()
sb = sidebar.render()
s = sb.settings
st.title("Liquidation Heatmap")
st.caption(
    f"{s.symbol} · {s.interval} · last {s.range_key}. The density alone, without level lines; every USD figure "
    "is a model estimate."
)
view = pipeline.load_view(sb)


def body() -> None:
    v = pipeline.refresh(view)
    chart.show(v, levels=False, key="density_chart")
    st.subheader("Still picture (Altair)")
    st.caption(
        "The same estimate, coarser (at most about 15,000 cells) and easy to share: use the ⋯ menu at the top "
        "right of the chart to save it as PNG or SVG. Hover a cell for its estimated long and short USD."
    )
    picture = render.heatmap_chart(v.est, colour_threshold=s.colour_threshold)
    if picture is None:
        st.info("No estimated liquidations above the colour threshold: lower it in Model settings.")
    else:
        st.altair_chart(picture, width="stretch")
    render.how_to_read()


pipeline.run_body(body, live=s.live)
