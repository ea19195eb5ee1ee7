"""One WebSocket connection with websocket-client: TLS, handshake, framing hooks, error names.

Runs on the session thread (``httpops-ws-<id>``). This is the only module
that imports ``websocket`` (websocket-client), and :func:`translate` is the
one place its exceptions -- and the ``OSError``/``ssl`` ones under them --
become httpops :class:`~httpops.OperationError` values, most specific
first, so messages keep the stable phrases (``resolve error``,
``connection error``, ``timeout``).

websocket-client is used for the protocol only: the handshake, frame
parsing (``WebSocket.recv_frame``) and framing of what we send. Its
``WebSocketApp`` callback model is not used.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import websocket
from websocket import ABNF

from ._errors import (
    BodyTooLarge,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    HTTPStatusError,
    OperationError,
    ReadTimeout,
    ResolveError,
    TLSError,
    TransportError,
)

__all__ = [
    "OPCODE_BINARY",
    "OPCODE_CLOSE",
    "OPCODE_CONT",
    "OPCODE_PING",
    "OPCODE_PONG",
    "OPCODE_TEXT",
    "AbortableWebSocket",
    "ProtocolFault",
    "close_payload",
    "frame_bytes",
    "is_direct_capable",
    "new_socket",
    "open_socket",
    "parse_close",
    "translate",
    "write_nowait",
]

log = logging.getLogger("httpops")

OPCODE_CONT = ABNF.OPCODE_CONT
OPCODE_TEXT = ABNF.OPCODE_TEXT
OPCODE_BINARY = ABNF.OPCODE_BINARY
OPCODE_CLOSE = ABNF.OPCODE_CLOSE
OPCODE_PING = ABNF.OPCODE_PING
OPCODE_PONG = ABNF.OPCODE_PONG

#: Bytes asked of the socket per read. websocket-client asks for exactly the
#: bytes of the next frame part (2 for a header, then the payload): two
#: syscalls per small message. Reading ahead and letting its frame buffer keep
#: the surplus (it does: ``frame_buffer.recv_strict`` stores what is over)
#: cuts that to one syscall per ~40 small messages. Larger reads cost more in
#: the buffer's re-joins than they save.
_READ_AHEAD = 4096


#: ``send()`` flag for one non-blocking write on a blocking socket (Linux, BSD, macOS).
_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)


class ProtocolFault(Exception):
    """The peer broke the protocol; ``code`` is the close code to send (1002/1007/1009)."""

    def __init__(self, code: int, error: OperationError) -> None:
        super().__init__(str(error))
        self.code = code
        self.error = error


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """The client TLS context for the engine's ``verify`` setting."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    try:  # the same trust store requests uses, when available
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class AbortableWebSocket(websocket.WebSocket):
    """websocket-client's socket, abortable from another thread even mid-connect.

    ``WebSocket.connect`` assigns ``self.sock`` once the TCP (and TLS)
    connection exists and then blocks in the handshake. Watching that
    assignment lets :meth:`abort` shut the socket down at once, whether it
    came before or after: no handshake outlives a close or cancel by more
    than the TCP connect itself (which cannot be interrupted).
    """

    _abort_requested = False
    _sock: socket.socket | None = None

    @property
    def sock(self) -> socket.socket | None:
        return self._sock

    @sock.setter
    def sock(self, value: socket.socket | None) -> None:
        self._sock = value
        if value is not None and self._abort_requested:
            _shutdown(value)

    def abort(self) -> None:
        """Shut the socket down now (or as soon as it exists); any thread."""
        self._abort_requested = True
        sock = self._sock
        if sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed, or not connected yet


def new_socket(url: str, verify: bool | str) -> AbortableWebSocket:
    """An unconnected websocket-client socket for ``url`` (TLS context for wss://)."""
    sslopt = {"context": _ssl_context(verify)} if url.lower().startswith("wss:") else None
    # Our own (faster, C) UTF-8 check replaces its pure-Python one; see the session.
    return AbortableWebSocket(sslopt=sslopt, skip_utf8_validation=True, enable_multithread=True)


