"""Every live and archive request ends by its total deadline, even against a server that trickles bytes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from liq._errors import NetworkError
from liq._sources import archive as archive_mod
from liq._sources import live as live_mod
from liq._sources._http import DeadlineExceeded, DeadlineSession, TooLarge
from liq._sources.archive import load_archive
from liq._sources.live import BinanceLive, load_live
from tests.support.days import load_days

UTC = timezone.utc
NOW = datetime(2024, 12, 5, 9, tzinfo=UTC)
#: Seconds between two bytes of the trickling server's answer.
TRICKLE_S = 0.2


class TrickleServer:
    """A loopback HTTP server that answers every request one byte at a time, ``TRICKLE_S`` apart.

    Each byte arrives well within any read timeout, so only a deadline on the whole request can stop it.
    The full answer would take ``len(answer) * TRICKLE_S`` seconds (about 60 s here).
    """

    def __init__(self, body: bytes = b"[]" * 150, *, delay_s: float = TRICKLE_S) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.answer = head.encode() + body
        self.delay_s = delay_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.listener.settimeout(0.05)  # so that closing is noticed quickly
        while not self._closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        """Answer each request on the connection (keep-alive), trickling unless ``delay_s`` is 0."""
        with conn:
            try:
                while conn.recv(65_536) and not self._closing.is_set():
                    if self.delay_s == 0:
                        conn.sendall(self.answer)
                        continue
                    for byte in self.answer:
                        if self._closing.is_set():
                            return
                        conn.sendall(bytes([byte]))
                        time.sleep(self.delay_s)
            except OSError:
                return  # the client gave up and closed the connection

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    with TrickleServer() as server:
        yield server


def _timed(fn: object) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises(Exception) as info:
        fn()  # type: ignore[operator]
    return info.value, time.monotonic() - start


def test_the_session_stops_a_trickling_answer_at_its_deadline(trickle: TrickleServer) -> None:
    with DeadlineSession(1.0) as session:
        err, took = _timed(lambda: session.get(f"http://127.0.0.1:{trickle.port}/x"))
        assert isinstance(err, DeadlineExceeded) and isinstance(err, requests.exceptions.Timeout)
        assert 0.9 <= took < 2.0
        # the same session still works for the next request, with a fresh deadline
        err, took = _timed(lambda: session.get_capped(f"http://127.0.0.1:{trickle.port}/y", 10_000))
        assert isinstance(err, DeadlineExceeded) and 0.9 <= took < 2.0
    assert trickle.connections >= 1


def test_a_fast_answer_is_not_affected_by_the_deadline() -> None:
    body = b'{"ok": true}'
    with TrickleServer(body, delay_s=0) as server, DeadlineSession(1.0) as session:
        assert session.get(f"http://127.0.0.1:{server.port}/").json() == {"ok": True}
        time.sleep(1.2)  # past the first request's deadline: its timer was cancelled and must not fire
        status, payload = session.get_capped(f"http://127.0.0.1:{server.port}/", 100)
        assert status == 200 and payload == body
        assert server.connections == 1  # the kept-alive connection was reused, not shut down


def test_get_capped_refuses_a_body_above_the_cap() -> None:
    with TrickleServer(b"x" * 500, delay_s=0) as server:
        with DeadlineSession(5.0) as session, pytest.raises(TooLarge):
            session.get_capped(f"http://127.0.0.1:{server.port}/", 100)  # Content-Length says 500


def test_live_request_ends_by_its_deadline(trickle: TrickleServer) -> None:
    live_mod.clear_symbol_cache()
    src = BinanceLive(timeout_s=1.0)
    src.client.FUTURES_URL = f"http://127.0.0.1:{trickle.port}/fapi"
    try:
        err, took = _timed(
            lambda: load_days(
                load_live, "BTCUSDT", "5m", date(2024, 12, 1), date(2024, 12, 2), now=NOW, live=src
            )
        )
    finally:
        src.close()
        live_mod.clear_symbol_cache()
    assert isinstance(err, NetworkError)
    assert "Binance did not send a complete answer within 1 s while reading the symbol list" in str(err)
    assert took < 2.5  # the trickle alone would take about a minute


def test_archive_download_ends_by_its_deadline(
    trickle: TrickleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_mod, "ARCHIVE_BASE_URL", f"http://127.0.0.1:{trickle.port}/daily")
    err, took = _timed(
        lambda: load_days(
            load_archive,
            "BTCUSDT",
            "5m",
            date(2024, 12, 2),
            date(2024, 12, 3),
            now=NOW,
            cache_dir=tmp_path,
            timeout_s=1.0,
        )
    )
    assert isinstance(err, NetworkError)
    assert "did not send a complete answer within 1 s while downloading BTCUSDT-5m-2024-12-02.zip" in str(err)
    assert "internet" not in str(err)
    assert took < 2.5
    assert not list(tmp_path.rglob("*.zip"))  # nothing half-downloaded was cached


def test_the_documented_deadline_is_ten_seconds() -> None:
    """The README says each request gives up after about 10 seconds: live and archive use that figure."""
    src = BinanceLive()
    try:
        assert isinstance(src.client.session, DeadlineSession) and src.client.session.total_s == 10.0
    finally:
        src.close()
    assert archive_mod.ARCHIVE_TIMEOUT_S == 10.0
