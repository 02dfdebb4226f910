"""Shared fixtures. Every test runs with the internet blocked: only loopback connections are allowed."""

from __future__ import annotations

import asyncio
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from liq._check import live_tail
from liq._sources import live as live_mod

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "liq" / "data"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "ip6-localhost"}


class NetworkBlocked(BaseException):
    """Raised when a test tries to reach a host other than loopback.

    A BaseException, so no ``except Exception`` in the code under test (the auto source chain, for one) can
    swallow it: an accidental network access always fails the test.
    """


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    elif isinstance(address, (str, bytes)):
        return True  # AF_UNIX socket path
    else:
        return False
    return host in _LOOPBACK_NAMES or host.startswith("127.")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NetworkBlocked(f"test tried to open a network connection to {address!r}; mock it instead")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NetworkBlocked(f"test tried to open a network connection to {address!r}; mock it instead")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host is not None and str(host) not in _LOOPBACK_NAMES and not str(host).startswith("127."):
        raise NetworkBlocked(f"test tried to resolve {host!r}; mock the request instead")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(autouse=True)
def _live_tail_on_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's live liquidation tail never aims at Binance in a test (a page on the live source starts it):
    it points at a dead loopback port unless the test sets its own server, and is stopped after the test."""
    monkeypatch.setenv(live_tail.URL_ENV, "ws://127.0.0.1:9/")
    yield
    live_tail.stop_shared_tail()


@pytest.fixture(autouse=True)
def _keep_the_current_event_loop() -> Iterator[None]:
    """``asyncio.run`` leaves the main thread without a current loop. A loop that earlier code set as current
    (python-binance's sync ``Client`` does, via ``get_event_loop``) would then be garbage-collected unclosed
    during some later test and fail it with a ResourceWarning; keep it current across every test instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            previous: asyncio.AbstractEventLoop | None = asyncio.get_event_loop()
        except RuntimeError:
            previous = None
    yield
    if previous is not None and not previous.is_closed():
        asyncio.set_event_loop(previous)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _fresh_symbol_cache() -> Iterator[None]:
    """Each test starts without the live source's cached symbol list (it is process-wide)."""
    live_mod.clear_symbol_cache()
    yield
    live_mod.clear_symbol_cache()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """Mocked HTTP; an unregistered URL answers ConnectionError, as with no network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
