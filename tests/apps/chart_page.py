"""A tiny Streamlit page for the browser test and the benchmark: the chart on the real built-in sample.

Run from the repository root with the root on PYTHONPATH, e.g.
``PYTHONPATH=. streamlit run tests/apps/chart_page.py``. Query parameters:

* ``grid=COLSxROWS``: use a synthetic grid of that size instead of the real estimate (benchmark);
* ``threshold=0.1``: the colour threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import liq
from liq_chart import liq_chart

SAMPLE = Path(liq.__file__).resolve().parent / "data" / "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz"

st.set_page_config(page_title="liq_chart test page", layout="wide")


def sample_candles() -> pd.DataFrame:
    raw = pd.read_csv(SAMPLE)
    candles = pd.DataFrame({"open_time": pd.to_datetime(raw["open_time_ms"], unit="ms", utc=True)})
    for col in ("open", "high", "low", "close", "volume"):
        candles[col] = raw[col].astype(float)
    return candles


@st.cache_resource(max_entries=4)
def sample_estimate(hours: int | None = None) -> liq.Estimate:
    candles = sample_candles()
    if hours is not None:
        candles = candles.iloc[-hours * 12 :].reset_index(drop=True)
    return liq.estimate(candles, symbol="BTCUSDT")


@st.cache_resource(max_entries=4)
def grid_estimate(cols: int, rows: int) -> liq.Estimate:
    """The estimate of the last ``cols`` hours with its heatmap resampled to exactly ``cols`` × ``rows``.

    One column per 1-hour bar (the engine column at the start of each hour) and ``rows`` price rows over the
    candle range ±15 % (nearest engine row): the benchmark's "1000 × 500 grid".
    """
    est = sample_estimate(cols)
    hm = est.heatmap
    pick = np.arange(0, len(hm.times), 12)[:cols]
    lo = float(est.candles["low"].min()) * 0.85
    hi = float(est.candles["high"].max()) * 1.15
    edges = np.linspace(lo, hi, rows + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    src = np.clip(np.searchsorted(hm.price_edges, centres) - 1, 0, len(hm.price_edges) - 2)
    heat = type(hm)(
        times=hm.times[pick],
        price_edges=edges,
        long_usd=hm.long_usd[np.ix_(pick, src)] + 1.0,  # +1 USD: no row is empty, none is trimmed
        short_usd=hm.short_usd[np.ix_(pick, src)],
    )
    fields = {f: getattr(est, f) for f in est.__dataclass_fields__}
    return type(est)(**{**fields, "heatmap": heat})


grid = st.query_params.get("grid")
options: dict[str, object] = {"threshold": float(st.query_params.get("threshold", 0.0))}
if grid:
    cols, rows = (int(x) for x in grid.lower().split("x"))
    est = grid_estimate(cols, rows)
    options.update(max_columns=cols, max_rows=rows, max_candles=cols)
else:
    est = sample_estimate()

clicked = liq_chart(est, height=620, key="chart", **options)
st.markdown("CLICKED " + json.dumps(clicked))
