"""An offline machine for the app: DNS fails and connections are refused, as on a laptop without internet.

conftest's guard raises its own ``NetworkBlocked`` (a BaseException) so that a test notices unmocked traffic;
the app, like a user's offline laptop, should instead meet the OS errors that the data sources translate into
messages. Import :func:`offline_like_this_machine` into a test module to use it there.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests import conftest

__all__ = ["offline_like_this_machine"]


@pytest.fixture(autouse=True)
def offline_like_this_machine(monkeypatch: pytest.MonkeyPatch, _block_network: None) -> Iterator[None]:
    """Every non-loopback name fails to resolve and every non-loopback connection is refused."""

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if (
            host is not None
            and str(host) not in conftest._LOOPBACK_NAMES
            and not str(host).startswith("127.")
        ):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return conftest._real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):  # type: ignore[no-untyped-def]
        if not conftest._is_loopback(address):
            raise ConnectionRefusedError(111, "Connection refused")
        return conftest._real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield
