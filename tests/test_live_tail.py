"""The live tail against a websocket server on 127.0.0.1: drops, reconnects, malformed frames, a flood beyond the
caps, a 451 refusal, and one shared subscription.

The server sends Binance's documented forceOrder example (``tests/data/ws_forceOrder.docexample.json``) in the
combined-stream envelope of ``!forceOrder@arr``, with the times moved to now (the tail keeps 24 hours).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from websockets.asyncio.server import ServerConnection

import liq._check.live_tail as lt
from tests.support.ws_server import ThreadedWsServer, hold

EXAMPLE = json.loads((Path(__file__).parent / "data" / "ws_forceOrder.docexample.json").read_text())
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05}


def _event(i: int, *, symbol: str = "BTCUSDT", side: str = "SELL", t_ms: int | None = None) -> str:
    data = copy.deepcopy(EXAMPLE)
    t = int(time.time() * 1000) if t_ms is None else t_ms
    data["E"] = t + i
    data["o"]["T"] = t + i
    data["o"]["s"] = symbol
    data["o"]["S"] = side
    data["o"]["z"] = str(0.001 * (i + 1))
    return json.dumps({"stream": "!forceOrder@arr", "data": data})


def _wait(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the live tail")


@pytest.fixture
def tails() -> Iterator[list[lt.LiveTail]]:
    """Tails a test makes; every one is stopped afterwards, so no thread outlives its test."""
    made: list[lt.LiveTail] = []
    yield made
    for tail in made:
        tail.stop()


def _tail(made: list[lt.LiveTail], url: str, **kwargs: object) -> lt.LiveTail:
    tail = lt.LiveTail(url, **{**FAST, **kwargs})  # type: ignore[arg-type]
    made.append(tail)
    return tail.start()


def test_events_reach_the_buffer_on_the_all_market_route(tails: list[lt.LiveTail]) -> None:
    async def script(conn: ServerConnection, n: int) -> None:
        await conn.send(_event(0))
        await conn.send(_event(1, symbol="ETHUSDT", side="BUY"))
        await conn.send(_event(2))
        await hold(conn)

    with ThreadedWsServer(script) as server:
        tail = _tail(tails, server.url)
        _wait(lambda: tail.status().events_received == 3)
        status = tail.status()
        btc, eth = tail.events("btcusdt"), tail.events("ETHUSDT")
        assert tail.events("SOLUSDT").empty and tail.gaps().empty
    assert server.paths[0] == "/market/stream?streams=!forceOrder@arr"
    assert status.state == "connected" and status.message == "connected" and status.connections == 1
    assert status.listening_since is not None
    assert btc["side"].tolist() == ["long", "long"] and eth["side"].tolist() == ["short"]
    assert btc["qty"].tolist() == [0.001, 0.003]
    assert btc["notional_usd"].iloc[0] == pytest.approx(9910.12345678 * 0.001)
    assert str(btc["time"].dtype) == "datetime64[ns, UTC]" and (btc["price_kind"] == "avg").all()


def test_drops_and_malformed_frames_reconnect_and_leave_gaps(tails: list[lt.LiveTail]) -> None:
    async def script(conn: ServerConnection, n: int) -> None:
        if n == 0:  # one event, then the connection drops
            await conn.send(_event(0))
            await asyncio.sleep(0.05)
            await conn.close(code=1011)
        elif n == 1:  # a frame that is not JSON kills the client's read loop
            await conn.send("{not json")
            await hold(conn)
        else:  # JSON that is no forceOrder, a truncated forceOrder, a bad side, then a good event
            await conn.send(json.dumps({"result": None, "id": 1}))
            await conn.send(json.dumps({"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": 5}}))
            await conn.send(_event(1, side="HOLD"))
            await conn.send(_event(2, symbol="ETHUSDT"))
            await hold(conn)

    with ThreadedWsServer(script) as server:
        tail = _tail(tails, server.url)
        _wait(lambda: tail.status().events_received == 2)
        status, gaps, rec = tail.status(), tail.gaps(), tail.recording("BTCUSDT")
    assert status.connections == 3 and status.state == "connected"
    assert status.malformed == 3
    assert len(gaps) == 2 and (gaps["end"] > gaps["start"]).all()
    assert gaps["reason"].str.startswith("the stream connection dropped").all()
    # the windows it listened in leave the gaps out
    assert len(rec.windows) == 3 and rec.windows["start"].iloc[1] == gaps["end"].iloc[0]
    assert (rec.windows["end"].iloc[:2].to_numpy() == gaps["start"].to_numpy()).all()
    assert len(rec.events) == 1 and rec.source == "the live Binance liquidation stream"


def test_a_flood_beyond_the_caps_keeps_memory_bounded(tails: list[lt.LiveTail]) -> None:
    symbols = [f"COIN{k}USDT" for k in range(8)]
    n_sent = 3000

    async def script(conn: ServerConnection, n: int) -> None:
        for i in range(n_sent):
            await conn.send(_event(i, symbol=symbols[i % len(symbols)]))
        await hold(conn)

    with ThreadedWsServer(script) as server:
        tail = _tail(tails, server.url, max_per_symbol=200, max_total=500, max_symbols=5)
        _wait(lambda: tail.status().events_received == n_sent)
        status = tail.status()
        kept = {s: tail.events(s) for s in symbols}
    assert status.events_kept <= 500
    assert sum(len(f) for f in kept.values()) == status.events_kept
    assert max(len(f) for f in kept.values()) <= 200
    assert sum(1 for f in kept.values() if len(f)) <= 5  # symbols past the cap are not kept
    assert status.events_dropped >= n_sent - 500
    assert status.buffer_bytes <= 5 * 256 * 26  # rings hold at most a doubling of their cap
    newest = kept[symbols[0]]
    assert newest["qty"].iloc[-1] == pytest.approx(0.001 * (n_sent - len(symbols) + 1))  # the newest stay


def test_a_451_refusal_is_unreachable_in_plain_words(tails: list[lt.LiveTail]) -> None:
    async def never(conn: ServerConnection, n: int) -> None:
        raise AssertionError("a refused handshake runs no handler")

    with ThreadedWsServer(never, refuse_with=451) as server:
        tail = _tail(tails, server.url)
        _wait(lambda: tail.status().state == "unreachable")
        status = tail.status()
    assert status.message.startswith("unreachable: Binance refused the liquidation stream (HTTP 451)")
    assert status.connections == 0 and status.listening_since is None
    assert tail.recording("BTCUSDT").windows.empty


def test_no_server_is_unreachable_and_stops_quickly(tails: list[lt.LiveTail]) -> None:
    tail = _tail(tails, "ws://127.0.0.1:9/")
    _wait(lambda: tail.status().state == "unreachable")
    assert "no connection to 127.0.0.1:9" in tail.status().message
    started = time.monotonic()
    tail.stop()
    assert time.monotonic() - started < 5
    assert tail.status().state == "stopped"


def test_events_older_than_the_keep_period_are_forgotten() -> None:
    t0_ms = 1_750_000_000_000
    buf = lt._Buffers(keep_s=3600.0, per_symbol=100, total=1000, symbols=10)
    for k in range(50):  # one event a minute, minutes 0..49
        buf.add("BTCUSDT", (t0_ms + 60_000 * k, 1.0, 1.0, True, True), t0_ms)
    buf.prune(t0_ms + 79 * 60_000)  # an hour back from minute 79 is minute 19: minutes 19..49 stay
    times = buf.rings["BTCUSDT"].ordered()["time_ms"]
    assert len(times) == buf.total == 31 and times[0] == t0_ms + 19 * 60_000
    assert np.all(np.diff(times) > 0)
    buf.prune(t0_ms + 10 * 3_600_000)
    assert buf.total == 0 and not buf.rings


def test_one_shared_subscription_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tails: list[lt.LiveTail]
) -> None:
    async def script(conn: ServerConnection, n: int) -> None:
        await conn.send(_event(0))
        await hold(conn)

    with ThreadedWsServer(script) as server:
        monkeypatch.setenv(lt.URL_ENV, server.url)
        try:
            first = lt.shared_tail()
            assert all(lt.shared_tail() is first for _ in range(5))
            _wait(lambda: first.status().events_received == 1)
            assert len(server.paths) == 1  # one socket, however many callers
        finally:
            lt.stop_shared_tail()
    assert first.status().state == "stopped"


def test_recording_windows_start_at_the_first_connection() -> None:
    tail = lt.LiveTail("ws://127.0.0.1:9/")  # never started
    rec = tail.recording("BTCUSDT")
    assert rec.events.empty and rec.windows.empty
    assert list(rec.events.columns) == list(lt.empty_events().columns)
    assert pd.api.types.is_datetime64_any_dtype(rec.windows["start"])
