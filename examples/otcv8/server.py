"""Port of OTCv8 ``modules/game_bot/functions/server.lua`` (BotServer) to the facade.

BotServer keeps one JSON WebSocket to the bot server with a 3 s timeout --
in OTCv8 an *idle* timeout: a link that says nothing for 3 s is reported
(``onError("timeout")``) and closed, ``onClose`` runs, and ``onClose``
calls ``BotServer.init`` again: that is how a dead link is noticed and
replaced. It answers the server's pings, dispatches ``message`` frames to
the callbacks registered with ``BotServer.listen(topic, callback)``, and
drops a socket it no longer owns with ``g_http.cancel(socketId)``, which in
OTCv8 still delivers ``onClose``.

``context`` (the bot's sandbox) becomes this module's globals; ``context.warn``
and ``context.error`` are kept as lists. ``HTTP`` and ``g_http`` are module
globals as in Lua.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpops
from httpops._facade_ghttp import GHttp

HTTP: httpops.HTTPFacade = httpops.HTTP
g_http: GHttp = httpops.g_http

_websockets: dict[int, int] = {}  # context._websockets
warnings: list[str] = []  # context.warn
errors: list[str] = []  # context.error


# Lua: context.BotServer = {} and its fields (``connects`` counts the sockets
# init() opened: the port's own, for the tests).
BotServer = SimpleNamespace(
    url="ws://127.0.0.1:8081/otcv8/bot",
    timeout=3,
    ping=0,
    _callbacks={},
    _lastMessageId=0,
    _wasConnected=True,  # show first warning
    _websocket=None,
    connects=0,
)


def _init(name: str, channel: str) -> None:
    if not channel or not name or len(channel) < 1 or len(name) < 1:
        return errors.append("Invalid params for BotServer.init")
    if BotServer._websocket:
        return errors.append("BotServer is already initialized")

    def onMessage(message: Any, socketId: int) -> None:
        if socketId not in _websockets:
            g_http.cancel(socketId)
            return
        if not BotServer._websocket or BotServer._websocket.id != socketId:
            g_http.cancel(socketId)
            return
        BotServer._wasConnected = True
        if message["type"] == "ping":
            BotServer.ping = message["ping"]
            BotServer._websocket.send({"type": "ping"})
            return
        if message["type"] == "message":
            BotServer._lastMessageId = message["id"]
            for topic in (message["topic"], "*"):
                for callback in BotServer._callbacks.get(topic, []):
                    callback(message["name"], message["message"], message["topic"])

    def onClose(message: str, socketId: int) -> None:
        if socketId not in _websockets:
            return
        del _websockets[socketId]
        if not BotServer._websocket or BotServer._websocket.id != socketId:
            return
        if BotServer._wasConnected:
            warnings.append("BotServer disconnected")
        BotServer._wasConnected = False
        BotServer._websocket = None
        BotServer.init(name, channel)

    BotServer._websocket = HTTP.WebSocketJSON(
        BotServer.url, {"onMessage": onMessage, "onClose": onClose}, BotServer.timeout
    )
    BotServer.connects += 1
    _websockets[BotServer._websocket.id] = 1
    BotServer._websocket.send(
        {"type": "init", "name": name, "channel": channel, "lastMessage": BotServer._lastMessageId}
    )


def _terminate() -> None:
    if BotServer._websocket:
        BotServer._websocket.close()
        BotServer._websocket = None


def _listen(topic: str, callback: Callable[..., Any]) -> None:
    # callback = function(name, message, topic) -- message is parsed json = table
    if not BotServer._websocket:
        return errors.append("BotServer is not initialized")
    BotServer._callbacks.setdefault(topic, []).append(callback)


def _send(topic: str, message: Any) -> None:
    if not BotServer._websocket:
        return errors.append("BotServer is not initialized")
    BotServer._websocket.send({"type": "message", "topic": topic, "message": message})


BotServer.init = _init
BotServer.terminate = _terminate
BotServer.listen = _listen
BotServer.send = _send


def reset() -> None:
    """Forget every socket and callback (between tests)."""
    BotServer._websocket = None
    BotServer._callbacks = {}
    BotServer._lastMessageId = 0
    BotServer._wasConnected = True
    BotServer.connects = 0
    BotServer.ping = 0
    _websockets.clear()
    warnings.clear()
    errors.clear()
