"""Binance leverage brackets: hand-computed cases, the whole-table side property, the loader's checks."""

from __future__ import annotations

import gzip
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import liq
from liq import DataValidationError
from liq._brackets import (
    BRACKET_COLUMNS,
    BRACKETS_AS_OF,
    BRACKETS_SOURCE,
    FALLBACK_BRACKETS,
    MmrBracket,
    SymbolBrackets,
    bracket_symbols,
    bracket_table,
    brackets_for,
    load_brackets,
)

# --------------------------------------------------------------------------------------------------------------
# Hand-computed cases


def test_btcusdt_tier_1() -> None:
    # Binance's BTCUSDT tier 1 (2024-10-24): 0-50,000 USD, 0.40 %, 125x, cum 0.
    btc = brackets_for("BTCUSDT")
    assert not btc.fallback and btc.note is None
    b = btc.bracket_at(10_000)
    assert (b.notional_floor_usd, b.notional_cap_usd, b.mmr, b.maint_amount_usd) == (0, 50_000, 0.004, 0)
    assert btc.max_leverage(10_000) == 125
    # 125x long at 100,000 with cum 0: (100,000 × (1 − 1/125)) / (1 − 0.004) = 99,200 / 0.996 = 99,598.3936
    # 125x short:                      (100,000 × (1 + 1/125)) / (1 + 0.004) = 100,800 / 1.004 = 100,398.4064
    assert liq.liquidation_price(100_000, 125, "long", b.mmr) == pytest.approx(99_598.3936, abs=1e-3)
    assert liq.liquidation_price(100_000, 125, "short", b.mmr) == pytest.approx(100_398.4064, abs=1e-3)


def test_btcusdt_tier_2_with_cum() -> None:
    # Tier 2: 50,000-600,000 USD, 0.50 %, 100x; cum = 0 + 50,000 × (0.005 − 0.004) = 50 USD.
    btc = brackets_for("btcusdt")
    assert btc.bracket_at(50_000).mmr == 0.004  # the cap belongs to the lower bracket
    b = btc.bracket_at(100_000)
    assert (b.notional_floor_usd, b.notional_cap_usd, b.mmr, b.maint_amount_usd) == (
        50_000,
        600_000,
        0.005,
        50,
    )
    assert btc.max_leverage(100_000) == 100
    # 1 BTC (100,000 USD) long at 100x: margin 1,000 USD. Liquidated where 1,000 − (100,000 − P) = 0.005·P − 50,
    # i.e. 0.995·P = 98,950, P = 99,447.2362. Short: 1,000 − (P − 100,000) = 0.005·P − 50 -> 1.005·P = 101,050,
    # P = 100,547.2637.
    args = {"maint_amount_usd": b.maint_amount_usd, "quantity": 1.0}
    assert liq.liquidation_price(100_000, 100, "long", b.mmr, **args) == pytest.approx(99_447.2362, abs=1e-3)
    assert liq.liquidation_price(100_000, 100, "short", b.mmr, **args) == pytest.approx(
        100_547.2637, abs=1e-3
    )


def test_fifty_x_altcoin() -> None:
    # ALGOUSDT: 0-5,000 USD at 1.5 % and 50x; then 5,000-25,000 at 2.5 %, 20x, cum 5,000 × 0.01 = 50.
    algo = brackets_for("ALGOUSDT")
    assert algo.max_leverage(1_000) == 50
    assert algo.bracket_at(1_000).mmr == 0.015
    tier2 = algo.bracket_at(10_000)
    assert (tier2.mmr, tier2.max_leverage, tier2.maint_amount_usd) == (0.025, 20, 50)
    # 50x long at 0.20: 0.20 × 0.98 / 0.985 = 0.198985; a 100x long is impossible there: with 1.5 % maintenance a
    # 100x long would liquidate above its entry, 0.20 × 0.99 / 0.985 = 0.201015.
    assert liq.liquidation_price(0.20, 50, "long", 0.015) == pytest.approx(0.198985, abs=1e-6)
    assert liq.liquidation_price(0.20, 100, "long", 0.015) > 0.20
    # 10,000 USD long at 20x from 0.20 (50,000 ALGO) with cum 50:
    # (0.20 × 0.95 − 50 / 50,000) / 0.975 = (0.19 − 0.001) / 0.975 = 0.193846
    p = liq.liquidation_price(0.20, 20, "long", tier2.mmr, maint_amount_usd=50, quantity=50_000)
    assert p == pytest.approx(0.193846, abs=1e-6)


