"""An empty (or whitespace-only) message on a JSON socket is the message None, everywhere.

OTCv8 hands it to ``onMessage`` as ``nil``; the session decides it, so the
socket's callbacks and the global listeners (engine and facade) all see a
message, and no listener sees an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpops
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import WSTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_engine_socket_and_global_listeners_get_none(
    make_engine: EngineFactory, ws_server: WSTestServer, rec: Recorder
) -> None:
    engine = make_engine()
    heard: list[tuple[str, Any]] = []
    engine.connect(
        on_ws_message=lambda _id, message: heard.append(("message", message)),
        on_ws_error=lambda _id, text: heard.append(("error", text)),
    )
    ws = engine.websocket_json(ws_server.url("/echo"), **rec.callbacks())
    for message in ("", " \r\n\t", b"", "not json", {"a": 1}):
        ws.send(message)
    assert pump(engine, lambda: len(rec.messages) + len(rec.errors) == 5, timeout=10)
    assert rec.messages == [None, None, None, {"a": 1}]
    assert len(rec.errors) == 1 and isinstance(rec.errors[0], httpops.JSONDecodeError)
    assert [kind for kind, _ in heard] == ["message"] * 3 + ["error", "message"]
    assert [value for kind, value in heard if kind == "message"] == [None, None, None, {"a": 1}]
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


def test_facade_global_onwserror_hears_nothing_for_an_empty_message(
    make_engine: EngineFactory, ws_server: WSTestServer
) -> None:
    engine = make_engine()
    http = httpops.HTTPFacade(engine)
    global_messages: list[Any] = []
    global_errors: list[Any] = []
    http.onWsMessage = lambda _id, message: global_messages.append(message)
    http.onWsError = lambda _id, text: global_errors.append(text)
    got: list[Any] = []
    errors: list[Any] = []
    ws = http.webSocketJSON(
        ws_server.url("/echo"),
        {"onMessage": lambda msg, _id: got.append(msg), "onError": lambda e, _id: errors.append(e)},
    )
    ws.send("")
    ws.send({"b": 2})
    assert pump(engine, lambda: len(got) == 2 and len(global_messages) == 2, timeout=5)
    assert got == [None, {"b": 2}] and errors == []
    assert global_messages == [None, {"b": 2}]
    assert global_errors == []
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
