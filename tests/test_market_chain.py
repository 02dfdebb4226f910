"""The automatic fallback chain of load_market_data: live -> archive -> sample."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import requests
import responses

import liq
from liq._errors import DataValidationError, GeoBlockedError, InvalidSymbolError, NetworkError, NoDataError
from liq._sources import chain as chain_mod
from liq._sources.archive import kline_url
from tests.test_market_archive import kline_zip, serve_archive
from tests.test_market_live import EXCHANGE_INFO_URL, KLINES_URL, FakeBinance, api_json, banned

UTC = timezone.utc
NOW = datetime(2024, 12, 5, 9, tzinfo=UTC)
START = datetime(2024, 12, 2, tzinfo=UTC)
END = datetime(2024, 12, 4, tzinfo=UTC)
DAYS = [date(2024, 12, 2), date(2024, 12, 3)]


def _geo_block(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("error_451.json"), status=451)


def test_auto_uses_live_when_it_works(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    FakeBinance(rsps)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "live" and res.fallbacks == [] and res.warnings == []
    assert len(res.data.candles) == 2 * 288


def test_451_falls_back_to_the_archive(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _geo_block(rsps)
    serve_archive(rsps, "BTCUSDT", DAYS)
    messages: list[str] = []
    res = liq.load_market_data(
        "BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path, progress=messages.append
    )
    assert res.data.source == "archive"
    assert len(res.data.candles) == 2 * 288 and res.data.open_interest is not None
    assert res.fallbacks == [
        liq.Fallback(
            "live",
            "Live Binance unavailable here (HTTP 451: restricted location). Showing archive data up to 2024-12-03.",
        )
    ]
    assert any("trying the Binance public archive" in m for m in messages)
    # nothing but exchangeInfo was asked of the live API
    assert sum(c.request.url.startswith("https://fapi.binance.com") for c in rsps.calls) == 1


def test_network_down_falls_back_to_archive_then_sample(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    # responses answers every unregistered URL with ConnectionError: no network at all
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "sample"
    assert [f.source for f in res.fallbacks] == ["live", "archive"]
    assert res.fallbacks[0].reason.startswith("Live Binance unavailable: The connection to Binance failed")
    assert res.fallbacks[1].reason.startswith(
        "Binance public archive unavailable: The connection to the Binance archive (data.binance.vision) failed"
    )
    assert "Showing the built-in sample instead: Built-in sample: BTCUSDT 5m" in res.fallbacks[1].reason
    # the requested range is inside the sample, so it is served exactly
    assert res.data.candles["open_time"].iloc[0] == pd.Timestamp(START)
    assert len(res.data.candles) == 2 * 288


def test_archive_missing_everything_falls_back_to_sample(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    _geo_block(rsps)
    serve_archive(rsps, "ETHUSDT", DAYS, missing=tuple(DAYS))
    res = liq.load_market_data("ETHUSDT", "1h", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "sample" and res.data.interval == "1h" and len(res.data.candles) == 48
    assert "no 1h klines" not in res.fallbacks[1].reason  # asked for 1h files, not served -> connection error
    assert len(res.fallbacks) == 2


def test_invalid_symbol_is_not_a_fallback_case(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    FakeBinance(rsps)
    with pytest.raises(InvalidSymbolError, match="ETHUSDC is not a Binance USDⓈ-M perpetual"):
        liq.load_market_data("ETHUSDC", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert not any("data.binance.vision" in c.request.url for c in rsps.calls)


def test_no_source_has_the_symbol(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _geo_block(rsps)
    serve_archive(rsps, "LTCUSDT", DAYS, missing=tuple(DAYS))
    with pytest.raises(
        NoDataError, match=r"No source could deliver LTCUSDT\..*HTTP 451.*holds ADAUSDT, .*XRPUSDT only"
    ):
        liq.load_market_data("LTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)


def test_named_live_source_does_not_fall_back(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _geo_block(rsps)
    serve_archive(rsps, "BTCUSDT", DAYS)
    with pytest.raises(GeoBlockedError):
        liq.load_market_data("BTCUSDT", "5m", START, END, "live", now=NOW, cache_dir=tmp_path)


def test_named_archive_source_does_not_fall_back(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    with pytest.raises(NetworkError):
        liq.load_market_data("BTCUSDT", "5m", START, END, "archive", now=NOW, cache_dir=tmp_path)


def test_named_archive_source(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, "archive", now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive" and res.fallbacks == []


def test_named_sample_source_makes_no_request(rsps: responses.RequestsMock) -> None:
    res = liq.load_market_data("ETHUSDT", "15m", START, END, "sample", now=NOW)
    assert res.data.source == "sample" and len(res.data.candles) == 2 * 96
    assert len(rsps.calls) == 0


def test_rate_limit_during_auto_falls_back(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, **banned(418, 3600))
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive"
    assert "temporarily banned" in res.fallbacks[0].reason


def test_malformed_live_reply_during_auto_falls_back(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=api_json("fapi_v1_exchangeInfo.json"))
    rsps.add(responses.GET, KLINES_URL, body="not json at all")
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive" and "not valid data" in res.fallbacks[0].reason


def test_timeout_then_archive(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, body=requests.exceptions.ReadTimeout())
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert (
        res.data.source == "archive"
        and "did not send a complete answer within 10 s" in res.fallbacks[0].reason
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": "3m"}, "Interval '3m' is not supported"),
        ({"source": "binance"}, "Unknown source 'binance'"),
        ({"start": datetime(2024, 12, 2)}, "start has no time zone"),
        ({"start": END, "end": START}, "The range is empty"),
        (
            {"end": datetime(9999, 1, 1, tzinfo=UTC)},
            r"end \(9999-01-01\) is outside the supported years 2017-01-01",
        ),
        ({"start": datetime(1970, 1, 1, tzinfo=UTC)}, r"start \(1970-01-01\) is outside the supported years"),
        ({"start": "2024-12-01"}, "start must be a datetime, not str"),
        ({"interval": "x" * 10_000}, r"Interval 'x{30,40} is not supported"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "symbol": "BTCUSDT",
        "interval": "5m",
        "start": START,
        "end": END,
        "source": "auto",
    }
    args.update(kwargs)
    with pytest.raises(DataValidationError, match=match):
        liq.load_market_data(**args)  # type: ignore[arg-type]


def test_bad_symbol_text_raises_before_any_request(rsps: responses.RequestsMock) -> None:
    with pytest.raises(InvalidSymbolError, match="capitals"):
        liq.load_market_data("BTC-USDT", "5m", START, END)
    assert len(rsps.calls) == 0


def test_fallback_reasons_are_json_friendly(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    res = liq.load_market_data("BTCUSDT", "4h", START, END, now=NOW, cache_dir=tmp_path)
    json.dumps([f.__dict__ for f in res.fallbacks])


def test_unexpected_error_in_a_source_still_falls_back(
    rsps: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault that is not one of our error types (a library bug, a changed payload) must not stop auto."""

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("openTime")

    monkeypatch.setattr(chain_mod, "load_live", broken)
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive"
    assert res.fallbacks[0].source == "live"
    assert "failed unexpectedly (KeyError" in res.fallbacks[0].reason
    assert "please report it" in res.fallbacks[0].reason


