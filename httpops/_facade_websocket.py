"""Facade members for WebSockets (``HTTP.webSocket``, ``HTTP.webSocketJSON``).

``callbacks`` is a dict (or any object with attributes) holding any of
``onOpen``, ``onMessage``, ``onClose`` and ``onError``; each is called as
``(message, operationId)`` on the polling thread, as ``http.lua`` does:
``onOpen`` gets the URL, ``onMessage`` the message (decoded JSON for a JSON
socket), ``onError`` the error text (``"JSON ERROR: ..."`` for an
undecodable message on a JSON socket), ``onClose`` ``"<code>"`` or
``"<code>: <reason>"``, exactly once. After ``HTTP.cancel(id)`` none of
them runs.

``timeout`` is OTCv8's: an *idle* timeout. No message for that many seconds
→ ``onError("timeout: ...")``, then ``onClose``. ``nil``/None takes
`websocketTimeout`; a value under 1 means 15, as in OTCv8's C++. The
same number bounds the connect and handshake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._facade_calls import error_message, lua_callable
from ._validation import check_callback
from ._ws_handle import WebSocket, close_message

if TYPE_CHECKING:
    from ._engine import Engine
    from ._operation import Operation

__all__ = ["WebSocketFacadeMixin"]

_CALLBACK_NAMES = ("onOpen", "onMessage", "onClose", "onError")
#: OTCv8's idle timeout when the one given is under 1 second.
_OTCV8_IDLE_DEFAULT = 15.0


def _idle_seconds(timeout: object) -> Any:
    """OTCv8's rule: nil or a number under 1 means 15 s; the engine checks anything else."""
    if timeout is None:
        return _OTCV8_IDLE_DEFAULT
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout < 1:
        return _OTCV8_IDLE_DEFAULT
    return timeout


def _callbacks(callbacks: object) -> dict[str, Callable[..., Any] | None]:
    """The four callbacks from a dict or an object; each checked to be callable."""
    found: dict[str, Callable[..., Any] | None] = {}
    for name in _CALLBACK_NAMES:
        if callbacks is None:
            fn = None
        elif isinstance(callbacks, Mapping):
            fn = callbacks.get(name)
        else:
            fn = getattr(callbacks, name, None)
        check_callback(f"callbacks.{name}", fn)
        found[name] = fn
    return found


class WebSocketFacadeMixin:
    """``HTTP.webSocket`` and ``HTTP.webSocketJSON``; mixed into `httpops.HTTPFacade`."""

    # Provided by HTTPFacade.
    operations: dict[int, Operation]
    websocketTimeout: float
    customHeaders: dict[str, str]
    agent: str

    def _init_websockets(self) -> None:
        # Open sockets started through this facade, by id (g_http.wsSend/wsClose/cancel).
        self._sockets: dict[int, WebSocket] = {}

    if TYPE_CHECKING:

        @property
        def engine(self) -> Engine: ...

    def webSocket(
        self,
        url: str,
        callbacks: Any = None,
        timeout: float | None = None,
        jsonWebsocket: bool = False,
    ) -> WebSocket:
        """Open a WebSocket; returns an object with ``id``, ``url``, ``send``, ``close``.

        Args:
            url: ``ws://`` or ``wss://`` URL.
            callbacks: Dict or object with ``onOpen``/``onMessage``/
                ``onClose``/``onError``, each called ``(message, operationId)``.
            timeout: Idle timeout in seconds, as in OTCv8: no message for that
                long → ``onError`` (``"timeout: ..."``) then ``onClose``. None
                takes `websocketTimeout`; under 1 means 15. It also
                bounds the connect and handshake.
            jsonWebsocket: Decode messages as JSON (and send dicts/lists as JSON).

        Raises:
            InvalidURL, InvalidArgument, InvalidCallback: At the call.

        Thread-safety: the polling thread (it touches ``operations``).
        """
        # Lua drops the arguments a function does not take: so does each call here.
        found = {name: lua_callable(fn) for name, fn in _callbacks(callbacks).items()}
        idle = _idle_seconds(self.websocketTimeout if timeout is None else timeout)

        def relay(name: str) -> Callable[..., None]:
            fn = found[name]

            def call(handle: WebSocket, *args: Any) -> None:
                if fn is not None:
                    fn(*args, handle.id)

            return call

        on_message, on_error = relay("onMessage"), relay("onError")
        open_cb, close_cb = found["onOpen"], found["onClose"]

        def on_open(handle: WebSocket, _reconnected: bool) -> None:
            if open_cb is not None:
                open_cb(handle.url, handle.id)

        def on_close(handle: WebSocket, code: int, reason: str) -> None:
            self.operations.pop(handle.id, None)
            self._sockets.pop(handle.id, None)
            if close_cb is not None:
                close_cb(close_message(code, reason), handle.id)

        def on_error_event(handle: WebSocket, error: BaseException) -> None:
            on_error(handle, error_message(error))

        handle = self.engine.websocket(
            url,
            on_open=on_open,
            on_message=on_message,
            on_error=on_error_event,
            on_close=on_close,
            timeout=idle,
            idle_timeout=idle,
            json=bool(jsonWebsocket),
            headers={**self.customHeaders, "User-Agent": self.agent},
        )
        self.operations[handle.id] = handle.operation
        self._sockets[handle.id] = handle
        return handle

    def webSocketJSON(
        self, url: str, callbacks: Any = None, timeout: float | None = None
    ) -> WebSocket:
        """`webSocket` with ``jsonWebsocket=True``.

        Thread-safety: the polling thread.
        """
        return self.webSocket(url, callbacks, timeout, True)

    #: OTCv8 spells them both ways (BotServer and entergame v2 use the capitals).
    WebSocket = webSocket
    WebSocketJSON = webSocketJSON
