"""WebSocket: the handle the host holds, and the polling-thread side of its events.

The handle's ``send`` and ``close`` only touch the session's queue and flags,
so they never block on the network. Its ``_dispatch_*`` methods run inside
``poll()`` on the polling thread: they update ``state`` and call the global
``on_ws_*`` listeners first, then the socket's own callback (the order of
``http.lua``, whose global handlers call the per-socket ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import InvalidArgument
from ._operation import TERMINAL, Operation, State
from ._validation import encode_json
from ._ws_connect import OPCODE_BINARY, OPCODE_TEXT
from ._ws_session import CANCEL_CLOSE

if TYPE_CHECKING:
    from ._engine import Engine
    from ._ws_events import WsError, WsMessage, WsOpen
    from ._ws_session import Session

__all__ = ["WebSocket", "close_message"]

#: Close codes a client may send (RFC 6455 section 7.4, plus the private range).
_SENDABLE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})


def close_message(code: int, reason: str) -> str:
    """The ``message`` of the close listeners: ``"1000"`` or ``"4001: bye"``."""
    return f"{code}: {reason}" if reason else str(code)


class WebSocket:
    """Handle of one WebSocket, returned at once by ``Engine.websocket``.

    Attributes:
        id: The operation id (unique in the engine).
        url: The URL as given.
        operation: The [`Operation`][httpops.Operation]; it completes when the
            socket is closed (``op.value`` is ``(code, reason)``).
        state: ``"connecting"``, ``"open"``, ``"reconnecting"``,
            ``"closing"`` or ``"closed"``; changes on the polling thread.
        reconnects: Successful reconnects so far.
        subprotocol: The subprotocol the server chose, once open.

    Callbacks (each optional, all run on the polling thread):
        ``on_open(ws, reconnected)``, ``on_message(ws, message)``,
        ``on_error(ws, error)`` with an [`OperationError`][httpops.OperationError], and
        ``on_close(ws, code, reason)`` exactly once at the end.
    """

    def __init__(
        self,
        engine: Engine,
        operation: Operation,
        session: Session,
        on_open: Callable[..., Any] | None,
        on_message: Callable[..., Any] | None,
        on_close: Callable[..., Any] | None,
        on_error: Callable[..., Any] | None,
    ) -> None:
        self._engine = engine
        self.operation = operation
        self.id = operation.id
        self.url = operation.url
        self._session = session
        self._state = "connecting"
        self.reconnects = 0
        self.subprotocol: str | None = None
        self._on_open = on_open
        self._on_message = on_message
        self._on_close = on_close
        self._on_error = on_error

    # -- public API ----------------------------------------------------------------------

    def send(self, message: str | bytes | bytearray | dict[str, Any] | list[Any]) -> bool:
        """Queue a message: str as text, bytes as binary, a dict or list as JSON text.

        Messages sent before the socket opens (or while it reconnects) wait in
        the bounded queue (``Config.ws_send_queue``) and go out in order.

        Returns:
            True if queued; False if the queue is full or the socket is
            closing or closed.

        Raises:
            InvalidArgument: Another type, or a dict/list that is not
                JSON-serialisable.

        Thread-safety: any thread; never blocks on the network.
        """
        if isinstance(message, str):
            opcode, payload = OPCODE_TEXT, message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray, memoryview)):
            opcode, payload = OPCODE_BINARY, bytes(message)
        elif isinstance(message, (dict, list)):
            opcode, payload = OPCODE_TEXT, encode_json(message, "message")
        else:
            raise InvalidArgument(
                f"message must be str, bytes, dict or list, got {type(message).__name__}"
            )
        return self._session.send(opcode, payload)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close frame after what is queued; ``on_close`` follows.

        Waits for the server's close frame on the session thread, for at most
        a few seconds. Calling it again, or after the end, does nothing.
        Called while the socket is still connecting, it abandons the
        handshake: messages queued before open are then not sent.

        Raises:
            InvalidArgument: A code a client may not send, or a reason over
                123 UTF-8 bytes.

        Thread-safety: any thread; never blocks on the network.
        """
        if isinstance(code, bool) or not isinstance(code, int):
            raise InvalidArgument(f"close code must be an int, got {code!r}")
        if code not in _SENDABLE_CODES and not 3000 <= code <= 4999:
            raise InvalidArgument(f"close code must be 1000-1011 or 3000-4999, got {code}")
        if not isinstance(reason, str) or len(reason.encode("utf-8")) > 123:
            raise InvalidArgument(f"close reason must be a str of <= 123 UTF-8 bytes: {reason!r}")
        if self._session.close(code, reason) and self.state != "closed":
            self._state = "closing"

    @property
    def state(self) -> str:
        """``"connecting"``, ``"open"``, ``"reconnecting"``, ``"closing"`` or ``"closed"``.

        Thread-safety: any thread; it changes on the polling thread.
        """
        # A silenced socket (canceled through a scope or the facade) runs no
        # close callback, so its end shows through the operation instead.
        return "closed" if self.operation.done() else self._state

    @property
    def undelivered(self) -> int:
        """Received messages waiting for ``poll()``. Thread-safety: any thread."""
        return self._session.undelivered

    @property
    def undelivered_bytes(self) -> int:
        """Payload bytes of the received messages waiting for ``poll()``.

        Thread-safety: any thread.
        """
        return self._session.undelivered_bytes

    def __repr__(self) -> str:
        return f"<httpops.WebSocket {self.id} {self.url} {self.state}>"

    # -- the polling thread: dispatch ----------------------------------------------------

    def _muted(self) -> bool:
        op = self.operation
        return op.cancel_requested or op.silenced or op.state in TERMINAL

    def _dispatch_open(self, event: WsOpen) -> None:
        if self._muted():
            return
        if self.state != "closing":
            self._state = "open"
        self.subprotocol = event.subprotocol
        if event.reconnected:
            self.reconnects += 1
        engine = self._engine
        for fn in engine.listeners.get("on_ws_open"):
            engine._call_user(fn, self.id, self.url)
        if self._on_open is not None:
            engine._call_user(self._on_open, self, event.reconnected)

    def _dispatch_message(self, event: WsMessage) -> None:
        self._session.note_delivered(event.size)
        if self._muted():
            return
        engine = self._engine
        message = event.message
        for fn in engine.listeners.get("on_ws_message"):
            engine._call_user(fn, self.id, message)
        if self._on_message is not None:
            engine._call_user(self._on_message, self, message)

    def _dispatch_error(self, event: WsError) -> None:
        if event.received:
            self._session.note_delivered(event.size)
        if self._muted():
            return
        if event.reconnecting and self.state != "closing":
            self._state = "reconnecting"
        engine = self._engine
        text = str(event.error)
        for fn in engine.listeners.get("on_ws_error"):
            engine._call_user(fn, self.id, text)
        if self._on_error is not None:
            engine._call_user(self._on_error, self, event.error)

    def _dispatch_close(self, op: Operation) -> None:
        """The operation's completion callback: the socket's one close event."""
        self._state = "closed"
        value = op.value
        if op.state is State.CANCELED or not isinstance(value, tuple):
            code, reason = CANCEL_CLOSE
        else:
            code, reason = value
        engine = self._engine
        for fn in engine.listeners.get("on_ws_close"):
            engine._call_user(fn, self.id, close_message(code, reason))
        if self._on_close is not None:
            engine._call_user(self._on_close, self, code, reason)
