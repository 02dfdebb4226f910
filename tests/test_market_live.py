"""Live Binance source (python-binance) against mocked HTTP shaped exactly like Binance's answers."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
import requests
import responses
import urllib3

import liq
from liq import GeoBlockedError, InvalidSymbolError, NetworkError, NoDataError, RateLimitError, SourceError
from liq._sources import live as live_mod
from liq._sources.live import KLINES_PAGE_LIMIT, OI_PAGE_LIMIT, BinanceLive, RetryPolicy, load_live

ROOT = Path(__file__).resolve().parents[1]
API = Path(__file__).parent / "data" / "api"
FAPI = "https://fapi.binance.com/fapi/v1"
EXCHANGE_INFO_URL = f"{FAPI}/exchangeInfo"
KLINES_URL = f"{FAPI}/klines"
OI_URL = "https://fapi.binance.com/futures/data/openInterestHist"
UTC = timezone.utc
STEP_MS = 300_000


def api_json(name: str) -> Any:
    return json.loads((API / name).read_text())


def banned(status: int, retry_after_s: int, msg: str = "banned") -> dict[str, Any]:
    """Keywords for ``rsps.add``/``rsps.replace``: Binance's rate-limit answer (code -1003) with a Retry-After."""
    return {
        "json": {"code": -1003, "msg": msg},
        "status": status,
        "headers": {"Retry-After": str(retry_after_s)},
    }


def real_5m(symbol: str = "BTCUSDT") -> pd.DataFrame:
    """Real 5m klines from the built-in sample (Nov 2024 - Jan 2025)."""
    return pd.read_csv(ROOT / "liq" / "data" / f"{symbol}_5m_2024-11-20_2025-01-05.csv.gz")