def test_unknown_symbol_gets_the_named_fallback_and_a_note() -> None:
    sol = brackets_for(" solxusdt ")
    assert sol.symbol == "SOLXUSDT"
    assert sol.fallback and sol.brackets == FALLBACK_BRACKETS
    assert sol.note is not None
    assert sol.note.startswith(f"SOLXUSDT is not in Binance's bracket table of {BRACKETS_AS_OF};")
    assert "generic small-cap schedule" in sol.note and "50x" in sol.note
    assert sol.max_leverage(1_000) == 50


def test_no_symbol_gets_the_fallback_and_says_why() -> None:
    for symbol in (None, ""):
        none = brackets_for(symbol)
        assert none.fallback and none.brackets == FALLBACK_BRACKETS
        assert none.note is not None and none.note.startswith("No symbol was given")


def test_fallback_is_the_most_shared_real_schedule() -> None:
    table = bracket_table()
    sharing = [s for s, b in table.items() if b == FALLBACK_BRACKETS]
    counts = sorted(
        (sum(1 for other in table.values() if other == b) for b in set(table.values())), reverse=True
    )
    assert (
        len(sharing) == counts[0] > counts[1]
    )  # the fallback is a real schedule, shared by the most symbols
    assert (
        len(sharing) == 27 and "ALGOUSDT" not in sharing
    )  # the docstring's figures, for the 2024-10-24 table
    assert FALLBACK_BRACKETS[0] == MmrBracket(0.0, 5_000.0, 0.015, 50.0, 0.0)


def test_metadata_and_listing() -> None:
    assert BRACKETS_AS_OF == "2024-10-24"
    assert "leverageBracket" in BRACKETS_SOURCE
    symbols = bracket_symbols()
    assert len(symbols) == 318 and list(symbols) == sorted(symbols)
    assert set(symbols) == set(bracket_table())
    assert {"BTCUSDT", "ETHUSDT", "SOLUSDT"} <= set(symbols)
    with pytest.raises(TypeError):
        bracket_table()["XUSDT"] = ()  # type: ignore[index]
    assert sorted(s for s in symbols if bracket_table()[s][0].max_leverage == 125) == ["BTCUSDT", "ETHUSDT"]


def test_bracket_lookup_edges() -> None:
    btc = brackets_for("BTCUSDT")
    assert btc.bracket_at(0).mmr == 0.004
    assert btc.bracket_at(1e30) == btc.brackets[-1]  # above every cap: the last bracket
    assert btc.bracket_index(np.array([0.0, 50_000.0, 50_000.01, 600_000.0])).tolist() == [0, 0, 1, 1]
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(DataValidationError, match="notional"):
            btc.bracket_at(bad)


# --------------------------------------------------------------------------------------------------------------
# The whole table: never a wrong-side liquidation


def _every_bracket_at_max_leverage() -> dict[str, np.ndarray]:
    """One row per symbol × bracket × notional (just above the floor, and at the cap) × side."""
    cols: dict[str, list[Any]] = {k: [] for k in ("symbol", "mmr", "cum", "notional", "lev", "raw_lev")}
    for symbol in bracket_symbols():
        sb = brackets_for(symbol)
        for b in sb.brackets:
            for notional in (
                b.notional_floor_usd + 1e-6 * (b.notional_cap_usd - b.notional_floor_usd),
                b.notional_cap_usd,
            ):
                assert sb.bracket_at(notional) == b
                cols["symbol"].append(symbol)
                cols["mmr"].append(b.mmr)
                cols["cum"].append(b.maint_amount_usd)
                cols["notional"].append(notional)
                cols["lev"].append(sb.max_leverage(notional))
                cols["raw_lev"].append(b.max_leverage)
    return {k: np.asarray(v) for k, v in cols.items()}


