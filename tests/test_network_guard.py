import socket

import pytest
import requests

from tests.conftest import NetworkBlocked


def test_unmocked_http_request_fails() -> None:
    with pytest.raises((NetworkBlocked, requests.exceptions.ConnectionError)):
        requests.get("https://fapi.binance.com/fapi/v1/ping", timeout=2)


def test_raw_socket_to_public_address_fails() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkBlocked):
            s.connect(("1.1.1.1", 443))
    finally:
        s.close()


def test_loopback_is_allowed() -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        cli.connect(srv.getsockname())
    finally:
        cli.close()
        srv.close()