def resample_5m(frame: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Aggregate real 5m rows to a coarser Binance interval (what the API would serve)."""
    step = {"5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}[interval]
    if step == STEP_MS:
        return frame
    g = frame.assign(open_time_ms=frame["open_time_ms"] // step * step).groupby(
        "open_time_ms", as_index=False
    )
    return g.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )


def kline_row(r: Any, step_ms: int = STEP_MS) -> list[Any]:
    """One 12-field Binance kline array (prices and volumes as strings, like the API)."""
    ms = int(r.open_time_ms)
    quote = r.volume * r.close
    return [
        ms,
        f"{r.open:.1f}",
        f"{r.high:.1f}",
        f"{r.low:.1f}",
        f"{r.close:.1f}",
        f"{r.volume:.3f}",
        ms + step_ms - 1,
        f"{quote:.5f}",
        1000,
        f"{r.volume * 0.5:.3f}",
        f"{quote * 0.5:.5f}",
        "0",
    ]


def _query(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}


class FakeBinance:
    """Serves exchangeInfo, klines (from real sample rows) and openInterestHist like fapi.binance.com."""

    def __init__(self, rsps: responses.RequestsMock, frame: pd.DataFrame | None = None) -> None:
        self.frame = frame if frame is not None else real_5m()
        self.kline_queries: list[dict[str, str]] = []
        self.oi_queries: list[dict[str, str]] = []
        rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
        rsps.add_callback(responses.GET, KLINES_URL, callback=self._klines)
        rsps.add_callback(responses.GET, OI_URL, callback=self._oi)

    def _klines(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = _query(request)
        self.kline_queries.append(q)
        frame = resample_5m(self.frame, q["interval"])
        ms = frame["open_time_ms"].to_numpy()
        sel = frame[(ms >= int(q["startTime"])) & (ms <= int(q["endTime"]))].head(int(q["limit"]))
        step = {"5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}[
            q["interval"]
        ]
        return 200, {}, json.dumps([kline_row(r, step) for r in sel.itertuples()])

    def _oi(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = _query(request)
        self.oi_queries.append(q)
        template = api_json("futures_data_openInterestHist.json")[0]
        frame = resample_5m(self.frame, q["period"])
        ms = frame["open_time_ms"].to_numpy()
        sel = frame[(ms >= int(q["startTime"])) & (ms <= int(q["endTime"]))].head(int(q["limit"]))
        rows = []
        for r in sel.itertuples():
            row = dict(template)
            row["symbol"] = q["symbol"]
            row["sumOpenInterest"] = "80000.000"
            row["sumOpenInterestValue"] = f"{80000 * r.close:.8f}"
            row["timestamp"] = int(r.open_time_ms)  # the live API sends a number
            rows.append(row)
        return 200, {}, json.dumps(rows)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(live_mod, "_sleep", waited.append)
    return waited


def dt(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NOW = dt(2024, 12, 20, 12)


def test_client_is_built_without_ping_and_with_a_timeout(rsps: responses.RequestsMock) -> None:
    # no spot ping is registered: building the client must not make any request
    src = BinanceLive()
    assert src.client._requests_params == {"timeout": 10.0}
    assert len(rsps.calls) == 0


def test_klines_are_paginated_by_start_time(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    messages: list[str] = []
    data = load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 8), now=NOW, progress=messages.append)
    assert len(data.candles) == 7 * 288
    assert [int(q["limit"]) for q in fake.kline_queries] == [KLINES_PAGE_LIMIT, KLINES_PAGE_LIMIT]
    second_start = int(fake.kline_queries[1]["startTime"])
    first_start = int(fake.kline_queries[0]["startTime"])
    assert second_start == first_start + KLINES_PAGE_LIMIT * STEP_MS
    assert (data.candles["open_time"].diff().dropna() == pd.Timedelta(minutes=5)).all()
    assert "Fetching klines 1/2 pages…" in messages and "Fetching klines 2/2 pages…" in messages
    # values are the real sample's, parsed from strings
    real = real_5m().set_index("open_time_ms")
    first_ms = int(pd.Timestamp("2024-12-01", tz="UTC").value // 1_000_000)
    assert data.candles["close"].iloc[0] == pytest.approx(real.loc[first_ms, "close"])
    assert data.candles["open_time"].dtype == "datetime64[ns, UTC]"
    assert {"quote_volume", "taker_buy_volume"} <= set(data.candles.columns)
    assert data.source == "live" and data.interval == "5m" and data.symbol == "BTCUSDT"
    assert data.note.startswith("Live Binance USDⓈ-M: BTCUSDT 5m")


def test_open_interest_is_paginated_500_rows_a_page(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    data = load_live("BTCUSDT", "5m", dt(2024, 12, 10), dt(2024, 12, 14), now=NOW)
    assert data.open_interest is not None
    assert len(data.open_interest) == 4 * 288
    assert len(fake.oi_queries) == 3  # 1152 rows / 500 a page
    assert all(int(q["limit"]) == OI_PAGE_LIMIT and q["period"] == "5m" for q in fake.oi_queries)
    assert list(data.open_interest.columns) == ["time", "open_interest_usd"]
    assert data.open_interest["time"].is_monotonic_increasing
    assert data.open_interest["open_interest_usd"].iloc[0] == pytest.approx(
        80000 * data.candles["close"].iloc[0]
    )


def test_open_interest_only_for_the_last_30_days(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    now = dt(2025, 1, 5, 12)
    data = load_live("BTCUSDT", "1h", dt(2024, 11, 21), dt(2025, 1, 5), now=now)
    oldest_allowed = int((pd.Timestamp(now) - pd.Timedelta(days=30)).value // 1_000_000)
    assert fake.oi_queries and min(int(q["startTime"]) for q in fake.oi_queries) >= oldest_allowed
    assert fake.oi_queries[0]["period"] == "1h"
    assert data.open_interest is not None
    assert data.open_interest["time"].iloc[0] >= pd.Timestamp(now) - pd.Timedelta(days=30)
    assert "last 30 days only" in data.note
    assert data.candles["open_time"].iloc[0] == pd.Timestamp("2024-11-21", tz="UTC")


def test_range_older_than_30_days_has_no_open_interest(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    data = load_live("BTCUSDT", "5m", dt(2024, 11, 25), dt(2024, 11, 27), now=dt(2025, 2, 1))
    assert data.open_interest is None
    assert fake.oi_queries == []
    assert "last 30 days only" in data.note
    assert len(data.candles) == 2 * 288


def test_docexample_payloads_parse(rsps: responses.RequestsMock) -> None:
    """The documentation examples (one kline; OI with string timestamps) go through unchanged."""
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
    rsps.add(responses.GET, KLINES_URL, json=api_json("fapi_v1_klines.json"))
    rsps.add(responses.GET, OI_URL, json=api_json("futures_data_openInterestHist.json"))
    src = BinanceLive()
    candles = src.klines("BTCUSDT", "1h", 1499040000000, 1499040000000 + 3_600_000, None)
    assert candles["open"].iloc[0] == pytest.approx(0.0163479)
    assert candles["taker_buy_volume"].iloc[0] == pytest.approx(1756.87402397)
    oi, _ = src.open_interest("BTCUSDT", "5m", 1583127900000, 1583128500000, 1583128500000, None)
    assert oi is not None and oi["open_interest_usd"].tolist() == pytest.approx(
        [150570784.07809979, 149940752.14464448]
    )


def test_exchange_info_is_cached(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    load_live("BTCUSDT", "4h", dt(2024, 12, 1), dt(2024, 12, 3), now=NOW)
    load_live("ETHUSDT", "4h", dt(2024, 12, 1), dt(2024, 12, 3), now=NOW)
    info_calls = [c for c in rsps.calls if c.request.url.startswith(EXCHANGE_INFO_URL)]
    assert len(info_calls) == 1


def test_live_symbols_lists_trading_perpetuals(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    symbols = liq.live_symbols()
    assert "BTCUSDT" in symbols and "ETHUSDT" in symbols
    assert list(symbols) == sorted(symbols)


def test_live_symbols_geo_blocked(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("error_451.json"), status=451)
    with pytest.raises(liq.GeoBlockedError):
        liq.live_symbols()


def test_exchange_info_cache_expires(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    clock = [0.0]
    src = BinanceLive(clock=lambda: clock[0])
    src.perpetual_symbols()
    clock[0] = live_mod.EXCHANGE_INFO_TTL_S + 1
    src.perpetual_symbols()
    assert sum(c.request.url.startswith(EXCHANGE_INFO_URL) for c in rsps.calls) == 2


def test_invalid_symbol_is_refused_before_any_other_call(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    with pytest.raises(
        InvalidSymbolError, match=r"BTCUSTD is not a Binance USDⓈ-M perpetual.*Did you mean BTCUSDT"
    ):
        load_live("BTCUSTD", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)
    assert fake.kline_queries == []


def test_api_code_1121_is_an_invalid_symbol(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, KLINES_URL, json=api_json("error_-1121.json"), status=400)
    with pytest.raises(InvalidSymbolError, match="does not know the symbol XYZUSDT"):
        BinanceLive().klines("XYZUSDT", "5m", 0, 10 * STEP_MS, None)


def test_http_451_is_geo_blocked(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("error_451.json"), status=451)
    with pytest.raises(GeoBlockedError, match="HTTP 451: restricted location"):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_429_backs_off_honouring_retry_after_then_succeeds(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    fake = FakeBinance(rsps)
    rsps.replace(
        responses.GET,
        EXCHANGE_INFO_URL,
        json=api_json("error_429.json"),
        status=429,
        headers={"Retry-After": "2"},
    )
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
    messages: list[str] = []
    data = load_live("BTCUSDT", "1h", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW, progress=messages.append)
    assert sleeps == [2.0]
    assert len(data.candles) == 24 and fake.kline_queries
    assert any("waiting 2 s" in m for m in messages)


def test_429_without_retry_after_uses_bounded_exponential_backoff(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add(responses.GET, KLINES_URL, json=api_json("error_429.json"), status=429)
    src = BinanceLive(retry=RetryPolicy(max_retries=3, base_delay_s=1.0))
    with pytest.raises(RateLimitError, match="rate-limiting") as info:
        src.klines("BTCUSDT", "5m", 0, 10 * STEP_MS, None)
    assert sleeps == [1.0, 2.0, 4.0]
    # Binance sent no Retry-After: the message must not invent a wait it asked for
    assert "asks to wait" not in str(info.value)
    assert "it gave no time to wait, and 3 retries did not help" in str(info.value)
    assert len(rsps.calls) == 4


def test_418_with_a_long_ban_gives_up_at_once(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.add(responses.GET, KLINES_URL, **banned(418, 600, "Way too many requests; IP banned."))
    with pytest.raises(RateLimitError, match=r"temporarily banned.*HTTP 418.*600 s"):
        BinanceLive().klines("BTCUSDT", "5m", 0, 10 * STEP_MS, None)
    assert sleeps == []
    assert len(rsps.calls) == 1


def test_418_with_a_short_ban_waits_and_retries(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    fake = FakeBinance(rsps)
    rsps.replace(responses.GET, EXCHANGE_INFO_URL, **banned(418, 5))
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
    load_live("BTCUSDT", "4h", dt(2024, 12, 1), dt(2024, 12, 3), now=NOW)
    assert sleeps == [5.0] and fake.kline_queries


def test_5xx_is_retried_then_reported(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    rsps.add(responses.GET, KLINES_URL, body="<html>502 Bad Gateway</html>", status=502)
    with pytest.raises(SourceError, match=r"servers answered with an error \(HTTP 502\)") as info:
        BinanceLive(retry=RetryPolicy(max_retries=2)).klines("BTCUSDT", "5m", 0, 10 * STEP_MS, None)
    assert not isinstance(info.value, NetworkError)
    assert len(rsps.calls) == 3 and len(sleeps) == 2


def test_5xx_then_success(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    fake = FakeBinance(rsps)
    rsps.replace(responses.GET, EXCHANGE_INFO_URL, status=503, body="Service Unavailable")
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
    data = load_live("BTCUSDT", "4h", dt(2024, 12, 1), dt(2024, 12, 3), now=NOW)
    assert len(data.candles) == 12 and len(sleeps) == 1 and fake.kline_queries


def refused() -> requests.exceptions.ConnectionError:
    """The error requests raises when nothing listens on the port (wrapped as urllib3 wraps it)."""
    reason = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] refused"
    )  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/fapi/v1/exchangeInfo", reason)
    )  # type: ignore[arg-type]


def test_timeout_is_a_network_error(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(NetworkError, match="did not send a complete answer within 10 s"):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_connection_refused_is_a_network_error(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, body=refused())
    with pytest.raises(
        NetworkError, match=r"Could not connect to Binance \(no network here, a firewall, or the connection"
    ):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_a_connection_that_breaks_off_does_not_claim_there_is_no_network(
    rsps: responses.RequestsMock,
) -> None:
    broken = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    )
    rsps.add(responses.GET, EXCHANGE_INFO_URL, body=broken)
    with pytest.raises(
        NetworkError, match="The connection to Binance broke off before the answer was complete"
    ) as info:
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)
    assert "no network" not in str(info.value)


def test_malformed_json_is_a_source_error(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    rsps.replace(responses.GET, KLINES_URL, body='[[1733011200000, "97000.1", ', status=200)
    with pytest.raises(SourceError, match="not valid data"):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_wrong_shape_is_a_source_error(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    rsps.replace(responses.GET, KLINES_URL, json=[[1733011200000, "97000.1", "97100.0"]])
    with pytest.raises(SourceError, match="unexpected shape"):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_exchange_info_without_symbols_is_a_source_error(rsps: responses.RequestsMock) -> None:
    info = copy.deepcopy(api_json("fapi_v1_exchangeInfo.json"))
    del info["symbols"]
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=info)
    with pytest.raises(SourceError, match="symbol list"):
        BinanceLive().check_symbol("BTCUSDT")


@pytest.mark.parametrize("symbols", [[None, 5, "x"], [], [{"contractType": "PERPETUAL"}], "BTCUSDT"])
def test_malformed_exchange_info_is_a_source_fault_not_an_unknown_symbol(
    rsps: responses.RequestsMock, symbols: object
) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json={"symbols": symbols})
    with pytest.raises(SourceError, match="symbol list came back in an unexpected shape") as info:
        BinanceLive().check_symbol("BTCUSDT")
    assert not isinstance(info.value, InvalidSymbolError)


def test_empty_first_page_means_no_data(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    rsps.replace(responses.GET, KLINES_URL, json=[])
    with pytest.raises(NoDataError, match="Binance has no 5m candles for BTCUSDT"):
        load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 2), now=NOW)


def test_empty_later_page_ends_pagination(rsps: responses.RequestsMock) -> None:
    fake = FakeBinance(rsps)
    calls = {"n": 0}
    full = fake._klines

    def first_page_only(request: Any) -> tuple[int, dict[str, str], str]:
        calls["n"] += 1
        return full(request) if calls["n"] == 1 else (200, {}, "[]")

    rsps.remove(responses.GET, KLINES_URL)
    rsps.add_callback(responses.GET, KLINES_URL, callback=first_page_only)
    data = load_live("BTCUSDT", "5m", dt(2024, 12, 1), dt(2024, 12, 7), now=NOW)
    assert len(data.candles) == KLINES_PAGE_LIMIT
    assert calls["n"] == 2


def test_open_interest_failure_keeps_the_candles(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    FakeBinance(rsps)
    rsps.remove(responses.GET, OI_URL)
    rsps.add(responses.GET, OI_URL, status=500, body="oops")
    data = load_live("BTCUSDT", "1h", dt(2024, 12, 10), dt(2024, 12, 11), now=NOW)
    assert data.open_interest is None and len(data.candles) == 24
    assert "Open interest could not be loaded" in data.note


def test_range_in_the_future_is_no_data(rsps: responses.RequestsMock) -> None:
    with pytest.raises(NoDataError, match="future"):
        load_live("BTCUSDT", "5m", NOW + timedelta(days=2), NOW + timedelta(days=3), now=NOW)
    assert len(rsps.calls) == 0


def test_worker_thread_leaves_no_event_loop_behind(rsps: responses.RequestsMock) -> None:
    """Streamlit runs pages in worker threads: python-binance's constructor must not leak an event loop there."""
    import gc
    import threading
    import warnings

    FakeBinance(rsps)
    results: list[object] = []

    def work() -> None:
        results.append(load_live("BTCUSDT", "4h", dt(2024, 12, 1), dt(2024, 12, 3), now=NOW))

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        t = threading.Thread(target=work)
        t.start()
        t.join()
        gc.collect()
    assert len(results) == 1