def test_every_bracket_liquidates_on_the_right_side_at_its_max_leverage() -> None:
    rows = _every_bracket_at_max_leverage()
    assert len(set(rows["symbol"])) == 318 and len(rows["mmr"]) > 2 * 318 * 5
    assert np.all(rows["mmr"] < 1 / rows["lev"])
    # No row of the 2024-10-24 table needed lowering, so max_leverage() is Binance's own value everywhere.
    assert np.array_equal(rows["lev"], rows["raw_lev"])
    # The 1x brackets (the last of every symbol) cannot be liquidated by a price move: a 1x long's liquidation
    # price is at or below zero, which liquidation_price refuses and the engine reports (tests/test_model_credible.py).
    levered = rows["lev"] > 1
    assert levered.sum() > 318 * 5
    lev = rows["lev"][levered]
    entry = np.full(len(lev), 37.5)
    quantity = rows["notional"][levered] / entry
    for side, sign in (("long", 1.0), ("short", -1.0)):
        p = liq.liquidation_price(
            entry, lev, side, rows["mmr"][levered], maint_amount_usd=rows["cum"][levered], quantity=quantity
        )
        wrong = sign * (entry - p) <= 0
        assert not wrong.any(), f"{side}: wrong side for {sorted(set(rows['symbol'][levered][wrong]))[:5]}"


def test_max_leverage_is_lowered_when_a_row_breaks_the_side_rule(tmp_path: Path) -> None:
    # 75x with 1.5 % maintenance would put a 75x long's liquidation above entry (1/75 = 1.33 % < 1.5 %).
    path = _write(tmp_path, {"BADUSDT": [[0, 5000, 0.015, 75, 0], [5000, 10000, 0.02, 20, 25]]})
    sb = SymbolBrackets("BADUSDT", load_brackets(path).symbols["BADUSDT"], False, None)
    assert sb.bracket_at(1_000).max_leverage == 75  # Binance's number is kept as given ...
    assert sb.max_leverage(1_000) == 66  # ... but the usable maximum is the largest L with 0.015 < 1/L
    assert liq.liquidation_price(100.0, sb.max_leverage(1_000), "long", 0.015) < 100.0
    assert sb.max_leverage(8_000) == 20


# --------------------------------------------------------------------------------------------------------------
# The loader's checks


def _doc(symbols: dict[str, Any], **over: Any) -> dict[str, Any]:
    doc = {"source": "test", "as_of": "2030-01-01", "columns": list(BRACKET_COLUMNS), "symbols": symbols}
    doc.update(over)
    return doc


def _write(tmp_path: Path, symbols: dict[str, Any], **over: Any) -> Path:
    path = tmp_path / "brackets.json.gz"
    path.write_bytes(gzip.compress(json.dumps(_doc(symbols, **over)).encode()))
    return path


GOOD = [[0, 5000, 0.01, 50, 0], [5000, 20000, 0.02, 25, 50], [20000, 1e6, 0.05, 10, 650]]


def test_a_small_valid_file_loads(tmp_path: Path) -> None:
    table = load_brackets(_write(tmp_path, {"aaausdt": GOOD}))
    assert (table.as_of, table.source, list(table.symbols)) == ("2030-01-01", "test", ["AAAUSDT"])
    assert table.symbols["AAAUSDT"][2] == MmrBracket(20_000, 1e6, 0.05, 10, 650)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(_doc({"AAAUSDT": GOOD})))
    assert load_brackets(plain) == table


