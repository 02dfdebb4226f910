"""An offline machine for the app: DNS fails and connections are refused, as on a laptop without internet.

conftest's guard raises its own ``NetworkBlocked`` (a BaseException) so that a test notices unmocked traffic;
the app, like a user's offline laptop, should instead meet the OS errors that the data sources translate into
messages. Import :func:`offline_like_this_machine` into a test module to use it there.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import conftest

__all__ = ["OFFLINE_SITECUSTOMIZE", "offline_like_this_machine", "write_offline_sitecustomize"]


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


#: A ``sitecustomize`` for a server subprocess: it can reach loopback only, failing like an offline machine.
OFFLINE_SITECUSTOMIZE = '''
"""Written by tests/support/offline.py: this Python process can reach loopback only (offline machine)."""
import socket

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "ip6-localhost"}
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(host):
    return host is None or str(host) in _LOOPBACK or str(host).startswith("127.")


def _getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, *args, **kwargs)


def _connect(self, address):
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise ConnectionRefusedError(111, "Connection refused")
    return _real_connect(self, address)


def _connect_ex(self, address):
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        return 111
    return _real_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
'''


def write_offline_sitecustomize(folder: Path) -> Path:
    """Write :data:`OFFLINE_SITECUSTOMIZE` into ``folder`` (put ``folder`` first on the server's PYTHONPATH)."""
    path = folder / "sitecustomize.py"
    path.write_text(OFFLINE_SITECUSTOMIZE, encoding="utf-8")
    return path
