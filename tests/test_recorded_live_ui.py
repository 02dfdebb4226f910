"""The main page's live liquidations (``ui.recorded``) with the live tail pointed at 127.0.0.1: new events
show on the next rerun (what live refresh does), and an unreachable stream is said once, then the page carries
on. The tail is process-wide, so each test stops it at the end."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liq._check import live_tail
from tests.support.ws_server import ThreadedWsServer

EXAMPLE = json.loads((Path(__file__).parent / "data" / "ws_forceOrder.docexample.json").read_text())


def _page() -> None:
    """A page with live data: what ``ui.recorded`` finds for BTCUSDT, written as text."""
    import time as _time
    from types import SimpleNamespace

    import streamlit as st

    from liq._check import live_tail as _lt
    from ui import recorded

    tail = _lt.shared_tail()
    deadline = _time.monotonic() + 20
    while tail.status().state == "starting" and _time.monotonic() < deadline:
        _time.sleep(0.05)
    view = SimpleNamespace(
        data=SimpleNamespace(symbol="BTCUSDT", source="live"), settings=SimpleNamespace(end="")
    )
    rec = recorded._live(view)  # type: ignore[arg-type]
    st.text("none" if rec is None else f"events={len(rec.events)} windows={len(rec.windows)}")


@pytest.fixture(autouse=True)
def _no_tail_left() -> Iterator[None]:
    live_tail.stop_shared_tail()
    yield
    live_tail.stop_shared_tail()


def _message(i: int) -> str:
    data = copy.deepcopy(EXAMPLE)
    data["E"] = data["o"]["T"] = int(time.time() * 1000) + i
    return json.dumps({"stream": "!forceOrder@arr", "data": data})


def _texts(at: AppTest) -> list[str]:
    return [str(t.value) for t in at.text]


def test_live_refresh_draws_the_new_events(monkeypatch: pytest.MonkeyPatch) -> None:
    async def script(conn: ServerConnection, n: int) -> None:
        await conn.send(_message(0))
        await conn.send(_message(1))
        try:
            for i in range(2, 200):  # one more event every 0.3 s
                await asyncio.sleep(0.3)
                await conn.send(_message(i))
        except ConnectionClosed:
            pass

    with ThreadedWsServer(script) as server:
        monkeypatch.setenv(live_tail.URL_ENV, server.url)
        at = AppTest.from_function(_page, default_timeout=60)
        at.run()
        tail = live_tail.shared_tail()
        deadline = time.monotonic() + 20
        while tail.status().events_received < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        at.run()
        first = _texts(at)
        time.sleep(1.0)
        at.run()
        second = _texts(at)
        live_tail.stop_shared_tail()
    assert not at.exception
    n1 = int(first[0].split()[0].split("=")[1])
    n2 = int(second[0].split()[0].split("=")[1])
    assert n1 >= 2 and n2 > n1  # the rerun sees the events that arrived meanwhile
    assert second[0].endswith("windows=1")
    assert not at.info  # connected: nothing to say


def test_an_unreachable_stream_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(live_tail.URL_ENV, "ws://127.0.0.1:9/")
    at = AppTest.from_function(_page, default_timeout=60)
    at.run()  # the page waits for the tail's first attempt, which fails
    assert not at.exception
    said = [str(i.value) for i in at.info]
    assert len(said) == 1 and "unreachable" in said[0] and "carries on" in said[0]
    assert live_tail.shared_tail().status().state == "unreachable"
    assert _texts(at) == ["none"]
    at.run()
    at.run()
    assert not at.exception
    assert not at.info and _texts(at) == ["none"]  # once per session, and the page still draws
