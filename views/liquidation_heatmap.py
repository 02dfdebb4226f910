"""Liquidation Heatmap: the density view without level lines, plus a still version to export."""

import streamlit as st

from ui import cache, chart, help, pipeline, vega_specs

view = pipeline.open_page(
    "Liquidation Heatmap",
    "The density alone, without level lines; every USD figure is a model estimate.",
)


def body() -> None:
    v = pipeline.refresh(view)
    chart.show(v, levels=False, key="density_chart")
    st.subheader("Still picture")
    st.caption(
        f"The same estimate, coarser (at most {vega_specs.HEATMAP_MAX_CELLS:,} cells) and easy to share. Hover a cell for its "
        "estimated long and short USD. To save it: hover the chart and use its toolbar's **Download as PNG**, or "
        "download the interactive HTML below, whose ⋯ menu saves PNG or SVG."
    )
    threshold = v.settings.colour_threshold
    picture = cache.heatmap_spec(v.config, v.data, threshold)
    if picture is None:
        st.info("No estimated liquidations above the colour threshold: lower it in Model settings.")
    else:
        vega_specs.draw(picture)
        vega_specs.html_download(
            lambda: vega_specs.heatmap(cache.full_estimate(v.config, v.data), colour_threshold=threshold),
            f"{v.data.symbol}_{v.data.interval}_liquidation_heatmap_estimate",
        )
    help.how_to_read()


pipeline.run_body(body, live=view.settings.live)
