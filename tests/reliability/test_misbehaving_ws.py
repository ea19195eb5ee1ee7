"""WebSocket peers that misbehave: one error, one close, on time, nothing left running.

Each peer is a raw socket that does the handshake itself (or botches it).
For each: ``on_error`` once with an error naming what happened and the URL,
then ``on_close`` exactly once, within the timeout that applies (handshake
timeout, ping timeout, or none for an immediate failure); the session's
reader and writer threads end, and the autouse leak check finds the
process's threads and descriptors back at their baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import httpops
from tests.reliability.support import Ending, assert_error, finish
from tests.servers import RawTCPServer
from tests.servers import misbehaving as mb
from tests.servers.raw import Handler

Start = Callable[..., RawTCPServer]
SLACK = 1.5
HANDSHAKE = 0.5
PING_INTERVAL, PING_TIMEOUT = 0.2, 0.3

# Handler, time limit, phrase, detail words, close code reported (1006: no close frame came).
CASES: dict[str, tuple[Handler, float, str, tuple[str, ...], int]] = {
    "never-answers": (mb.never_answer, HANDSHAKE + SLACK, "timeout", ("handshake",), 1006),
    "garbage-handshake": (mb.ws_garbage_handshake, SLACK, "connection error", ("handshake",), 1006),
    "invalid-frame": (mb.ws_invalid_frame, SLACK, "connection error", ("protocol error",), 1006),
    "oversized-frame": (mb.ws_oversized_frame(), SLACK, "body too large", ("exceeds",), 1006),
    "reset": (mb.ws_reset, SLACK, "connection error", (), 1006),
    "no-pong": (mb.ws_mute, PING_INTERVAL + PING_TIMEOUT + SLACK, "timeout", ("pong",), 1006),
}


class Socket:
    """Callbacks of one WebSocket, recorded."""

    def __init__(self) -> None:
        self.opens = 0
        self.errors: list[httpops.OperationError] = []
        self.closes: list[tuple[int, str]] = []
        self.ending = Ending()

    def on_open(self, ws: Any, reconnected: bool) -> None:
        self.opens += 1

    def on_error(self, ws: Any, error: httpops.OperationError) -> None:
        self.errors.append(error)

    def on_close(self, ws: Any, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        self.ending(ws)


@pytest.mark.parametrize("case", sorted(CASES))
def test_misbehaving_ws_peer_fails_once_in_time(
    case: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    handler, limit, phrase, details, code = CASES[case]
    server = raw(handler)
    engine = make_engine(
        fast_config(
            websocket_timeout=HANDSHAKE,
            ws_max_message_bytes=1024 * 1024,
            ws_ping_interval=PING_INTERVAL,
            ws_ping_timeout=PING_TIMEOUT,
        )
    )
    sock = Socket()
    ws = engine.websocket(
        f"ws://127.0.0.1:{server.port}/{case}",
        on_open=sock.on_open,
        on_error=sock.on_error,
        on_close=sock.on_close,
    )
    ws.send("hello")  # queued; must not outlive the socket either
    finish(engine, ws.operation, sock.ending, limit=limit)
    assert_error(ws.operation, phrase, *details)
    assert [str(e) for e in sock.errors] == [str(ws.operation.error)]
    assert len(sock.closes) == 1 and sock.closes[0][0] == code, sock.closes
    assert ws.state == "closed"
    assert not ws.send("too late")


def test_reconnect_gives_up_on_a_peer_that_keeps_resetting(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # Reconnects are bounded: three tries, three errors, then exactly one close.
    server = raw(mb.ws_reset)
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket(
        f"ws://127.0.0.1:{server.port}/again",
        on_open=sock.on_open,
        on_error=sock.on_error,
        on_close=sock.on_close,
        reconnect=httpops.Reconnect(attempts=2, backoff=0.1, max_backoff=0.1),
    )
    finish(engine, ws.operation, sock.ending, limit=SLACK * 2)
    assert sock.opens == 3
    assert len(sock.errors) == 3 and len(sock.closes) == 1
    assert ws.operation.state is httpops.State.FAILED
    assert server.accepted == 3