def _with(row: int, col: int, value: float) -> list[list[float]]:
    rows = [list(r) for r in GOOD]
    rows[row][col] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "rule"),
    [
        (_with(2, 4, 700), "cum must equal"),
        (_with(1, 0, 6000), "sorted and contiguous"),
        (_with(0, 0, 100), "start at 0 USD"),
        (_with(1, 2, 1.0), r"maintenance rate must be in \[0, 1\)"),
        (_with(0, 2, -0.01), r"maintenance rate must be in \[0, 1\)"),
        (_with(2, 3, 0.5), "maximum leverage must be at least 1"),
        (_with(1, 1, 5000), "cap must be above the floor"),
        (_with(0, 3, math.nan), "missing or not finite"),
        ([[0, 5000, 0.01, 50]], "not 5 numbers"),
        ([[0, 5000, 0.01, 50, 0], [5000, 9000]], "not 5 numbers"),
        ([[0, 5000, "x", 50, 0]], "not 5 numbers"),
        ([], "no brackets for BADUSDT"),
    ],
)
def test_the_loader_refuses_a_corrupted_table(tmp_path: Path, rows: list[list[float]], rule: str) -> None:
    path = _write(tmp_path, {"AAAUSDT": GOOD, "BADUSDT": rows})
    with pytest.raises(DataValidationError, match=rule) as err:
        load_brackets(path)
    message = str(err.value)
    assert "AAAUSDT" not in message
    assert "BADUSDT" in message and str(path) in message


def test_the_loader_lists_every_bad_symbol(tmp_path: Path) -> None:
    bad = _with(2, 4, 1)
    path = _write(tmp_path, {"AAAUSDT": GOOD, **{f"B{i}USDT": bad for i in range(7)}})
    with pytest.raises(DataValidationError, match=r"B0USDT, B1USDT, B2USDT, B3USDT, B4USDT and 2 more"):
        load_brackets(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00 truncated", "not valid"),
        (b"{not json", "not valid"),
        (json.dumps([1, 2]).encode(), "must be a JSON object"),
        (json.dumps({"source": "x", "as_of": "y"}).encode(), "lacks the field"),
        (json.dumps(_doc({"AAAUSDT": GOOD}, columns=["a", "b"])).encode(), "has columns"),
        (json.dumps(_doc({})).encode(), "lists no symbols"),
    ],
)
def test_the_loader_refuses_a_broken_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.json.gz"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=message):
        load_brackets(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="Could not read the bracket table"):
        load_brackets(tmp_path / "nope.json.gz")


# --------------------------------------------------------------------------------------------------------------
# scripts/refresh_brackets.py against a mocked signed endpoint

API = Path(__file__).parent / "data" / "api"
FAPI = "https://fapi.binance.com/fapi/v1"
BRACKETS_URL = f"{FAPI}/leverageBracket"
EXCHANGE_INFO_URL = f"{FAPI}/exchangeInfo"
KEY = "kEy-4f7c1d9e0b2a"
SECRET = "sEcReT-9a8b7c6d5e"


def _exchange_info() -> dict[str, Any]:
    """The shipped exchangeInfo example (BTCUSDT, ETHUSDT perpetuals, a quarterly) plus a USDC perpetual."""
    info = json.loads((API / "fapi_v1_exchangeInfo.json").read_text())
    usdc = dict(info["symbols"][1], symbol="ETHUSDC", pair="ETHUSDC", quoteAsset="USDC", marginAsset="USDC")
    info["symbols"].append(usdc)
    return info


def _binance_brackets(symbol: str, rows: tuple[MmrBracket, ...]) -> dict[str, Any]:
    """One entry of Binance's leverageBracket answer (brackets listed highest first, to test the sorting)."""
    brackets = [
        {
            "bracket": i + 1,
            "initialLeverage": int(b.max_leverage),
            "notionalCap": b.notional_cap_usd,
            "notionalFloor": b.notional_floor_usd,
            "maintMarginRatio": b.mmr,
            "cum": b.maint_amount_usd,
        }
        for i, b in enumerate(rows)
    ]
    return {"symbol": symbol, "notionalCoef": 1.0, "brackets": brackets[::-1]}


