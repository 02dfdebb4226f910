"""`python -m liq screen` on the built-in sample and against mocked live Binance (24h tickers)."""

from __future__ import annotations

import io
import json
import math
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import responses

import liq
from liq._cli import main
from liq._format import format_price, format_usd
from liq._screen import SCREEN_COLUMNS, screen
from tests.test_market_live import EXCHANGE_INFO_URL, FakeBinance
from tests.test_screen import TICKER_URL, exchange_info, tickers

END = datetime(2026, 1, 29, 6, 35, tzinfo=timezone.utc)


def run(*argv: str, now: datetime = END) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), now=now, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_table_on_the_sample_with_a_failing_pair() -> None:
    code, out, err = run("screen", "--source", "sample", "--symbols", "BTCUSDT,DOGEUSDT,LTCUSDT")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Pair", "Last", "price"]
    ref = screen(["BTCUSDT", "DOGEUSDT"], "5m", END - timedelta(days=7), END, "sample")
    for row in ref.rows:
        line = next(x for x in lines if x.startswith(row.symbol))
        assert format_price(row.long_price, 2 if row.last_price >= 100 else 6) in line
        assert format_usd(row.short_usd) in line
    assert any(x.startswith("LTCUSDT") and x.count("–") >= 10 for x in lines)
    assert "Failed: LTCUSDT: The built-in sample has no LTCUSDT" in out
    assert "Screened 3/3" in err


def test_csv_has_every_column_rounded_as_shown() -> None:
    code, out, _ = run(
        "screen", "--source", "sample", "--symbols", "ETHUSDT,XRPUSDT,NOPEUSDT", "--format", "csv"
    )
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == list(SCREEN_COLUMNS)
    ref = {
        r.symbol: r for r in screen(["ETHUSDT", "XRPUSDT"], "5m", END - timedelta(days=7), END, "sample").rows
    }
    eth = frame.set_index("symbol").loc["ETHUSDT"]
    assert eth["long_price"] == round(ref["ETHUSDT"].long_price, 2)
    assert eth["largest_usd"] == round(ref["ETHUSDT"].largest_usd)
    assert frame.set_index("symbol").loc["XRPUSDT", "short_price"] == round(ref["XRPUSDT"].short_price, 4)
    nope = frame.set_index("symbol").loc["NOPEUSDT"]
    assert "no NOPEUSDT" in nope["error"] and math.isnan(nope["last_price"])


def test_json_writes_nan_as_null_and_every_row() -> None:
    code, out, _ = run(
        "screen", "--source", "sample", "--symbols", "SOLUSDT,NOPEUSDT", "--format", "json", "--quiet"
    )
    assert code == 0
    body = json.loads(out)
    assert body["interval"] == "5m" and body["source"] == "sample"
    sol, nope = body["rows"]
    assert sol["symbol"] == "SOLUSDT" and sol["error"] is None and sol["long_price"] < sol["last_price"]
    assert nope["last_price"] is None and "no NOPEUSDT" in nope["error"]
    assert set(sol) == set(SCREEN_COLUMNS)


def test_without_symbols_the_sample_pairs_are_screened() -> None:
    code, out, err = run("screen", "--source", "sample", "--interval", "1h", "--days", "14")
    assert code == 0
    assert "Pairs: the built-in sample's 10 pairs" in err
    assert {line.split()[0] for line in out.splitlines()[1:11]} == set(liq.sample_symbols())


def test_without_symbols_live_takes_the_most_traded(rsps: responses.RequestsMock) -> None:
    FakeBinance(rsps)
    rsps.replace(responses.GET, EXCHANGE_INFO_URL, json=exchange_info(["BTCUSDT", "ETHUSDT", "SOLUSDT"]))
    rsps.add(responses.GET, TICKER_URL, json=tickers({"SOLUSDT": 1e9, "BTCUSDT": 9e9, "ETHUSDT": 5e9}))
    now = datetime(2024, 12, 20, 12, tzinfo=timezone.utc)
    code, out, err = run(
        "screen", "--source", "live", "--top", "2", "--end", "2024-12-15", "--format", "json", now=now
    )
    assert code == 0, err
    assert [r["symbol"] for r in json.loads(out)["rows"]] == ["BTCUSDT", "ETHUSDT"]
    assert "the 2 most traded perpetuals" in err


def test_every_pair_failing_is_exit_code_1() -> None:
    code, out, _ = run("screen", "--source", "sample", "--symbols", "NOPEUSDT,LTCUSDT", "--quiet")
    assert code == 1 and "Failed: NOPEUSDT" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("--symbols", "BTCUSDT,<x>"),
        ("--symbols", ","),
        ("--days", "400"),
        ("--days", "0"),
        ("--top", "0"),
        ("--workers", "9"),
        ("--format", "xml"),
    ],
)
def test_bad_arguments_are_exit_code_2(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("screen", "--source", "sample", *argv)
    assert code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["screen", "levels"])
def test_a_year_of_1m_candles_is_refused_with_a_way_out(command: str) -> None:
    code, out, err = run(command, "--source", "sample", "--interval", "1m", "--days", "365")
    assert code == 1 and out == ""
    assert "525,600 candles, more than 172,800; choose a longer interval" in err
    code, _, err = run(command, "--source", "sample", "--interval", "1d", "--days", "365", "--quiet")
    assert code == 0, err
