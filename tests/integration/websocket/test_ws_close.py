"""Every socket ends with exactly one close event: client close, server close, crash, cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpops
from tests.conftest import wait_for
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import RawTCPServer, WSTestServer, never_answer

EngineFactory = Callable[..., httpops.Engine]


def _ws_threads(ws_id: int) -> list[str]:
    prefix = f"httpops-ws-{ws_id}"
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_client_close_sends_code_and_reason_and_joins_its_threads(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/echo"), **rec.callbacks())
    ws.send("one")
    assert pump(engine, lambda: rec.messages == ["one"])
    assert _ws_threads(ws.id)  # reader and writer are named after the socket
    ws.close(4001, "bye now")
    assert ws.state == "closing"
    assert ws.send("after close") is False
    assert engine.wait(ws.operation, timeout=5)
    # websockets echoes the client's close code and reason.
    assert rec.closes == [(4001, "bye now")]
    assert wait_for(lambda: not _ws_threads(ws.id), timeout=5)
    ws.close()  # again: nothing happens
    engine.poll()
    assert len(rec.closes) == 1


def test_server_close_reports_its_code_and_reason(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/close?code=4321&reason=maintenance"), **rec.callbacks())
    ws.send("trigger")
    assert engine.wait(ws.operation, timeout=5)
    assert rec.errors == []
    assert rec.closes == [(4321, "maintenance")]
    assert ws.operation.state is httpops.State.DONE
    assert [e[0] for e in rec.events] == ["open", "close"]


def test_server_crash_gives_an_error_then_one_close(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/crash"), **rec.callbacks())
    ws.send("boom")
    assert engine.wait(ws.operation, timeout=5)
    assert [e[0] for e in rec.events] == ["open", "error", "close"]
    (error,) = rec.errors
    assert isinstance(error, httpops.ConnectionDropped)
    assert str(error).startswith("connection error: WS ws://127.0.0.1:")
    assert rec.closes == [(1006, "")]
    assert ws.operation.state is httpops.State.FAILED
    assert ws.operation.error is error


def test_cancel_closes_the_socket_and_no_callback_but_close_follows(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/burst?n=500&size=16"), **rec.callbacks())
    ws.send("go")
    assert wait_for(lambda: ws.undelivered > 10)
    assert engine.cancel(ws.operation)
    assert engine.wait(ws.operation, timeout=5)
    # Messages already received are not delivered after cancel; the close is.
    assert rec.messages == []
    assert rec.closes == [(1001, "canceled")]
    assert ws.operation.state is httpops.State.CANCELED
    assert wait_for(lambda: not _ws_threads(ws.id), timeout=5)


def test_engine_close_closes_every_socket_and_joins_threads(
    make_engine: EngineFactory, ws_server: WSTestServer, rec: Recorder
) -> None:
    engine = make_engine()
    sockets = [engine.websocket(ws_server.url("/echo"), **rec.callbacks()) for _ in range(3)]
    for ws in sockets:
        ws.send("hi")
    assert pump(engine, lambda: len(rec.messages) == 3)
    before = ws_server.connection_count
    engine.close(timeout=5)
    assert not any(_ws_threads(ws.id) for ws in sockets)
    engine.poll()  # the close events stay queued and are still dispatched
    assert rec.closes == [(1001, "canceled")] * 3
    assert all(ws.state == "closed" for ws in sockets)
    assert ws_server.connection_count == before


def test_close_before_open_aborts_the_handshake(engine: httpops.Engine, rec: Recorder) -> None:
    # A server that never answers the upgrade: the socket cannot open before close()
    # (with a real one, a slow host thread let the echo of "never sent" arrive first).
    with RawTCPServer(never_answer) as silent:
        ws = engine.websocket(f"ws://127.0.0.1:{silent.port}/", **rec.callbacks(), timeout=30)
        ws.send("never sent")
        ws.close(1000, "changed my mind")
        assert engine.wait(ws.operation, timeout=5)  # aborted, not the 30 s handshake timeout
    assert rec.of("open") == []
    assert rec.closes == [(1000, "changed my mind")]
    assert rec.messages == []
