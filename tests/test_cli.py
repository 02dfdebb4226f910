"""`python -m liq levels` end to end on the built-in sample (and the offline auto chain)."""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import responses

from liq import _cli
from liq._cli import build_parser, main
from liq._sources import live as live_mod
from tests.support.proc import run_python

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def run(*argv: str, now: datetime = NOW) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), now=now, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _fresh_symbol_cache() -> Iterator[None]:
    live_mod.clear_symbol_cache()
    yield
    live_mod.clear_symbol_cache()


def test_table_on_the_sample() -> None:
    code, out, err = run(
        "levels", "--symbol", "BTCUSDT", "--interval", "5m", "--days", "7", "--source", "sample"
    )
    assert code == 0, err
    assert out.startswith(
        "BTCUSDT 5m · source: sample\nBuilt-in sample: BTCUSDT 5m, 2026-01-22 06:35 → 2026-01-29 06:30 UTC"
    )
    assert "Last price 88,285.90 at 2026-01-29 06:30 UTC" in out  # the real last close of the sample
    assert "Nearest above:" in out and "Nearest below:" in out and "Within ±2 %:" in out
    assert "Levels (" in out and "Zones (" in out


def test_json_on_the_sample_for_a_range_inside_it() -> None:
    code, out, _ = run(
        "levels",
        "--symbol",
        "ethusdt",
        "--interval",
        "1h",
        "--days",
        "10",
        "--end",
        "2024-12-20",
        "--source",
        "sample",
        "--format",
        "json",
        "--quiet",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["symbol"] == "ETHUSDT" and doc["interval"] == "1h" and doc["source"] == "sample"
    assert doc["fallbacks"] == [] and doc["last_time"] == "2024-12-19T23:00:00+00:00"
    assert doc["levels"] and {"price", "side", "notional_usd", "distance_pct", "first_seen"} <= set(
        doc["levels"][0]
    )
    assert {"side", "zone_low", "zone_high", "notional_usd", "levels"} <= set(doc["zones"][0])
    assert set(doc["summary"]["long_usd_within_pct"]) == {"1", "2", "5"}
    assert all(level["side"] in ("long", "short") for level in doc["levels"])
    above = doc["summary"]["nearest_above"]
    assert above is None or above["distance_pct"] > 0


def test_csv_on_the_sample() -> None:
    code, out, _ = run("levels", "--source", "sample", "--days", "3", "--format", "csv")
    assert code == 0
    levels = pd.read_csv(io.StringIO(out))
    assert list(levels.columns[:3]) == ["price", "side", "notional_usd"]
    assert len(levels) > 0 and set(levels["side"]) <= {"long", "short"}
    # prices as they are shown (2 decimals for a BTC-sized price), USD in whole dollars
    assert (levels["price"].round(2) == levels["price"]).all()
    assert (levels["notional_usd"].round(0) == levels["notional_usd"]).all()


def test_auto_offline_falls_back_to_the_sample_with_warnings(tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # every request: connection refused
        code, out, err = run("levels", "--days", "2", "--format", "json", "--cache-dir", str(tmp_path))
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "sample"
    assert [f["source"] for f in doc["fallbacks"]] == ["live", "archive"]
    assert err.count("warning: ") == 2 and "Checking the symbol with Binance…" in err


def test_source_error_is_a_message_and_exit_code_1() -> None:
    import liq

    code, out, err = run("levels", "--symbol", "NOPEUSDT", "--source", "sample")
    assert code == 1 and out == ""
    held = ", ".join(liq.sample_symbols())
    assert err == f"error: The built-in sample has no NOPEUSDT; it holds {held} only.\n"


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["levels", "--interval", "3m"], "invalid choice: '3m'"),
        (["levels", "--days", "0"], "--days must be above 0"),
        (["levels", "--days", "week"], "--days must be a number of days"),
        (["levels", "--source", "binance"], "invalid choice: 'binance'"),
        (["levels", "--end", "yesterday-ish"], "--end must be a date/time"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], match: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(*argv)
    assert code == 2
    assert match in capsys.readouterr().err


def test_commands_can_be_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    def register_hello(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        p = sub.add_parser("hello", help="say hi")
        p.set_defaults(handler=lambda args: print("hi", file=args.stdout) or 0)

    monkeypatch.setattr(_cli, "COMMANDS", [*_cli.COMMANDS, register_hello])
    assert "hello" in build_parser().format_help()
    assert run("hello") == (0, "hi\n", "")


def test_python_dash_m_liq_in_a_subprocess() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIQ_CACHE_DIR": "/nonexistent-never-used"}
    proc = run_python(
        "-m", "liq", "levels", "--source", "sample", "--days", "2", "--top", "5", cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "source: sample" in proc.stdout and "Levels (5 nearest of" in proc.stdout
