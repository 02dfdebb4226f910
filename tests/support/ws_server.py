"""A scripted websocket server on 127.0.0.1, on its own event loop in a thread.

Each connection runs ``script(conn, n)`` (``n`` counts connections from 0). ``refuse_with`` answers every
handshake with that HTTP status instead (as Binance answers 451 where it does not serve). Used by the live
tail's and the recorder's tests and the load benchmark's fake stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

Script = Callable[[ServerConnection, int], Awaitable[Any]]


async def hold(conn: ServerConnection) -> None:
    """Keep the connection open until the client closes it."""
    try:
        await conn.wait_closed()
    except Exception:
        pass


class ThreadedWsServer:
    """``with ThreadedWsServer(script) as server:`` serves on ``server.url`` (``ws://127.0.0.1:<port>/``)."""

    def __init__(self, script: Script, *, refuse_with: int | None = None) -> None:
        self.script = script
        self.refuse_with = refuse_with
        self.url = ""
        self.paths: list[str] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handler(self, conn: ServerConnection) -> None:
        self.paths.append(conn.request.path if conn.request else "")
        await self.script(conn, len(self.paths) - 1)

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.refuse_with is None:
            return None
        self.paths.append(request.path)
        return conn.respond(HTTPStatus(self.refuse_with), "Service unavailable from a restricted location.\n")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request) as ws_server:
            port = next(iter(ws_server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/"
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ThreadedWsServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback websocket server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
