"""HTTP requests with a total deadline, for the live and archive sources.

``requests`` only has per-operation timeouts: a server that sends one byte every two seconds never trips a
10 s read timeout and can hold a request open for minutes. :class:`DeadlineSession` gives every request a
deadline for the whole exchange (connect, headers and body). When it passes, a timer shuts the request's
sockets down, the blocked read returns at once, and the caller gets :class:`DeadlineExceeded`, a
``requests`` timeout.

Imports no source module (only ``requests`` and ``urllib3``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

__all__ = ["CONNECT_TIMEOUT_S", "DeadlineExceeded", "DeadlineSession", "TooLarge", "describe_failure"]

#: Longest wait for a TCP connection (always within the total deadline).
CONNECT_TIMEOUT_S = 5.0

_local = threading.local()


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole request took longer than its total deadline."""


class TooLarge(requests.exceptions.RequestException):
    """A streamed body grew past the size the caller allowed."""


class _Deadline:
    """Sockets in use by one request, shut down by a timer when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.expired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Shut a socket down without touching TLS state (the plain socket method also works on an SSL socket)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or detached


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


@contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    previous = getattr(_local, "deadline", None)
    current = _Deadline(seconds)
    _local.deadline = current
    current.start()
    try:
        yield current
    finally:
        current.cancel()
        _local.deadline = previous


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection whose sockets join the current request's deadline (also the HTTPS mixin)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:  # a kept-alive connection is reused here
        _watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """HTTPS: the same watch (the MRO puts HTTPSConnection's connect and TLS set-up under it)."""


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineSession(requests.Session):
    """A ``requests`` session whose every request ends within ``total_s`` seconds, whatever the server does.

    Parameters
    ----------
    total_s : float
        Deadline of one request, from the first connection attempt to the last byte of the body.
    """

    def __init__(self, total_s: float) -> None:
        super().__init__()
        self.total_s = float(total_s)
        adapter = _WatchedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def _timeouts(self) -> tuple[float, float]:
        return min(CONNECT_TIMEOUT_S, self.total_s), self.total_s

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """As ``requests.Session.request``, with this session's deadline (any ``timeout`` given is replaced)."""
        kwargs["timeout"] = self._timeouts()
        with _deadline(self.total_s) as deadline:
            try:
                return super().request(method, url, *args, **kwargs)
            except requests.exceptions.RequestException as exc:
                if deadline.expired:
                    raise DeadlineExceeded(f"no complete answer within {self.total_s:g} s") from exc
                raise

    def get_capped(self, url: str, max_bytes: int) -> tuple[int, bytes]:
        """GET ``url``; return the status and the body, read while the deadline runs and stopped at ``max_bytes``.

        Raises
        ------
        TooLarge
            The body (or its declared ``Content-Length``) is larger than ``max_bytes``.
        DeadlineExceeded, requests.RequestException
            As for any request.
        """
        started = time.monotonic()
        with _deadline(self.total_s) as deadline:
            try:
                kwargs: dict[str, Any] = {"stream": True, "timeout": self._timeouts()}
                with super().request("GET", url, **kwargs) as resp:
                    declared = resp.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise TooLarge(f"{declared} bytes declared")
                    return resp.status_code, _read_capped(resp, max_bytes)
            except requests.exceptions.RequestException as exc:
                if deadline.expired or time.monotonic() - started >= self.total_s:
                    raise DeadlineExceeded(f"no complete answer within {self.total_s:g} s") from exc
                raise


def _read_capped(resp: requests.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(chunk_size=65_536):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True when ``exc`` or anything in its cause/context chain (or urllib3's ``reason``) is one of ``kinds``."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, kinds):
            return True
        todo.extend([cur.__cause__, cur.__context__, getattr(cur, "reason", None)])
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
    return False


def describe_failure(exc: requests.exceptions.RequestException, host: str, total_s: float) -> str:
    """What went wrong with a request, in words that claim no more than the error shows.

    Examples
    --------
    >>> describe_failure(DeadlineExceeded("x"), "Binance", 10)
    'Binance did not send a complete answer within 10 s'
    """
    if isinstance(exc, requests.exceptions.Timeout):
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return f"{host} did not accept a connection within {min(CONNECT_TIMEOUT_S, total_s):g} s"
        return f"{host} did not send a complete answer within {total_s:g} s"
    if isinstance(exc, TooLarge):
        return f"{host} sent an answer larger than expected"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"the secure (TLS) connection to {host} failed"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _caused_by(exc, (urllib3.exceptions.NameResolutionError,)):
            return f"the name of {host} could not be looked up (no network here, or DNS is blocked)"
        if _caused_by(exc, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):
            return f"could not connect to {host} (no network here, a firewall, or the connection was refused)"
        if _caused_by(exc, (urllib3.exceptions.ProtocolError,)):
            return f"the connection to {host} broke off before the answer was complete"
        return f"the connection to {host} failed"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the connection to {host} broke off before the answer was complete"
    return f"the request to {host} failed ({type(exc).__name__})"
