"""The levels screener (liq._screen): rows on the sample, failing pairs, live 24h tickers, the weight budget."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import responses

import liq
from liq import _screen
from liq._errors import GeoBlockedError
from liq._screen import ScreenRow, live_request_weight, row_from_estimate, screen, top_perpetuals
from tests.test_market_live import EXCHANGE_INFO_URL, FAPI, FakeBinance, api_json

UTC = timezone.utc
END = datetime(2026, 1, 29, 6, 35, tzinfo=UTC)
START = END - timedelta(days=7)
TICKER_URL = f"{FAPI}/ticker/24hr"


def exchange_info(symbols: list[str]) -> dict[str, Any]:
    """exchangeInfo shaped like Binance's, listing ``symbols`` as perpetuals plus one quarterly contract."""
    info = api_json("fapi_v1_exchangeInfo.json")
    perpetual, quarterly = info["symbols"][0], info["symbols"][2]
    rows = []
    for sym in symbols:
        row = copy.deepcopy(perpetual)
        row["symbol"], row["pair"] = sym, sym
        rows.append(row)
    info["symbols"] = [*rows, quarterly]
    return info


def tickers(volumes: dict[str, float]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/ticker/24hr`` without a symbol: one record per contract, numbers as strings."""
    template = api_json("fapi_v1_ticker_24hr.json")
    out = []
    for sym, vol in volumes.items():
        row = dict(template)
        row["symbol"], row["quoteVolume"] = sym, f"{vol:.8f}"
        out.append(row)
    return out


def test_sample_rows_read_the_estimate_of_each_pair() -> None:
    pairs = liq.sample_symbols()
    res = screen(pairs, "5m", START, END, source="sample")
    assert [r.symbol for r in res.rows] == list(pairs) and not res.failed
    for row in res.rows[:3]:
        data = liq.load_market_data(row.symbol, "5m", START, END, source="sample").data
        est = liq.estimate(data.candles, symbol=row.symbol)
        s = est.summary
        assert row.last_price == s.last_price and row.source == "sample"
        assert s.nearest_below is not None and s.nearest_above is not None
        assert row.long_price == pytest.approx(s.nearest_below.price, rel=1e-3)
        assert row.short_usd == pytest.approx(s.nearest_above.notional_usd, rel=0.05)
        assert row.long_usd_2pct == pytest.approx(s.long_usd_within[2], rel=0.05)
        assert row.long_price < row.last_price < row.short_price
        assert row.largest_usd == pytest.approx(est.levels["notional_usd"].max(), rel=0.05)
        assert row.nearest_distance_pct == min(abs(row.long_distance_pct), abs(row.short_distance_pct))
    frame = res.frame()
    assert list(frame.columns) == list(_screen.SCREEN_COLUMNS) and len(frame) == len(pairs)


def test_a_failing_pair_is_a_row_with_its_reason() -> None:
    res = screen(["ETHUSDT", "LTCUSDT", "bad symbol!"], "1h", START, END, source="sample")
    eth, ltc, bad = res.rows
    assert eth.error is None and math.isfinite(eth.last_price)
    assert ltc.error is not None and "built-in sample has no LTCUSDT" in ltc.error
    assert bad.error is not None and math.isnan(bad.last_price)
    assert res.failed == (ltc, bad)


def test_an_unexpected_fault_is_logged_and_the_row_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_screen, "estimate", broken)
    row = _screen.screen_pair("BTCUSDT", "5m", START, END, source="sample")
    assert row.error == "This pair could not be computed (unexpected error)."
    assert "boom" not in row.error
    assert caplog.records and caplog.records[-1].exc_info is not None  # the traceback goes to the log


def test_swept_last_24h_is_part_of_the_range() -> None:
    one_day = screen(["XRPUSDT"], "5m", END - timedelta(days=1), END, source="sample").rows[0]
    data = liq.load_market_data("XRPUSDT", "5m", END - timedelta(days=1), END, source="sample").data
    est = liq.estimate(data.candles, symbol="XRPUSDT")
    # a one-day range: the last 24 h are the whole range
    assert one_day.swept_long_usd_24h == pytest.approx(est.swept_per_candle["long_usd"].sum(), rel=0.05)
    week = screen(["XRPUSDT"], "5m", START, END, source="sample").rows[0]
    week_est = liq.estimate(
        liq.load_market_data("XRPUSDT", "5m", START, END, source="sample").data.candles, symbol="XRPUSDT"
    )
    assert week.swept_short_usd_24h <= week_est.swept_per_candle["short_usd"].sum()


def test_top_perpetuals_ranks_by_24h_quote_volume(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET, EXCHANGE_INFO_URL, json=exchange_info(["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"])
    )
    vols = {
        "BTCUSDT": 9e9,
        "ETHUSDT": 7e9,
        "SOLUSDT": 2e9,
        "XRPUSDT": 3e9,
        "BTCUSDT_220325": 8e9,
        "GONEUSDT": 5e9,
    }
    rsps.add(responses.GET, TICKER_URL, json=tickers(vols))
    assert top_perpetuals(3) == ("BTCUSDT", "ETHUSDT", "XRPUSDT")  # no quarterly, nothing unlisted
    assert sum(1 for c in rsps.calls if c.request.url.startswith(TICKER_URL)) == 1
    assert "symbol=" not in next(c.request.url for c in rsps.calls if c.request.url.startswith(TICKER_URL))


def test_top_perpetuals_where_binance_is_blocked(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("error_451.json"), status=451)
    with pytest.raises(GeoBlockedError, match="HTTP 451"):
        top_perpetuals(5)


def test_live_screen_loads_each_pair_from_binance(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=exchange_info(["BTCUSDT", "ETHUSDT"]))
    fake = FakeBinance(rsps)
    rsps.replace(responses.GET, EXCHANGE_INFO_URL, json=exchange_info(["BTCUSDT", "ETHUSDT"]))
    now = datetime(2024, 12, 20, 12, tzinfo=UTC)
    end = datetime(2024, 12, 15, tzinfo=UTC)
    res = screen(
        ["BTCUSDT", "ETHUSDT", "DELISTEDUSDT"], "5m", end - timedelta(days=7), end, source="live", now=now
    )
    btc, eth, gone = res.rows
    assert btc.source == "live" and eth.source == "live" and btc.error is None
    assert gone.error is not None and "not a Binance USDⓈ-M perpetual" in gone.error
    pages = len([q for q in fake.kline_queries if q["symbol"] == "BTCUSDT"])
    assert pages * _screen.KLINES_PAGE_WEIGHT == live_request_weight("5m", timedelta(days=7))


def test_the_weight_budget_leaves_pairs_out_with_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_screen, "LIVE_WEIGHT_BUDGET", _screen.TICKER_24H_WEIGHT + 1 + 3 * 20)
    seen: list[str] = []

    def fake_pair(sym: str) -> ScreenRow:
        seen.append(sym)
        return ScreenRow(symbol=sym, last_price=1.0)

    syms = [f"P{i}USDT" for i in range(5)]
    res = screen(syms, "5m", START, END, source="live", pair_fn=fake_pair)
    assert sorted(seen) == syms[:3]
    assert [r.error is None for r in res.rows] == [True, True, True, False, False]
    assert "request-weight" in (res.rows[-1].error or "") and "left out" in res.notes[0]
    # off live there is no budget
    assert not screen(syms, "5m", START, END, source="sample", pair_fn=fake_pair).failed


def test_progress_is_reported_per_pair_in_the_calling_thread() -> None:
    calls: list[tuple[int, int, str]] = []
    screen(
        ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
        "1h",
        START,
        END,
        source="sample",
        progress=lambda *a: calls.append(a),
    )
    assert [c[:2] for c in calls] == [(1, 3), (2, 3), (3, 3)]


def test_row_of_an_estimate_without_levels() -> None:
    data = liq.load_market_data("BTCUSDT", "1h", START, END, source="sample").data
    est = liq.estimate(data.candles, symbol="BTCUSDT")
    bare = replace(
        est, levels=est.levels.iloc[0:0], summary=replace(est.summary, nearest_above=None, nearest_below=None)
    )
    row = row_from_estimate("BTCUSDT", bare, data)
    assert row.error is None and row.last_price == data.candles["close"].iloc[-1]
    assert math.isnan(row.long_price) and math.isnan(row.nearest_distance_pct) and row.largest_side == ""
    assert isinstance(row.last_time, pd.Timestamp)


def test_no_pairs_is_a_clear_error() -> None:
    with pytest.raises(liq.SourceError, match="No pairs to screen"):
        screen(["  "], "5m", START, END, source="sample")


def test_weight_figures_in_the_readme_match() -> None:
    assert live_request_weight("5m", timedelta(days=7)) == 20
    assert live_request_weight("1h", timedelta(days=90)) == 20
    assert live_request_weight("4h", timedelta(days=365)) == 20
    assert live_request_weight("1d", timedelta(days=365)) == 10


def test_archive_screen_reads_whole_months_from_monthly_files(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    from tests.test_market_archive_monthly import END as M_END
    from tests.test_market_archive_monthly import NOW as M_NOW
    from tests.test_market_archive_monthly import START as M_START
    from tests.test_market_archive_monthly import fetched, serve

    serve(rsps)
    res = screen(["BTCUSDT"], "1h", M_START, M_END, source="archive", now=M_NOW, cache_dir=tmp_path)
    row = res.rows[0]
    assert row.error is None and row.source == "archive" and "1 monthly" in row.note
    assert len(fetched(rsps, "/monthly/klines/")) == 1
    assert row.long_price < row.last_price < row.short_price


def test_pairs_to_screen_falls_back_on_the_sample_pairs_only_for_auto(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("error_451.json"), status=451)
    pairs, where = _screen.pairs_to_screen("auto", 5)
    assert pairs == liq.sample_symbols() and "HTTP 451" in where and "built-in sample's 10 pairs" in where
    with pytest.raises(GeoBlockedError):
        _screen.pairs_to_screen("live", 5)
    assert _screen.pairs_to_screen("archive")[0] == liq.sample_symbols()
