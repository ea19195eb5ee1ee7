"""Hostile HTTP peers for the time, size and cookie limits (handlers for RawTCPServer).

Each factory returns a ``handler(conn, stop)`` for
:class:`~tests.servers.raw.RawTCPServer`. They serve every request on a
connection the same way (keep-alive), so retries and several operations can
share one server. Waits use :func:`~tests.servers.misbehaving.pause`, which
ends when the client hangs up, so a handler ending proves the client closed
its socket; every loop is bounded in count as well.

* :func:`drip_phase` -- one byte every ``interval`` seconds, in the phase
  named: the status line, a header, a chunk-size line, a chunk extension,
  the body, or the trailers.
* :func:`trailer_flood` -- a chunked body followed by trailer lines as fast
  as the socket takes them, never ending the trailer section.
* :func:`slow_body` -- a body sent at a steady low rate (the low-speed rule).
* :func:`cookie_flood` -- ``count`` distinct ``Set-Cookie`` headers over as
  many responses as it takes (http.client reads at most 100 headers each).
* :func:`gzip_json` -- a small gzip body that inflates to a large JSON array.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time

from tests.servers.misbehaving import filler, pause
from tests.servers.raw import Handler, read_request_head

__all__ = [
    "PHASES",
    "cookie_flood",
    "drip_phase",
    "gzip_json",
    "read_request",
    "slow_body",
    "trailer_flood",
]

# Upper bound on the bytes any drip sends: the client gives up long before.
_MAX_DRIP = 10_000

_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
# The first chunk of a chunked body: a PNG signature, so an image fetch gets that far.
_FIRST_CHUNK = b"c\r\n" + filler(12) + b"\r\n"

# Phase -> (bytes sent at once, the endless byte dripped after them).
PHASES: dict[str, tuple[bytes, bytes]] = {
    "status-line": (b"HTTP/1.1 200 O", b"K"),  # a reason phrase that never ends
    "header": (b"HTTP/1.1 200 OK\r\nX-Drip: ", b"a"),
    "chunk-size": (_CHUNKED + _FIRST_CHUNK, b"0"),  # leading zeros of a size line
    "chunk-extension": (_CHUNKED + _FIRST_CHUNK + b"5;ext=", b"e"),
    "body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + filler(12), b"b"),
    "trailers": (_CHUNKED + _FIRST_CHUNK + b"0\r\nX-Trailer: ", b"t"),
}


def read_request(conn: socket.socket) -> bytes:
    """Read one request, head and ``Content-Length`` body (b"" if the client hung up).

    The body must be consumed: :func:`pause` takes unread bytes for a client
    that moved on.
    """
    head = read_request_head(conn)
    if b"\r\n\r\n" not in head:
        return b""
    top, _, extra = head.partition(b"\r\n\r\n")
    length = 0
    for line in top.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(extra) < length:
        data = conn.recv(length - len(extra))
        if not data:
            return b""
        extra += data
    return top + b"\r\n\r\n" + extra


def drip_phase(phase: str, interval: float = 0.3) -> Handler:
    """Answer each request with :data:`PHASES` ``[phase]``: a prefix, then one byte per
    ``interval`` until the client hangs up (at most ``_MAX_DRIP`` bytes)."""
    prefix, byte = PHASES[phase]

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not read_request(conn):
            return
        conn.sendall(prefix)
        for _ in range(_MAX_DRIP):
            if not pause(conn, stop, interval):
                return
            conn.sendall(byte)

    return handler


def trailer_flood(seconds: float = 30.0) -> Handler:
    """A complete chunked body, then trailer lines as fast as possible for up to ``seconds``."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not read_request(conn):
            return
        conn.sendall(_CHUNKED + _FIRST_CHUNK + b"0\r\n")
        lines = b"X-Flood: 1\r\n" * 4096
        # Sends time out so the time limit holds: a client that aborted with a full
        # receive window can leave a blocked send waiting for a window that never opens.
        conn.settimeout(0.5)
        end = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn.sendall(lines)
            except TimeoutError:
                continue  # a half-sent batch only cuts a trailer line: still a flood
            except OSError:
                return  # the client hung up

    return handler


def slow_body(rate: int, total: int = 1_000_000, tick: float = 0.1) -> Handler:
    """A body of ``total`` bytes at ``rate`` bytes/s, sent every ``tick`` seconds."""
    per_tick = max(1, int(rate * tick))

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not read_request(conn):
            return
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        sent = 0
        body = filler(total)
        while sent < total:
            if not pause(conn, stop, tick):
                return
            conn.sendall(body[sent : sent + per_tick])
            sent += per_tick

    return handler


def cookie_flood(count: int, per_response: int = 90, size: int = 20) -> Handler:
    """Set ``count`` distinct cookies of ``size`` value bytes, ``per_response`` per response.

    The client must ask again until all are set: each response says how many
    are left in its body (``b"left=N"``). The count is shared by every
    connection: which worker (and so which connection) asks does not matter.
    """
    lock = threading.Lock()
    given = 0

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        nonlocal given
        while not stop.is_set():
            if not read_request(conn):
                return
            with lock:
                first = given
                batch = min(per_response, count - first)
                given += batch
                left = count - given
            lines = [
                f"Set-Cookie: c{first + i}={'v' * size}; Path=/".encode() for i in range(batch)
            ]
            body = f"left={left}".encode()
            head_lines = [b"HTTP/1.1 200 OK", *lines, f"Content-Length: {len(body)}".encode()]
            conn.sendall(b"\r\n".join(head_lines) + b"\r\n\r\n" + body)

    return handler


def gzip_json(decoded_bytes: int) -> Handler:
    """A gzip-encoded JSON array of ``{}`` that inflates to about ``decoded_bytes``."""
    items = max(1, decoded_bytes // 3)
    payload = gzip.compress(b"[" + b"{}," * (items - 1) + b"{}]", compresslevel=9)
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: gzip\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            if not read_request(conn):
                return
            conn.sendall(head + payload)

    return handler
