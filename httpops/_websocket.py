"""WebSockets: ``Engine.websocket`` validates, registers and starts a session.

The pieces, by thread:

* caller's thread -- :func:`open_websocket` (here): checks every argument,
  registers the operation, starts the session, returns the
  :class:`~httpops._ws_handle.WebSocket` handle at once.
* session threads -- :mod:`httpops._ws_session` (connect, read, write,
  ping, reconnect) over :mod:`httpops._ws_connect` (websocket-client).
* polling thread -- the handle's ``_dispatch_*`` methods, reached through
  the handlers this module teaches ``poll()``.

Callbacks, all on the polling thread: ``on_open(ws, reconnected)``,
``on_message(ws, message)``, ``on_error(ws, error)``, ``on_close(ws, code,
reason)``; global listeners ``on_ws_open/on_ws_message/on_ws_error/
on_ws_close(operation_id, message)`` where the message is the URL, the
message, the error text, and ``"<code>"`` or ``"<code>: <reason>"``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._config import DEFAULT, Default
from ._errors import EngineClosed, InvalidArgument
from ._validation import _TOKEN, check_callback, check_headers, check_timeout, check_url
from ._ws_events import WsError, WsMessage, WsOpen
from ._ws_handle import WebSocket
from ._ws_policy import Reconnect
from ._ws_session import Session

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Reconnect", "WebSocket", "open_websocket"]

# Guards _taught: engines whose poll() already knows the WebSocket events.
_taught_lock = threading.Lock()
_taught: weakref.WeakSet[Engine] = weakref.WeakSet()


def _teach(engine: Engine) -> None:
    """Register the WebSocket event handlers with ``engine`` once."""
    with _taught_lock:
        if engine in _taught:
            return
        engine._add_handler(WsOpen, lambda event: event.handle._dispatch_open(event))
        engine._add_handler(WsMessage, lambda event: event.handle._dispatch_message(event))
        engine._add_handler(WsError, lambda event: event.handle._dispatch_error(event))
        _taught.add(engine)


def _check_subprotocols(subprotocols: object) -> list[str] | None:
    if subprotocols is None:
        return None
    if isinstance(subprotocols, (str, bytes)) or not isinstance(subprotocols, Sequence):
        raise InvalidArgument(f"subprotocols must be a list of str, got {subprotocols!r}")
    for name in subprotocols:
        # An RFC 7230 token: nothing else may reach the handshake's header line (CR/LF
        # would inject headers, a comma would split the offer).
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidArgument(f"subprotocol must be an RFC 7230 token, got {name!r}")
    return list(subprotocols)


def _settings(
    engine: Engine,
    timeout: float | Default,
    ping_interval: float | None | Default,
    ping_timeout: float | Default,
    reconnect: object,
) -> tuple[float, float | None, float]:
    config = engine.config
    seconds = config.websocket_timeout if isinstance(timeout, Default) else timeout
    connect_timeout = check_timeout("timeout", seconds, allow_none=False)
    assert connect_timeout is not None
    interval = config.ws_ping_interval if isinstance(ping_interval, Default) else ping_interval
    interval = check_timeout("ping_interval", interval)
    pong = config.ws_ping_timeout if isinstance(ping_timeout, Default) else ping_timeout
    pong_timeout = check_timeout("ping_timeout", pong, allow_none=False)
    assert pong_timeout is not None
    if reconnect is not None and not isinstance(reconnect, Reconnect):
        raise InvalidArgument(f"reconnect must be a httpops.Reconnect or None, got {reconnect!r}")
    return connect_timeout, interval, pong_timeout


def open_websocket(
    engine: Engine,
    url: str,
    *,
    on_open: Callable[..., Any] | None = None,
    on_message: Callable[..., Any] | None = None,
    on_close: Callable[..., Any] | None = None,
    on_error: Callable[..., Any] | None = None,
    timeout: float | Default = DEFAULT,
    json: bool = False,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    reconnect: Reconnect | None = None,
    ping_interval: float | None | Default = DEFAULT,
    ping_timeout: float | Default = DEFAULT,
    idle_timeout: float | None = None,
) -> WebSocket:
    """Open a WebSocket to ``url``; returns its handle at once.

    Args:
        engine: The engine whose ``poll()`` delivers the events.
        url: ``ws://`` or ``wss://`` URL.
        on_open: ``on_open(ws, reconnected)``; runs again after each reconnect.
        on_message: ``on_message(ws, message)``: str, bytes, or decoded JSON.
        on_close: ``on_close(ws, code, reason)``, exactly once at the end.
        on_error: ``on_error(ws, error)``; a close (or a reconnect) follows.
        timeout: Connect and handshake timeout (default ``websocket_timeout``).
        json: Decode every message as JSON on the session thread.
        headers: Extra handshake headers (they override the engine's).
        subprotocols: Subprotocols to offer.
        reconnect: A :class:`Reconnect` policy; None never reconnects.
        ping_interval: Seconds between pings (None: no pings).
        ping_timeout: Seconds to wait for a pong before the peer is dead.
        idle_timeout: Seconds without a message (a data frame) after which
            the socket fails with a ``timeout`` error and closes (code 1001
            sent); None (the default) waits forever. OTCv8's WebSocket
            ``timeout``.

    Raises:
        InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the call.

    Thread-safety: any thread.
    """
    url = check_url(url, ("ws", "wss"))
    for name, fn in (
        ("on_open", on_open), ("on_message", on_message), ("on_close", on_close),
        ("on_error", on_error),
    ):  # fmt: skip
        check_callback(name, fn)
    if not isinstance(json, bool):
        raise InvalidArgument(f"json must be a bool, got {json!r}")
    connect_timeout, interval, pong_timeout = _settings(
        engine, timeout, ping_interval, ping_timeout, reconnect
    )
    idle = check_timeout("idle_timeout", idle_timeout)
    config = engine.config
    merged = {**config.headers, "User-Agent": config.user_agent, **check_headers(headers)}
    _teach(engine)
    session = Session(
        engine, url, timeout=connect_timeout, json_mode=json, headers=merged,
        subprotocols=_check_subprotocols(subprotocols), reconnect=reconnect,
        ping_interval=interval, ping_timeout=pong_timeout, idle_timeout=idle,
    )  # fmt: skip
    handles: list[WebSocket] = []  # filled before any event can reach the callback
    op = engine._register(
        "websocket", "WS", url, lambda op: handles[0]._dispatch_close(op),
        on_cancel=session.cancel,
    )  # fmt: skip
    handle = WebSocket(engine, op, session, on_open, on_message, on_close, on_error)
    handles.append(handle)
    session.handle = handle
    session.op = op
    try:
        engine._add_resource(session)
    except EngineClosed:
        return handle  # closed meanwhile: close() canceled the operation; its close is queued
    if not engine._mark_running(op):
        engine._remove_resource(session)
        return handle
    session.start(op.id)
    return handle
