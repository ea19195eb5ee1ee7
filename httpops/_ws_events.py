"""WebSocket event types: what a session thread tells the polling thread (pure data).

A session (``httpops-ws-<id>``) describes each thing that happened with one
of these and puts it on the engine's queue; ``poll()`` hands it to the
handle's dispatch method on the polling thread (see :mod:`httpops._websocket`).
The end of a socket is not one of these: it is the operation's
:class:`~httpops._events.Completion`, which is what makes the close event
exactly-once (the engine's claim decides it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._events import Event

if TYPE_CHECKING:
    from ._errors import OperationError
    from ._ws_handle import WebSocket

__all__ = ["WsError", "WsMessage", "WsOpen"]


@dataclass(slots=True, eq=False)
class WsOpen(Event):
    """The handshake succeeded; ``reconnected`` is True after the first time."""

    handle: WebSocket
    reconnected: bool
    subprotocol: str | None


@dataclass(slots=True, eq=False)
class WsMessage(Event):
    """One received message: ``str`` for text, ``bytes`` for binary, decoded JSON in JSON mode.

    ``size`` is its payload's length on the wire, for the byte high-water mark.
    """

    handle: WebSocket
    message: Any
    size: int = 0


@dataclass(slots=True, eq=False)
class WsError(Event):
    """Something went wrong.

    ``reconnecting`` says the session will try again (no close follows yet);
    ``received`` marks an error that stands for a received message (bad
    JSON), which counts toward the backpressure high-water marks (with ``size``
    bytes).
    """

    handle: WebSocket
    error: OperationError
    reconnecting: bool = False
    received: bool = False
    size: int = 0
