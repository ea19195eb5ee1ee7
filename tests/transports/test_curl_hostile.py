"""Hostile peers against the curl transport's own redirect and header handling.

The curl transport follows redirects itself (httpops/transports/curl_hops.py)
and leaves header counting to libcurl; these check both against servers
that misbehave on purpose:

* a redirect whose own body never ends is still followed: its body is
  thrown away, and the connection cut past 1 MiB of it;
* an endless trailer section ends at libcurl's 5,000-line limit, before the
  deadline, as an error naming method, URL and what happened (the requests
  transport reads on until the deadline: docs/transports.md, Known gaps).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import httpops
from tests.servers import RawTCPServer
from tests.servers.hostile_http import read_request, trailer_flood
from tests.servers.raw import Handler

Start = Callable[[Handler], RawTCPServer]


@pytest.fixture
def raw() -> Iterator[Start]:
    servers: list[RawTCPServer] = []

    def start(handler: Handler) -> RawTCPServer:
        server = RawTCPServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        assert server.errors == [], server.errors


def _endless_redirect(conn: socket.socket, stop: threading.Event) -> None:
    """/start: a 302 whose promised 1 GB body never ends; /final: a plain 200."""
    request = read_request(conn)
    if not request:
        return
    if request.startswith(b"GET /final"):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        return
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /final\r\nContent-Length: 1000000000\r\n\r\n")
    conn.settimeout(0.5)
    block = b"r" * 65536
    end = time.monotonic() + 10.0
    while not stop.is_set() and time.monotonic() < end:
        try:
            conn.sendall(block)
        except TimeoutError:
            continue
        except OSError:
            return  # the client cut it


def test_a_redirect_with_an_endless_body_is_still_followed(
    raw: Start, make_engine: Callable[..., httpops.Engine]
) -> None:
    server = raw(_endless_redirect)
    engine = make_engine(httpops.Config(transport="curl", deadline=8.0, retry=None))
    op = engine.get(server.url("/start"))
    assert engine.wait(op, timeout=10.0)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.content == b"ok"
    assert op.value.url == server.url("/final")
    assert [(r.status, r.url) for r in op.value.history] == [(302, server.url("/start"))]


def test_an_endless_trailer_section_ends_before_the_deadline(
    raw: Start, make_engine: Callable[..., httpops.Engine]
) -> None:
    # libcurl 8.12 and later stop after 5,000 header lines (trailers included):
    # a connection error before the deadline. Older ones (8.11, the pycurl
    # floor's) read on until the watchdog cuts the flood at the deadline.
    server = raw(trailer_flood(seconds=10.0))
    engine = make_engine(httpops.Config(transport="curl", deadline=5.0, retry=None))
    started = time.monotonic()
    op = engine.get(server.url("/flood"))
    assert engine.wait(op, timeout=10.0)
    assert time.monotonic() - started < 5.5
    text = str(op.error)
    assert "GET" in text and server.url("/flood") in text, text
    if isinstance(op.error, httpops.DeadlineExceeded):
        return
    assert isinstance(op.error, httpops.ConnectError), op.error
    assert "header too large" in text, text