def test_a_named_source_does_not_swallow_unexpected_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("openTime")

    monkeypatch.setattr(chain_mod, "load_live", broken)
    with pytest.raises(KeyError):
        liq.load_market_data("BTCUSDT", "5m", START, END, source="live", now=NOW, cache_dir=tmp_path)


def test_a_broken_archive_file_still_ends_on_the_sample(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    """An archive file that is refused (here: another symbol's candles) is a fallback, not a crash."""
    _geo_block(rsps)
    for day in DAYS:
        rsps.add(responses.GET, kline_url("BTCUSDT", "5m", day), body=kline_zip("ETHUSDT", day))
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "sample" and res.data.symbol == "BTCUSDT"
    assert [f.source for f in res.fallbacks] == ["live", "archive"]
    assert "holds 'ETHUSDT-5m-2024-12-02.csv' instead of BTCUSDT-5m-2024-12-02.csv" in res.fallbacks[1].reason


def test_malformed_exchange_info_falls_back_to_the_archive(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    rsps.add(responses.GET, EXCHANGE_INFO_URL, json={"symbols": [None, 5, "x"]})
    serve_archive(rsps, "BTCUSDT", DAYS)
    res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive" and len(res.data.candles) == 2 * 288
    assert "symbol list came back in an unexpected shape" in res.fallbacks[0].reason
    assert "not a Binance USDⓈ-M perpetual" not in res.fallbacks[0].reason


def test_an_unexpected_fault_is_logged_with_its_traceback_and_shown_plainly(
    rsps: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("openTime")

    monkeypatch.setattr(chain_mod, "load_live", broken)
    serve_archive(rsps, "BTCUSDT", DAYS)
    with caplog.at_level(logging.ERROR, logger="liq._sources.chain"):
        res = liq.load_market_data("BTCUSDT", "5m", START, END, now=NOW, cache_dir=tmp_path)
    assert res.data.source == "archive"
    (record,) = [r for r in caplog.records if r.name == "liq._sources.chain"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.exc_info[0] is KeyError  # the traceback goes to the server log ...
    reason = res.fallbacks[0].reason
    assert reason == (  # ... while the page shows one plain sentence
        "Live Binance failed unexpectedly (KeyError); the details are in the server log. This looks like a bug; "
        "please report it. Showing archive data up to 2024-12-03."
    )
    assert "Traceback" not in reason and "openTime" not in reason
