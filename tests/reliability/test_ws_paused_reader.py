"""Our reader paused for backpressure is not the peer's fault (review: stall judged wrongly).

While the host does not poll, the session stops reading at its high-water
mark. A normal peer with one thread then blocks sending to us and stops
reading, so our own writes stall: that must not count as "peer read nothing
and sent no pong". Once the host polls again, everything flows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops._ws_policy import DEAD, PING, PauseClock, PingClock
from httpops._ws_writer import CLOSE_TIMEOUT, PeerStalled, Writer
from tests.conftest import wait_for
from tests.servers import RawTCPServer
from tests.servers.hostile_ws_backpressure import BusyTalker
from tests.servers.raw import Handler

Start = Callable[[Handler], RawTCPServer]
MakeEngine = Callable[..., httpops.Engine]
FastConfig = Callable[..., httpops.Config]
BIG = 8 * 1024 * 1024  # more than our send buffer and the peer's receive buffer hold


@pytest.mark.slow
def test_a_write_stall_while_our_reader_is_paused_is_not_a_dead_peer(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    interval, timeout = 0.3, 0.3
    talker = BusyTalker(expect=BIG)
    server = raw(talker)
    engine = make_engine(
        fast_config(ws_ping_interval=interval, ws_ping_timeout=timeout, ws_high_water=16)
    )
    messages: list[Any] = []
    errors: list[httpops.OperationError] = []
    ws = engine.websocket(
        f"ws://127.0.0.1:{server.port}/talk",
        on_message=lambda _ws, m: messages.append(m),
        on_error=lambda _ws, e: errors.append(e),
    )
    assert wait_for(lambda: engine.poll() >= 0 and ws.state == "open", timeout=5)
    session = ws._session
    # The host stops polling: our reader pauses, the peer blocks sending to us.
    assert wait_for(lambda: session.paused and talker.blocked.is_set(), timeout=10)
    assert ws.send(b"x" * BIG)  # the peer does not read now: our write stalls
    # Well past ping_interval + ping_timeout of stalled writing: the connection stays.
    held = interval + timeout + 1.0
    assert not wait_for(lambda: session._conn_error is not None, timeout=held), session._conn_error
    assert session.paused and talker.received < BIG  # it really was stalled throughout
    # The host polls again: our reader resumes, the peer reads, the message goes through.
    assert wait_for(lambda: engine.poll() >= 0 and "done" in messages, timeout=10)
    assert talker.received >= BIG
    assert errors == [] and ws.state == "open"
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert ws.operation.state is httpops.State.DONE


class _Writer(Writer):
    """Just the state ``Writer._stalled`` reads, without a connection."""

    def __init__(self, interval: float, timeout: float) -> None:
        self.url = "ws://127.0.0.1/stalled"
        self.ping_interval = interval
        self.ping_timeout = timeout
        self._conn_over = False
        self._stopping = False
        self._pauses = PauseClock()


def test_the_stall_clock_waits_out_a_pause_and_starts_again_on_resume() -> None:
    writer = _Writer(interval=0.3, timeout=0.3)
    with pytest.raises(PeerStalled, match="read nothing"):
        writer._stalled(1.0)  # not paused: a dead peer
    writer._pauses.pause(time.monotonic())
    writer._stalled(100.0)  # paused: not judged, however long
    writer._pauses.resume(time.monotonic())
    writer._stalled(100.0)  # just resumed: the clock starts again
    writer._pauses.resume(time.monotonic() - 1.0)  # resumed a second ago: judged again
    with pytest.raises(PeerStalled):
        writer._stalled(100.0)


def test_closing_bounds_a_stall_even_while_paused() -> None:
    writer = _Writer(interval=10.0, timeout=10.0)
    writer._pauses.pause(time.monotonic())
    writer._stopping = True
    writer._stalled(CLOSE_TIMEOUT / 2)
    with pytest.raises(PeerStalled):
        writer._stalled(CLOSE_TIMEOUT)


def test_a_pause_the_writer_never_saw_still_extends_the_pong_wait() -> None:
    clock = PingClock(interval=1.0, timeout=0.5)
    pauses = PauseClock()
    t = clock.next_ping
    assert clock.check(t, 0.0, pauses)[0] is PING
    # Paused for 0.2 s and resumed while the writer was busy writing (no check meanwhile).
    pauses.pause(t + 0.1)
    pauses.resume(t + 0.3)
    job, wait = clock.check(t + 0.55, 0.0, pauses)
    assert job is None and wait == pytest.approx(0.15)  # due at 0.7, not 0.5
    assert clock.check(t + 0.71, 0.0, pauses)[0] is DEAD
