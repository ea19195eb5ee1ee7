"""Reconnect: after drops, with backoff and a cap; queued messages survive; opt-in only."""

from __future__ import annotations

import time
from typing import Any

import httpops
from httpops import Reconnect
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import WSTestServer


def test_reconnects_after_drops_and_resends_what_waited(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    before = ws_server.connection_count
    sent: list[str] = []

    def on_open(ws: Any, reconnected: bool) -> None:
        rec.on_open(ws, reconnected)
        if not reconnected:
            ws.send("first")
            sent.append("first")

    def on_error(ws: Any, error: httpops.OperationError) -> None:
        rec.on_error(ws, error)
        if ws.state == "reconnecting":  # (not after our close() below)
            # Sent while disconnected: waits in the queue for the next connection.
            ws.send(f"while down {len(rec.errors)}")

    def on_message(ws: Any, message: Any) -> None:
        rec.on_message(ws, message)
        if message == "while down 2":
            ws.close()

    callbacks = {**rec.callbacks(), "on_open": on_open, "on_error": on_error}
    callbacks["on_message"] = on_message
    ws = engine.websocket(
        ws_server.url("/echo-crash"),
        **callbacks,
        reconnect=Reconnect(attempts=3, backoff=0.1, max_backoff=0.1),
    )
    assert pump(engine, lambda: ws.operation.done(), timeout=10)
    assert rec.messages[:3] == ["first", "while down 1", "while down 2"]
    # The third drop may come before or after our close() is seen: either way it
    # ends as the clean close we asked for, never as an error close.
    assert rec.of("open")[:3] == [(False,), (True,), (True,)]
    assert all(isinstance(e, httpops.ConnectionDropped) for e in rec.errors)
    assert len(rec.errors) in (2, 3)
    assert ws.reconnects >= 2
    assert rec.closes == [(1000, "")]
    assert ws.operation.state is httpops.State.DONE
    assert ws_server.connection_count - before >= 3


def test_gives_up_after_the_attempt_cap_with_backoff(
    engine: httpops.Engine, rec: Recorder, refused_url: str
) -> None:
    policy = Reconnect(attempts=3, backoff=0.1, max_backoff=0.1, jitter=0.0)
    started = time.monotonic()
    ws = engine.websocket(refused_url, **rec.callbacks(), reconnect=policy)
    assert engine.wait(ws.operation, timeout=10)
    elapsed = time.monotonic() - started
    # The first try and 3 retries, each failing; then the one close.
    assert len(rec.errors) == 4
    assert all(str(e).startswith("connection error: ") for e in rec.errors)
    assert [e[0] for e in rec.events] == ["error"] * 4 + ["close"]
    assert rec.closes == [(1006, "")]
    assert ws.operation.state is httpops.State.FAILED
    # Three delays of 0.1 s (the minimum): at least 0.3 s, and not much more.
    assert 0.29 <= elapsed < 3.0


def test_clean_server_close_reconnects_only_when_asked(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    url = ws_server.url("/close?code=4000&reason=restart")
    plain = engine.websocket(url, reconnect=Reconnect(backoff=0.1), **rec.callbacks())
    plain.send("x")
    assert engine.wait(plain.operation, timeout=5)
    assert rec.closes == [(4000, "restart")]
    assert plain.reconnects == 0

    again = Recorder()

    def on_open(ws: Any, reconnected: bool) -> None:
        again.on_open(ws, reconnected)
        if reconnected:
            ws.close(1000, "enough")
        else:
            ws.send("x")

    policy = Reconnect(backoff=0.1, on_server_close=True)
    ws = engine.websocket(url, **{**again.callbacks(), "on_open": on_open}, reconnect=policy)
    assert engine.wait(ws.operation, timeout=5)
    assert again.of("open") == [(False,), (True,)]
    assert again.errors == []
    assert again.closes == [(1000, "enough")]


def test_close_during_backoff_ends_at_once(
    engine: httpops.Engine, rec: Recorder, refused_url: str
) -> None:
    policy = Reconnect(attempts=None, backoff=30.0, max_backoff=30.0)
    ws = engine.websocket(refused_url, **rec.callbacks(), reconnect=policy)
    assert pump(engine, lambda: len(rec.errors) == 1)
    started = time.monotonic()
    ws.close(1000, "stop trying")
    assert engine.wait(ws.operation, timeout=5)
    assert time.monotonic() - started < 2.0
    assert rec.closes == [(1000, "stop trying")]
