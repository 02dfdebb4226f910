"""Issue 11 item 11: the heatmap's price resolution follows the bars drawn (bands, not a barcode, at 1h/4h)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

import liq
from liq._chart_payload import DEFAULT_MAX_ROWS, ROWS_PER_BAR_RANGE


def _payload(interval: str, days: int) -> tuple[dict, liq.Estimate]:
    end = datetime(2026, 1, 29, tzinfo=timezone.utc)
    start = end - np.timedelta64(days, "D").astype(object)
    data = liq.load_market_data("BTCUSDT", interval, start, end, source="sample").data
    est = liq.estimate(data.candles, symbol="BTCUSDT")
    return liq.build_chart_payload(est), est


def test_coarse_bars_get_rows_about_half_a_bar_tall() -> None:
    payload, est = _payload("4h", 30)
    rows = payload["heatmap"]["rows"]
    bar = float(np.median(est.candles["high"] - est.candles["low"]))
    bin_width = float(np.diff(est.heatmap.price_edges).mean())
    occupied = np.flatnonzero(est.heatmap.long_usd.any(axis=0) | est.heatmap.short_usd.any(axis=0))
    span = int(occupied[-1] - occupied[0] + 1)
    factor = int(bar / ROWS_PER_BAR_RANGE / bin_width)
    assert factor >= 2  # 4h bars are several engine bins tall
    assert rows == -(-span // factor)


def test_fine_bars_keep_the_engine_bins() -> None:
    payload, est = _payload("5m", 2)
    occupied = np.flatnonzero(est.heatmap.long_usd.any(axis=0) | est.heatmap.short_usd.any(axis=0))
    span = int(occupied[-1] - occupied[0] + 1)
    by_size = -(-span // DEFAULT_MAX_ROWS)  # only the payload's size cap merges bins here
    assert payload["heatmap"]["rows"] == -(-span // by_size)