def open_socket(
    ws: websocket.WebSocket,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str],
    subprotocols: Sequence[str] | None,
) -> None:
    """Connect and handshake ``ws`` (blocking, bounded by ``timeout``), then tune it.

    Raises:
        Exception: websocket-client's or the socket's; see :func:`translate`.
    """
    options: dict[str, Any] = {"timeout": timeout, "header": dict(headers)}
    if subprotocols:
        options["subprotocols"] = list(subprotocols)
    ws.connect(url, **options)  # type: ignore[no-untyped-call]
    # From here the reader blocks in recv until data, an abort, or shutdown;
    # liveness is the ping timer's job, not a socket timeout's.
    ws.settimeout(None)
    _install_frame_hooks(ws)


def _install_frame_hooks(ws: websocket.WebSocket) -> None:
    """Read ahead (frame sizes are checked by :func:`httpops._ws_frames.read_frame`)."""
    buffer = ws.frame_buffer
    # Its own _recv handles a closed socket and maps errors to its exceptions.
    raw_recv: Callable[[int], bytes] = ws._recv

    def read_ahead(wanted: int) -> bytes:
        return raw_recv(wanted if wanted > _READ_AHEAD else _READ_AHEAD)

    buffer.recv = read_ahead


def too_large(url: str, size: int, limit: int) -> BodyTooLarge:
    """The error for a message over ``ws_max_message_bytes``."""
    return BodyTooLarge("WS", url, f"message of {size} bytes exceeds the limit of {limit}")


def frame_bytes(opcode: int, payload: bytes) -> bytes:
    """One masked client frame, as websocket-client builds it."""
    data: bytes = ABNF.create_frame(payload, opcode).format()
    return data


def is_direct_capable(ws: websocket.WebSocket) -> bool:
    """Whether :func:`write_nowait` works on this connection (plain TCP with MSG_DONTWAIT)."""
    sock = ws.sock
    return bool(_DONTWAIT) and sock is not None and not isinstance(sock, ssl.SSLSocket)


def write_nowait(ws: websocket.WebSocket, data: bytes) -> int:
    """Write what the kernel accepts right now, never waiting; bytes written (may be 0).

    Raises:
        OSError: The connection is broken.
    """
    sock = ws.sock
    if sock is None:
        raise OSError("socket is closed")
    try:
        return sock.send(data, _DONTWAIT)
    except BlockingIOError:
        return 0


def parse_close(data: bytes) -> tuple[int, str]:
    """Code and reason of a close frame's payload (1005 when it carries none)."""
    if len(data) < 2:
        return 1005, ""
    code = struct.unpack("!H", data[:2])[0]
    return code, data[2:].decode("utf-8", "replace")


def close_payload(code: int, reason: str) -> bytes:
    """The payload of a close frame we send."""
    return struct.pack("!H", code) + reason.encode("utf-8")


def translate(exc: BaseException, url: str, *, handshake: bool, timeout: float) -> OperationError:
    """Name a failure of the connection ``url``; ``handshake`` says which phase it was in."""
    if isinstance(exc, OperationError):
        return exc
    if isinstance(exc, ProtocolFault):
        return exc.error
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return HTTPStatusError("WS", url, exc.status_code)
    if isinstance(exc, (websocket.WebSocketAddressException, socket.gaierror)):
        return ResolveError("WS", url, f"cannot resolve host: {detail}")
    if isinstance(exc, (websocket.WebSocketTimeoutException, TimeoutError, socket.timeout)):
        if handshake:
            return ConnectTimeout("WS", url, f"no connection or handshake within {timeout:g}s")
        return ReadTimeout("WS", url, detail)
    if isinstance(exc, ssl.SSLError):
        return TLSError("WS", url, f"TLS failure: {detail}")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError("WS", url, "connection refused")
    if isinstance(exc, (websocket.WebSocketConnectionClosedException, ConnectionError, EOFError)):
        what = "during the handshake" if handshake else "without a close frame"
        return ConnectionDropped("WS", url, f"connection closed {what}")
    if isinstance(exc, (websocket.WebSocketProtocolException, websocket.WebSocketPayloadException)):
        return TransportError("WS", url, f"protocol error: {detail}")
    if isinstance(exc, websocket.WebSocketException):
        what = "handshake failed" if handshake else "protocol error"
        return ConnectError("WS", url, f"{what}: {detail}")
    if isinstance(exc, OSError):
        return ConnectError("WS", url, exc.strerror or detail)
    return OperationError("WS", url, f"internal error: {exc!r}")
