"""Response heads that end oddly: trickling trailers, a head ended by the close, a retry.

Both transports (the suite runs twice, see tests/run_both.sh). The curl
transport collects a fetch's header lines and parses them once; these are
the cases where that must still judge the head as a line-by-line parser would.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import httpops
from tests.servers import RawTCPServer
from tests.servers.hostile_http import read_request
from tests.servers.raw import Handler

Start = Callable[[Handler], RawTCPServer]
Steps = list[tuple[float, bytes]]
_CLOSE = b"<close>"


def scripted(*answers: Steps) -> Handler:
    """Answer the n-th request (over every connection) with ``answers[n]``.

    Each answer is (pause, bytes) steps; ``_CLOSE`` shuts the connection.
    The last answer repeats.
    """
    lock = threading.Lock()
    served = 0

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        nonlocal served
        while not stop.is_set():
            if not read_request(conn):
                return
            with lock:
                steps = answers[min(served, len(answers) - 1)]
                served += 1
            for pause, data in steps:
                if pause and stop.wait(pause):
                    return
                if data == _CLOSE:
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                conn.sendall(data)

    return handler


def test_trailers_trickling_within_the_read_timeout_are_not_a_stall(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    # Each trailer line comes 0.4 s after the last, under the 1 s read timeout; the
    # trailer section as a whole takes 2 s. Every line counts as data arriving.
    steps: Steps = [
        (0.0, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n")
    ]
    steps += [(0.4, b"X-T: 1\r\n") for _ in range(5)]
    steps.append((0.0, b"\r\n"))
    server = raw(scripted(steps))
    engine = make_engine(fast_config(read_timeout=1.0, retry=None))
    op = engine.get(server.url("/t"))
    assert engine.wait(op, timeout=15)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.content == b"hello"
    assert op.value.headers.get("X-T") is None  # trailers are not headers


def test_a_head_ended_by_the_close_keeps_its_header_lines(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    # http.client and libcurl both take a head the connection's close ended.
    server = raw(scripted([(0.0, b"HTTP/1.1 200 OK\r\nX-A: 1\r\n"), (0.1, _CLOSE)]))
    engine = make_engine(fast_config(retry=None))
    op = engine.get(server.url("/h"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.headers.get("X-A") == "1"


def test_a_retry_never_reports_the_headers_of_the_attempt_before(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    server = raw(
        scripted(
            [
                (
                    0.0,
                    b"HTTP/1.1 503 Busy\r\nX-Attempt: 1\r\nRetry-After: 0\r\n"
                    b"Content-Length: 0\r\n\r\n",
                )
            ],
            [(0.0, b"HTTP/1.1 200 OK\r\nX-Attempt: 2\r\n"), (0.1, _CLOSE)],
        )
    )
    retry = httpops.Retry(attempts=1, backoff=0.01, jitter=0.0)
    engine = make_engine(fast_config(retry=retry))
    op = engine.get(server.url("/h"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.status == 200
    assert op.value.headers.get("X-Attempt") == "2", dict(op.value.headers)


def test_an_empty_chunked_body_with_trailers_keeps_the_head(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    server = raw(
        scripted(
            [
                (
                    0.0,
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: 1\r\n\r\n"
                    b"0\r\nX-Trailer: t\r\n\r\n",
                )
            ]
        )
    )
    engine = make_engine(fast_config(retry=None))
    op = engine.get(server.url("/x"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    assert (op.value.status, op.value.content) == (200, b"")
    assert op.value.headers.get("X-Head") == "1"
    assert op.value.headers.get("X-Trailer") is None


def test_a_non_ascii_digit_content_length_is_no_internal_error(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    # "\xb2" is "²" in Latin-1: str.isdigit() says yes, int() refuses it.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\nConnection: close\r\n\r\nxx"
    server = raw(scripted([(0.0, head), (0.05, _CLOSE)]))
    engine = make_engine(fast_config(retry=None))
    op = engine.get(server.url("/l"))
    assert engine.wait(op, timeout=10)
    assert "internal error" not in str(op.error), op.error


def test_a_fetch_never_shows_the_head_of_the_one_before_it(
    raw: Start, make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., object]
) -> None:
    # One after another, so the curl transport carries each on the easy handle (and
    # the header-line list) the one before used; the first answers 200 with a
    # header, the second fails inside its head and the third answers a bare 204.
    server = raw(
        scripted(
            [(0.0, b"HTTP/1.1 200 OK\r\nX-First: 1\r\nContent-Length: 2\r\n\r\nok")],
            [(0.0, b"HTTP/1.1 200 OK\r\nX-Second: 1\r\n"), (0.0, _CLOSE)],
            [(0.0, b"HTTP/1.1 204 No Content\r\n\r\n")],
        )
    )
    engine = make_engine(fast_config(retry=None))
    first = engine.get(server.url("/1"))
    assert engine.wait(first, timeout=10)
    assert first.state is httpops.State.DONE, first.error
    assert first.value.headers.get("X-First") == "1"
    second = engine.get(server.url("/2"))
    assert engine.wait(second, timeout=10)
    third = engine.get(server.url("/3"))
    assert engine.wait(third, timeout=10)
    assert third.state is httpops.State.DONE, third.error
    assert third.value.status_code == 204
    assert dict(third.value.headers) == {}
