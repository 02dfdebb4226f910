"""Estimates for the chart test page and the chart benchmark (no Streamlit here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import liq

SAMPLE = Path(liq.__file__).resolve().parent / "data" / "BTCUSDT_5m_2024-11-20_2025-01-05.csv.gz"


def sample_candles() -> pd.DataFrame:
    """The real built-in BTCUSDT 5m sample (45 days) as engine candles."""
    raw = pd.read_csv(SAMPLE)
    candles = pd.DataFrame({"open_time": pd.to_datetime(raw["open_time_ms"], unit="ms", utc=True)})
    for col in ("open", "high", "low", "close", "volume"):
        candles[col] = raw[col].astype(float)
    return candles


def sample_estimate(hours: int | None = None) -> liq.Estimate:
    """``liq.estimate`` on the whole sample, or on its last ``hours`` hours."""
    candles = sample_candles()
    if hours is not None:
        candles = candles.iloc[-hours * 12 :].reset_index(drop=True)
    return liq.estimate(candles, symbol="BTCUSDT")


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


def grid_options(cols: int, rows: int) -> dict[str, int]:
    """Payload options that keep a ``cols`` × ``rows`` grid of 1-hour columns as it is."""
    return {"max_columns": cols, "max_rows": rows, "max_candles": cols}
