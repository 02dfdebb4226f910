"""The forceOrder recorder against a local websocket server on 127.0.0.1.

The server replays Binance's documented forceOrder message example (``tests/data/ws_forceOrder.docexample.json``,
copied from the shared data set's ``api_examples/``, which took it from the Binance API documentation via
nautechsystems/nautilus_trader's test resources) inside the combined-stream envelope the multiplex socket
receives. It drops the connection mid-stream and sends malformed frames, and the recorder must keep every good
row, reconnect, and log the gaps.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from websockets.asyncio.server import ServerConnection, serve

import liq._check.recorder as rec
from liq._check.recordings import load_gaps, load_liquidations
from liq._cli import main
from liq._errors import DataValidationError, RecorderError
from tests.support.ws_server import ThreadedWsServer, hold

EXAMPLE = json.loads((Path(__file__).parent / "data" / "ws_forceOrder.docexample.json").read_text())


def _event(i: int, *, symbol: str = "BTCUSDT", side: str = "SELL") -> str:
    data = copy.deepcopy(EXAMPLE)
    data["E"] += 1000 * i
    data["o"]["T"] += 1000 * i
    data["o"]["s"] = symbol
    data["o"]["S"] = side
    return json.dumps({"stream": f"{symbol.lower()}@forceOrder", "data": data})


Script = Callable[[ServerConnection, int], Any]


class _Server:
    """A loopback websocket server running one scripted handler per connection."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.paths: list[str] = []
        self.url = ""

    async def handler(self, conn: ServerConnection) -> None:
        self.paths.append(conn.request.path if conn.request else "")
        await self.script(conn, len(self.paths) - 1)


