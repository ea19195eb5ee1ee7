"""HTTP.webSocket / HTTP.webSocketJSON: callbacks (message, operationId), cancel silences."""

from __future__ import annotations

import types
from typing import Any

import httpops
from tests.integration.websocket.conftest import pump
from tests.servers import WSTestServer


def test_websocket_with_a_callbacks_dict(engine: httpops.Engine, ws_server: WSTestServer) -> None:
    http = httpops.HTTPFacade(engine)
    seen: list[tuple[str, Any, int]] = []
    callbacks = {
        "onOpen": lambda msg, op_id: seen.append(("open", msg, op_id)),
        "onMessage": lambda msg, op_id: seen.append(("message", msg, op_id)),
        "onClose": lambda msg, op_id: seen.append(("close", msg, op_id)),
    }
    ws = http.webSocket(ws_server.url("/echo"), callbacks)
    assert http.operations[ws.id] is ws.operation
    ws.send("hello")
    assert pump(engine, lambda: any(kind == "message" for kind, _, _ in seen))
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert seen == [
        ("open", ws.url, ws.id),
        ("message", "hello", ws.id),
        ("close", "1000", ws.id),
    ]
    assert ws.id not in http.operations


def test_websocket_json_with_a_callbacks_object(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    http = httpops.HTTPFacade(engine)
    http.websocketTimeout = 2.0
    seen: list[tuple[str, Any, int]] = []
    callbacks = types.SimpleNamespace(
        onMessage=lambda msg, op_id: seen.append(("message", msg, op_id)),
        onError=lambda msg, op_id: seen.append(("error", msg, op_id)),
    )
    ws = http.webSocketJSON(ws_server.url("/json"), callbacks)
    ws.send({"cmd": "move", "x": 3})
    ws.send("{broken")
    assert pump(engine, lambda: len(seen) == 2)
    assert seen[0] == ("message", {"cmd": "move", "x": 3}, ws.id)
    kind, text, op_id = seen[1]
    assert (kind, op_id) == ("error", ws.id)
    assert text.startswith("JSON ERROR: ")
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


def test_global_handlers_and_cancel_silences_everything(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    http = httpops.HTTPFacade(engine)
    seen: list[tuple[str, Any]] = []
    http.onWsMessage = lambda op_id, msg: seen.append(("global", msg))
    callbacks = {
        "onMessage": lambda msg, op_id: seen.append(("message", msg)),
        "onClose": lambda msg, op_id: seen.append(("close", msg)),
        "onError": lambda msg, op_id: seen.append(("error", msg)),
    }
    ws = http.webSocket(ws_server.url("/burst?n=300&size=16"), callbacks)
    ws.send("go")
    assert pump(engine, lambda: len(seen) >= 2)
    assert seen[:2] == [("global", "0" + "." * 15), ("message", "0" + "." * 15)]
    assert http.cancel(ws.id)
    count = len(seen)
    assert engine.wait(ws.operation, timeout=5)
    engine.poll()
    assert len(seen) == count  # nothing after cancel, not even the close
    assert ws.operation.state is httpops.State.CANCELED
    assert ws.id not in http.operations
