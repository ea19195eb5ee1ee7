"""Breaking a request from another thread: no lost abort, no abort of the wrong request."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from httpops._requests_transport import _ConnectionsInUse


class FakeConn:
    """Stands in for a urllib3 connection: ``sock`` is set once connected."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _is_shut(sock: socket.socket, peer: socket.socket) -> bool:
    peer.settimeout(1)
    return peer.recv(1) == b""  # the other end sees EOF once ours is shut down


def test_abort_of_a_request_that_is_no_longer_canceled_does_nothing(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    table = _ConnectionsInUse()
    me = threading.get_ident()
    table.begin(lambda: False)  # the thread moved on to a request nobody canceled
    conn = FakeConn()
    conn.sock = pair[0]
    table.taken(conn)
    table.abort(me)  # a late call meant for the previous request
    pair[1].settimeout(0.05)
    with pytest.raises(TimeoutError):
        pair[1].recv(1)  # still open: nothing was shut
    table.end()


def test_abort_before_the_tcp_socket_exists_shuts_it_when_it_does(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    table = _ConnectionsInUse()
    table.begin(lambda: True)
    conn = FakeConn()
    table.taken(conn)  # canceled already: marked, nothing to shut yet
    table.abort(threading.get_ident())
    table.connected(conn, pair[0])  # the TCP connect finishes
    assert _is_shut(pair[0], pair[1])
    table.end()


def test_abort_during_the_tls_handshake_shuts_the_raw_socket(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    table = _ConnectionsInUse()
    canceled = threading.Event()
    table.begin(canceled.is_set)
    conn = FakeConn()
    table.taken(conn)
    table.connected(conn, pair[0])  # TCP is up; conn.sock is set only after TLS
    canceled.set()
    table.abort(threading.get_ident())
    assert _is_shut(pair[0], pair[1])
    table.end()