async def _serving(script: Script) -> AsyncIterator[_Server]:
    server = _Server(script)
    async with serve(server.handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/"
        yield server


def test_parse_force_order_of_the_documented_example() -> None:
    event = rec.parse_force_order(EXAMPLE)
    assert event is not None
    assert event.symbol == "BTCUSDT" and event.order_side == "SELL" and event.side == "long"
    assert event.price == 9910.12345678 and event.filled_qty == 0.014 and event.price_kind == "avg"
    assert event.time_ms == 1568014460893
    row = event.recorder_row()
    assert row["avg_price"] == "9910.12345678" and row["filled_accumulated_qty"] == "0.014"
    assert row["time_ms"] == "1568014460893" and tuple(row) == rec.RECORDER_COLUMNS
    assert rec.parse_force_order({"stream": "x", "data": {"e": "forceOrder", "E": 1}}) is None
    assert rec.parse_force_order("not a dict") is None
    bad = copy.deepcopy(EXAMPLE)
    bad["o"]["ap"] = "abc"
    assert rec.parse_force_order(bad) is None


def test_the_recorder_skips_what_a_recording_may_not_hold() -> None:
    """A message the reader of recordings would refuse is not written: one rule for both."""
    for key, value in (("S", "HOLD"), ("s", "btc/usdt"), ("z", "0"), ("ap", "0"), ("T", 10)):
        bad = copy.deepcopy(EXAMPLE)
        bad["o"][key] = value
        if key == "ap":
            bad["o"]["p"] = "-1"  # no fill price and no usable order price
        assert rec.parse_force_order(bad) is None, key
    only_order_price = copy.deepcopy(EXAMPLE)
    only_order_price["o"]["ap"] = "0"
    event = rec.parse_force_order(only_order_price)
    assert event is not None and event.price_kind == "order" and event.price == float(EXAMPLE["o"]["p"])


def test_gaps_path() -> None:
    assert rec.gaps_path_for("x/liquidations.csv") == Path("x/liquidations.gaps.csv")
    assert rec.gaps_path_for("rec") == Path("rec.gaps.csv")


def test_disconnect_and_malformed_messages_lose_nothing(tmp_path: Path) -> None:
    out = tmp_path / "liquidations.csv"

    async def script(conn: ServerConnection, n: int) -> None:
        if n == 0:  # two events, then the connection drops mid-stream
            await conn.send(_event(0))
            await conn.send(_event(1, side="BUY"))
            await asyncio.sleep(0.05)
            await conn.close(code=1011)
        elif n == 1:  # a frame that is not JSON: the client's read loop dies, the recorder reconnects
            await conn.send("{not json")
            await hold(conn)
        else:  # valid JSON that is not a forceOrder, a truncated forceOrder, then a good event
            await conn.send(json.dumps({"result": None, "id": 1}))
            await conn.send(json.dumps({"stream": "ethusdt@forceOrder", "data": {"e": "forceOrder", "E": 5}}))
            await conn.send(_event(2, symbol="ETHUSDT"))
            await hold(conn)

    async def main() -> tuple[rec.RecorderStats, list[str]]:
        async for server in _serving(script):
            stats = await asyncio.wait_for(
                rec.record_liquidations(
                    ["BTCUSDT", "ethusdt"],
                    out,
                    stream_url=server.url,
                    max_events=3,
                    backoff_initial_s=0.01,
                    backoff_max_s=0.05,
                ),
                timeout=30,
            )
            return stats, server.paths
        raise AssertionError("server did not start")

    stats, paths = asyncio.run(main())
    assert stats.events == 3
    assert stats.malformed == 2
    assert stats.connections == 3
    assert paths[0] == "/market/stream?streams=btcusdt@forceOrder/ethusdt@forceOrder"

    events = load_liquidations(out)
    assert events["symbol"].tolist() == ["BTCUSDT", "BTCUSDT", "ETHUSDT"]
    assert events["side"].tolist() == ["long", "short", "long"]
    assert events["notional_usd"].iloc[0] == pytest.approx(9910.12345678 * 0.014)
    assert events["time"].iloc[0] == pd.Timestamp(1568014460893, unit="ms", tz="UTC")

    gaps = load_gaps(rec.gaps_path_for(out))
    assert len(gaps) == 2  # the drop and the malformed frame
    assert (gaps["end"] >= gaps["start"]).all()
    assert gaps["reason"].str.startswith("disconnected").all()


def test_restart_appends_and_logs_the_downtime(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"

    async def script(conn: ServerConnection, n: int) -> None:
        await conn.send(_event(10 + n))
        await hold(conn)

    async def run_once() -> None:
        async for server in _serving(script):
            await asyncio.wait_for(
                rec.record_liquidations(["BTCUSDT"], out, stream_url=server.url, max_events=1), 30
            )

    asyncio.run(run_once())
    asyncio.run(run_once())
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(rec.RECORDER_COLUMNS)
    assert len(lines) == 3  # one header, two rows
    gaps = load_gaps(rec.gaps_path_for(out))
    assert gaps["reason"].tolist() == ["recorder was not running"]
    assert gaps["start"].iloc[0] == pd.Timestamp(EXAMPLE["o"]["T"] + 10_000, unit="ms", tz="UTC")


def test_cancel_keeps_every_written_row(tmp_path: Path) -> None:
    """Ctrl-C reaches asyncio code as a cancellation; rows already received must all be on disk."""
    out = tmp_path / "rec.csv"
    written: list[dict[str, str]] = []

    async def script(conn: ServerConnection, n: int) -> None:
        for i in range(3):
            await conn.send(_event(i))
        await hold(conn)

    async def main() -> None:
        async for server in _serving(script):
            task = asyncio.create_task(
                rec.record_liquidations(["BTCUSDT"], out, stream_url=server.url, on_event=written.append)
            )
            for _ in range(300):
                if len(written) == 3:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert len(written) == 3
    assert len(load_liquidations(out)) == 3


def test_refuses_to_append_to_a_foreign_csv(tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")

    with pytest.raises(DataValidationError, match="other columns"):
        asyncio.run(rec.record_liquidations(["BTCUSDT"], out, stream_url="ws://127.0.0.1:9/"))


async def _record_unreachable(out: Path, seconds: float) -> rec.RecorderStats:
    """Record for ``seconds`` against a port where nothing listens (fast backoff)."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await rec.record_liquidations(
        ["BTCUSDT"], out, stream_url="ws://127.0.0.1:9/", stop=stop, backoff_initial_s=0.05, backoff_max_s=0.1
    )


def test_unreachable_host_backs_off_and_stops(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"

    stats = asyncio.run(_record_unreachable(out, 0.5))
    assert stats.events == 0 and stats.connections == 0
    assert len(stats.errors) >= 2
    assert out.read_text().splitlines() == [",".join(rec.RECORDER_COLUMNS)]


async def _three_events_then_hold(conn: ServerConnection, n: int) -> None:
    for i in range(3):
        await conn.send(_event(i))
    await hold(conn)


def test_cli_subcommand_records(tmp_path: Path) -> None:
    out_path = tmp_path / "cli.csv"
    stdout, stderr = io.StringIO(), io.StringIO()
    with ThreadedWsServer(_three_events_then_hold) as server:
        argv = ["record-liquidations", "--symbols", "BTCUSDT", "--out", str(out_path)]
        code = main([*argv, "--url", server.url, "--max-events", "3"], stdout=stdout, stderr=stderr)
    assert code == 0
    assert len(load_liquidations(out_path)) == 3
    assert stdout.getvalue().count("BTCUSDT") == 3
    assert "Recorded 3 events" in stderr.getvalue()


def _record_then_signal(
    out_path: Path, url: str, sig: signal.Signals, *, settle_s: float = 0.0
) -> tuple[int, str]:
    """Run the recorder CLI in a real process until three rows are on disk, then send it ``sig``."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    argv = ["record-liquidations", "--symbols", "BTCUSDT", "--out", str(out_path), "--url", url, "--quiet"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "liq", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if out_path.exists() and len(out_path.read_text().splitlines()) == 4:
                break
            time.sleep(0.05)
        time.sleep(settle_s)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err.decode()


def test_ctrl_c_in_a_real_process_keeps_every_row(tmp_path: Path) -> None:
    out_path = tmp_path / "sigint.csv"
    with ThreadedWsServer(_three_events_then_hold) as server:
        code, err = _record_then_signal(out_path, server.url, signal.SIGINT)
    assert code == 0, err
    assert "Stopped." in err
    events = load_liquidations(out_path)
    assert len(events) == 3
    assert out_path.read_text().endswith("\n")  # no half-written row


# -- the CLI and the files: clear messages and exit codes, one recorder per file, SIGTERM like Ctrl-C ----------


def test_an_unwritable_out_path_is_a_message_and_exit_code_not_a_traceback() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["record-liquidations", "--out", "/proc/nope/x.csv", "--url", "ws://127.0.0.1:9/", "--quiet"],
        stdout=stdout,
        stderr=stderr,
    )
    assert code == 1
    assert "error: Cannot write the recording to /proc/nope/x.csv" in stderr.getvalue()
    assert "Choose an --out file in a folder you can write to." in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()


def test_a_real_process_with_an_unwritable_path_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "liq", "record-liquidations", "--out", "/proc/nope/x.csv", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Cannot write the recording to /proc/nope/x.csv" in done.stderr and "Traceback" not in done.stderr


def test_a_second_recorder_on_the_same_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"
    first = rec._DurableCsv(out, rec.RECORDER_COLUMNS, fsync=False, lock=True)
    try:
        with pytest.raises(
            RecorderError, match=r"Another recorder is already writing to .*rec\.csv\. Stop it first"
        ):
            asyncio.run(rec.record_liquidations(["BTCUSDT"], out, stream_url="ws://127.0.0.1:9/"))
        stderr = io.StringIO()
        code = main(
            ["record-liquidations", "--out", str(out), "--url", "ws://127.0.0.1:9/", "--quiet"],
            stdout=io.StringIO(),
            stderr=stderr,
        )
        assert code == 1 and "Another recorder is already writing to" in stderr.getvalue()
    finally:
        first.close()

    # once the first one is closed, the file can be recorded to again
    assert asyncio.run(_record_unreachable(out, 0.2)).events == 0
    assert out.read_text().splitlines() == [",".join(rec.RECORDER_COLUMNS)]  # one header, nothing interleaved


async def _three_events_then_drop(conn: ServerConnection, n: int) -> None:
    if n == 0:
        for i in range(3):
            await conn.send(_event(i))
        await asyncio.sleep(0.2)
    await conn.close()  # first connection drops after its events; later ones are closed at once


@pytest.mark.parametrize("script_name", ["hold", "drop"])
def test_sigterm_stops_like_ctrl_c(tmp_path: Path, script_name: str) -> None:
    """SIGTERM (what a service manager sends) keeps every row, prints the stop line, and logs the open gap."""
    script = _three_events_then_hold if script_name == "hold" else _three_events_then_drop
    out_path = tmp_path / "sigterm.csv"
    with ThreadedWsServer(script) as server:
        # "drop": after 0.6 s the connection is gone, so a gap is open when the signal comes
        code, err = _record_then_signal(out_path, server.url, signal.SIGTERM, settle_s=0.6)
    assert code == 0, err
    assert "Stopped." in err and "Traceback" not in err
    assert len(load_liquidations(out_path)) == 3 and out_path.read_text().endswith("\n")
    gaps = load_gaps(rec.gaps_path_for(out_path))
    if script_name == "drop":
        assert gaps["reason"].iloc[-1].endswith("(recorder stopped)")
    else:
        assert gaps.empty