def _bracket_answer() -> list[dict[str, Any]]:
    btc, eth = bracket_table()["BTCUSDT"], bracket_table()["ETHUSDT"]
    return [
        _binance_brackets("BTCUSDT", btc),
        _binance_brackets("ETHUSDT", eth),
        _binance_brackets("BTCUSDT_220325", btc),  # a quarterly: dropped
        _binance_brackets("ETHUSDC", eth),  # USDC-quoted: dropped
    ]


@pytest.fixture
def rsps() -> Any:
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)


@dataclass(frozen=True)
class Captured:
    """What a test printed and logged."""

    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Captured:
    caplog.set_level(logging.DEBUG)
    return Captured(capsys, caplog)


def _no_secret_anywhere(captured: Captured) -> str:
    out, err = captured.capsys.readouterr()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in captured.caplog.records)
    for secret in (KEY, SECRET):
        assert secret not in out and secret not in err and secret not in logged
    return out + err


def _serve(rsps: Any, answer: Any = None, status: int = 200, **extra: Any) -> None:
    import responses

    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=_exchange_info())
    rsps.add(
        responses.GET,
        BRACKETS_URL,
        json=_bracket_answer() if answer is None else answer,
        status=status,
        **extra,
    )


def test_refresh_writes_a_signed_checked_table(
    rsps: Any,
    keys: None,
    tmp_path: Path,
    captured: Captured,
) -> None:
    import hashlib
    import hmac
    from datetime import datetime, timezone
    from urllib.parse import parse_qsl, urlparse

    from scripts import refresh_brackets

    _serve(rsps)
    out = tmp_path / "new" / "brackets.json.gz"
    assert refresh_brackets.main(["--out", str(out)], secrets={}) == refresh_brackets.EXIT_OK

    table = load_brackets(out)  # round-trips through the loader's checks
    assert table.as_of == datetime.now(timezone.utc).date().isoformat()
    assert "leverageBracket" in table.source and list(table.columns) == list(BRACKET_COLUMNS)
    assert dict(table.symbols) == {
        "BTCUSDT": bracket_table()["BTCUSDT"],
        "ETHUSDT": bracket_table()["ETHUSDT"],
    }

    (info_call,) = [c for c in rsps.calls if c.request.url.startswith(EXCHANGE_INFO_URL)]
    (signed,) = [c for c in rsps.calls if c.request.url.startswith(BRACKETS_URL)]
    assert "signature" not in info_call.request.url
    assert signed.request.headers["X-MBX-APIKEY"] == KEY
    query = urlparse(signed.request.url).query
    params = dict(parse_qsl(query))
    assert {"timestamp", "signature"} <= set(params)
    unsigned = query.rsplit("&signature=", 1)[0]
    assert params["signature"] == hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    text = _no_secret_anywhere(captured)
    assert "2 USDT perpetuals" in text and f"Wrote {out}" in text
    creds = refresh_brackets.find_credentials({"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}, {})
    assert creds is not None and KEY not in repr(creds) and SECRET not in repr(creds)


def test_refresh_dry_run_reads_streamlit_secrets_and_writes_nothing(
    rsps: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    captured: Captured,
) -> None:
    from scripts import refresh_brackets

    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    _serve(rsps)
    out = tmp_path / "brackets.json.gz"
    shipped = Path(liq.__file__).parent / "data" / "binance_usdm_leverage_brackets.json.gz"
    out.write_bytes(shipped.read_bytes())
    secrets = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    assert refresh_brackets.main(["--out", str(out), "--dry-run"], secrets=secrets) == 0
    assert out.read_bytes() == shipped.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brackets.json.gz"]  # no temporary file left
    (signed,) = [c for c in rsps.calls if c.request.url.startswith(BRACKETS_URL)]
    assert signed.request.headers["X-MBX-APIKEY"] == KEY
    text = _no_secret_anywhere(captured)
    assert f"Against the table of {BRACKETS_AS_OF}: 0 new, 316 gone, 0 changed." in text
    assert "Dry run" in text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
        (400, {"code": -1022, "msg": "Signature for this request is not valid."}),
    ],
)
def test_refresh_with_a_refused_key(
    rsps: Any,
    keys: None,
    tmp_path: Path,
    captured: Captured,
    status: int,
    body: dict[str, Any],
) -> None:
    from scripts import refresh_brackets

    _serve(rsps, body, status=status)
    out = tmp_path / "brackets.json.gz"
    assert refresh_brackets.main(["--out", str(out)], secrets={}) == refresh_brackets.EXIT_BAD_KEY
    assert not out.exists()
    text = _no_secret_anywhere(captured)
    assert "Binance refused the API key" in text and "BINANCE_API_SECRET" in text
    assert "Traceback" not in text


