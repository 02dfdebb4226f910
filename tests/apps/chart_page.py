"""A tiny Streamlit page for the browser test and the benchmark: the chart on the real built-in sample.

Run from the repository root with the root on PYTHONPATH, e.g.
``PYTHONPATH=. streamlit run tests/apps/chart_page.py``. Query parameters:

* ``grid=COLSxROWS``: the last COLS hours with a heatmap of exactly COLS × ROWS cells (benchmark);
* ``threshold=0.1``: the colour threshold (fraction of the densest cell);
* ``broken=1``: a payload whose grid is not valid base64 (the component must say it cannot draw).

The value returned by a click is written as ``CLICKED {"time": ..., "price": ...}``.
"""

from __future__ import annotations

import json

import streamlit as st

import liq
from liq_chart import liq_chart
from tests.apps import chart_data


@st.cache_resource(max_entries=2)
def sample_estimate() -> liq.Estimate:
    return chart_data.sample_estimate()


@st.cache_resource(max_entries=2)
def grid_estimate(cols: int, rows: int) -> liq.Estimate:
    return chart_data.grid_estimate(cols, rows)


def main() -> None:
    st.set_page_config(page_title="liq_chart test page", layout="wide")
    grid = st.query_params.get("grid")
    options: dict[str, object] = {"threshold": float(st.query_params.get("threshold", 0.0))}
    if grid:
        cols, rows = (int(x) for x in grid.lower().split("x"))
        est = grid_estimate(cols, rows)
        options.update(chart_data.grid_options(cols, rows))
    else:
        est = sample_estimate()

    if st.query_params.get("broken"):
        payload = liq.build_chart_payload(est, **options)  # type: ignore[arg-type]
        payload["heatmap"]["long"] = "not base64!"
        liq_chart(payload=payload, height=620, key="chart")
        return
    clicked = liq_chart(est, height=620, key="chart", **options)
    st.markdown("CLICKED " + json.dumps(clicked))


if __name__ == "__main__":  # `streamlit run` runs the page as __main__; pytest's doctest collection does not
    main()
