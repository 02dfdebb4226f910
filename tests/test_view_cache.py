"""Issue 12: a viewer's next rerun of the same view finds it cached, however many other views came since.

The pages read :func:`ui.cache.page_estimate` (the estimate without its heatmap grids, many kept); only the
chart payload and the still heatmap read the full estimate (few kept, 2-8 MB each).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

import liq
from tests.support.apptest import clear_caches
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from tests.test_app_pages import _app, _levels, _no_exception
from ui import cache, settings

END = datetime(2026, 1, 29, tzinfo=timezone.utc)


def _data(symbol: str, interval: str, days: int) -> liq.MarketData:
    return liq.load_market_data(symbol, interval, END - timedelta(days=days), END, "sample").data


def test_the_page_estimate_is_the_estimate_without_its_grids() -> None:
    clear_caches()
    config, data = settings.DEFAULTS.model_config(), _data("ETHUSDT", "1h", 14)
    full, page = cache.estimate(config, data), cache.page_estimate(config, data)
    assert full.heatmap.long_usd.shape[0] > 0
    assert (
        page.heatmap.long_usd.shape == page.heatmap.short_usd.shape == (0, len(full.heatmap.price_edges) - 1)
    )
    assert not page.heatmap.long_usd.flags.writeable
    np.testing.assert_array_equal(page.heatmap.times, full.heatmap.times)
    # everything else is the full estimate's own objects, not copies
    assert page.levels is full.levels and page.swept is full.swept and page.summary is full.summary
    assert page.candles is full.candles and page.profile is full.profile and page.totals is full.totals
    # drawing from it fails with a plain message instead of drawing an empty map
    with pytest.raises(liq.DataValidationError, match="shapes disagree"):
        liq.build_chart_payload(page)


def test_a_rerun_of_a_view_does_not_estimate_again_after_other_views(monkeypatch: pytest.MonkeyPatch) -> None:
    estimated: list[int] = []
    real = liq.estimate

    def spy(candles: Any, **kwargs: Any) -> liq.Estimate:
        estimated.append(len(candles))
        return real(candles, **kwargs)

    monkeypatch.setattr(liq, "estimate", spy)
    clear_caches()
    at = _app(sym="BTCUSDT", iv="15m", range="3d", src="sample")
    at.run()
    _no_exception(at)
    assert len(estimated) == 1
    shown = _levels(at)
    # more other views than the full estimates kept: the view's full estimate is pushed out
    config = settings.DEFAULTS.model_config()
    pairs = [p for p in liq.sample_symbols() if p != "BTCUSDT"]
    others = [(p, iv, d) for p in pairs for iv, d in (("5m", 1), ("1h", 7), ("4h", 14))]
    assert len(others) > cache.FULL_ESTIMATES_KEPT
    for symbol, interval, days in others:
        cache.page_estimate(config, _data(symbol, interval, days))
    assert len(estimated) == 1 + len(others)
    at.run()
    _no_exception(at)
    assert len(estimated) == 1 + len(others), "the rerun estimated its view again"
    assert _levels(at).equals(shown)