def test_refresh_without_a_key(
    rsps: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts import refresh_brackets

    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)  # half a pair is no pair
    assert (
        refresh_brackets.main(["--out", str(tmp_path / "b.json.gz")], secrets={})
        == refresh_brackets.EXIT_NO_KEY
    )
    assert "No Binance API key" in capsys.readouterr().err
    assert len(rsps.calls) == 0


def _failing(kind: str) -> dict[str, Any]:
    import requests

    if kind == "451":
        return {"json": json.loads((API / "error_451.json").read_text()), "status": 451}
    if kind == "429":
        body = json.loads((API / "error_429.json").read_text())
        return {"json": body, "status": 429, "headers": {"Retry-After": "120"}}
    return {"body": requests.exceptions.ConnectionError("connection refused")}


@pytest.mark.parametrize(
    ("kind", "message"),
    [("451", "451"), ("429", "429"), ("network", "connect")],
)
def test_refresh_failures_are_plain_messages(
    rsps: Any,
    keys: None,
    tmp_path: Path,
    captured: Captured,
    kind: str,
    message: str,
) -> None:
    import responses

    from scripts import refresh_brackets

    rsps.add(responses.GET, EXCHANGE_INFO_URL, json=_exchange_info())
    rsps.add(responses.GET, BRACKETS_URL, **_failing(kind))
    out = tmp_path / "brackets.json.gz"
    assert refresh_brackets.main(["--out", str(out)], secrets={}) == refresh_brackets.EXIT_FAILED
    assert not out.exists()
    text = _no_secret_anywhere(captured)
    # the wording of each failure belongs to liq._sources.live; here: it is named, and nothing was written
    assert message in text.lower() and "Binance" in text and "Traceback" not in text
    assert text.rstrip().endswith("The table was not changed.")


def test_refresh_refuses_an_inconsistent_answer(
    rsps: Any,
    keys: None,
    tmp_path: Path,
    captured: Captured,
) -> None:
    from scripts import refresh_brackets

    answer = _bracket_answer()
    answer[1]["brackets"][0]["cum"] += 1000.0  # ETHUSDT's last bracket: cum no longer follows Binance's rule
    _serve(rsps, answer)
    out = tmp_path / "brackets.json.gz"
    out.write_bytes(b"old")
    assert refresh_brackets.main(["--out", str(out)], secrets={}) == refresh_brackets.EXIT_FAILED
    assert out.read_bytes() == b"old"
    text = _no_secret_anywhere(captured)
    assert "cum must equal" in text and "ETHUSDT" in text


def test_refresh_script_runs_as_a_file_and_as_a_module(tmp_path: Path) -> None:
    import os

    from tests.support.proc import run_python

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env["HOME"] = str(tmp_path)  # no ~/.streamlit/secrets.toml either
    as_file = run_python(str(root / "scripts" / "refresh_brackets.py"), "--dry-run", cwd=tmp_path, env=env)
    assert as_file.returncode == 2 and "No Binance API key" in as_file.stderr and not as_file.stdout
    as_module = run_python("-m", "scripts.refresh_brackets", "--help", cwd=root, env=env)
    assert as_module.returncode == 0 and "--dry-run" in as_module.stdout
