"""OTCv8's WebSocket ``timeout`` is an idle timeout (issue 10 item 4), in the facade and engine.

BotServer opens ``HTTP.WebSocketJSON(url, callbacks, 3)`` and relies on
``onError("timeout")`` then ``onClose`` to notice a dead link; these tests
use 1 s against the echo server, which stays silent unless spoken to.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import httpops
from httpops._facade_websocket import _idle_seconds
from tests.integration.websocket.conftest import pump
from tests.servers import WSTestServer


def _recorder(seen: list[tuple[str, Any, float]]) -> dict[str, Any]:
    def note(kind: str) -> Any:
        return lambda message, op_id: seen.append((kind, message, time.monotonic()))

    return {name: note(name) for name in ("onOpen", "onMessage", "onError", "onClose")}


@pytest.mark.slow
def test_a_silent_socket_times_out_after_the_facade_timeout(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    http = httpops.HTTPFacade(engine)
    seen: list[tuple[str, Any, float]] = []
    started = time.monotonic()
    ws = http.webSocketJSON(ws_server.url("/echo"), _recorder(seen), 1)
    assert pump(engine, lambda: any(kind == "onClose" for kind, _, _ in seen), timeout=5)
    kinds = [kind for kind, _, _ in seen]
    assert kinds == ["onOpen", "onError", "onClose"]
    error, ended = seen[1][1], seen[1][2]
    assert error.startswith("timeout"), error
    assert 1.0 <= ended - started <= 2.5
    assert ws.id not in http.operations


@pytest.mark.slow
def test_messages_reset_the_facade_idle_timeout(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    http = httpops.HTTPFacade(engine)
    seen: list[tuple[str, Any, float]] = []
    ws = http.webSocket(ws_server.url("/echo"), _recorder(seen), 1)
    end = time.monotonic() + 1.6
    while time.monotonic() < end:  # an echo every 0.4 s keeps it alive past 1 s
        ws.send("ping")
        pump(engine, lambda: False, timeout=0.4)
    assert not [kind for kind, _, _ in seen if kind in ("onError", "onClose")]
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


@pytest.mark.parametrize(
    ("given", "used"), [(None, 15.0), (0, 15.0), (0.5, 15.0), (-3, 15.0), (1, 1), (3, 3)]
)
def test_otcv8_timeout_rule(given: Any, used: Any) -> None:
    # nil takes HTTP.websocketTimeout first; a websocketTimeout of None means 15 too.
    assert _idle_seconds(given) == used


def test_engine_default_has_no_idle_timeout(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    closes: list[int] = []
    ws = engine.websocket(ws_server.url("/echo"), on_close=lambda w, c, r: closes.append(c))
    assert not pump(engine, lambda: bool(closes), timeout=0.6)
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
