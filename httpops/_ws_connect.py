"""One WebSocket connection with websocket-client: TLS, handshake, framing hooks, error names.

Runs on the session thread (``httpops-ws-<id>``). This is the only module
that imports ``websocket`` (websocket-client), and :func:`translate` is the
one place its exceptions -- and the ``OSError``/``ssl`` ones under them --
become httpops :class:`~httpops.OperationError` values, most specific
first, so messages keep the stable phrases (``resolve error``,
``connection error``, ``timeout``).

websocket-client is used for the protocol only: the handshake (bounded by
:mod:`httpops._ws_opening`), its frame buffer (read by
:mod:`httpops._ws_frames`) and framing what we send. Its ``WebSocketApp``
callback model is not used.

Once open, the socket runs in timeout mode with a short :data:`TICK`: no
read or write blocks longer than that without coming back to us. The reader
uses each tick to check the idle timeout; the writer writes frames itself
(:func:`write_all`) and uses each tick without progress to judge a peer
that stopped reading -- a ``sendall`` blocked for good would also have
blocked the dead-peer judge. Works the same over TLS, where a kernel-level
send timeout would not (``ssl`` retries a blocking socket's write forever).
Over TLS the open socket is a :class:`~httpops._ws_tls.TLSDuplex`, so that
the reader and the writer never use OpenSSL at the same time.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import websocket
from websocket import ABNF
from websocket._socket import recv as socket_recv

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
from ._ws_opening import Opening
from ._ws_tls import TLSDuplex, hang_up

__all__ = [
    "OPCODE_BINARY",
    "OPCODE_CLOSE",
    "OPCODE_CONT",
    "OPCODE_PING",
    "OPCODE_PONG",
    "OPCODE_TEXT",
    "TICK",
    "AbortableWebSocket",
    "ProtocolFault",
    "close_payload",
    "frame_bytes",
    "install_read_hook",
    "is_direct_capable",
    "new_socket",
    "open_socket",
    "parse_close",
    "translate",
    "write_all",
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

#: Seconds an open connection's reads and writes wait before they come back to
#: check their clocks (idle timeout, a peer that stopped reading).
TICK = 0.25


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
    #: Set once a TLS connection is open: reads and writes go through it.
    _duplex: TLSDuplex | None = None
    #: Set while the opening handshake runs: reads and writes go through it.
    opening: Opening | None = None

    @property
    def sock(self) -> socket.socket | None:
        opening = self.opening
        if opening is not None and self._sock is not None:
            opening.attach(self._sock)
            return cast(socket.socket, opening)
        duplex = self._duplex
        if duplex is not None and self._sock is not None:
            return cast(socket.socket, duplex)
        return self._sock

    @sock.setter
    def sock(self, value: socket.socket | None) -> None:
        self._sock = value
        if value is None:
            self._duplex = None
        elif self._abort_requested:
            hang_up(value)

    def abort(self) -> None:
        """Shut the socket down now (or as soon as it exists); any thread."""
        self._abort_requested = True
        sock = self._sock
        if sock is not None:
            hang_up(sock)

    def go_duplex(self) -> None:
        """Once open: over TLS, route reads and writes through a :class:`TLSDuplex`.

        Thread-safety: the session thread, before the writer starts.
        """
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket):
            self._duplex = TLSDuplex(sock, TICK)


def new_socket(url: str, verify: bool | str) -> AbortableWebSocket:
    """An unconnected websocket-client socket for ``url`` (TLS context for wss://)."""
    sslopt = {"context": _ssl_context(verify)} if url.lower().startswith("wss:") else None
    # Our own (faster, C) UTF-8 check replaces its pure-Python one; see the session.
    return AbortableWebSocket(sslopt=sslopt, skip_utf8_validation=True, enable_multithread=True)


def open_socket(
    ws: AbortableWebSocket,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str],
    subprotocols: Sequence[str] | None,
    proxy: Mapping[str, Any],
) -> None:
    """Connect and handshake ``ws`` within ``timeout`` in all, then set it to :data:`TICK`.

    Args:
        proxy: Explicit proxy options (:func:`httpops._ws_opening.proxy_options`).

    Raises:
        Exception: websocket-client's or the socket's; see :func:`translate`.
    """
    options: dict[str, Any] = {"timeout": timeout, "header": dict(headers), **proxy}
    if subprotocols:
        options["subprotocols"] = list(subprotocols)
    ws.opening = Opening(url, time.monotonic() + timeout)
    try:
        ws.connect(url, **options)  # type: ignore[no-untyped-call]
    finally:
        ws.opening = None
    ws.go_duplex()
    ws.settimeout(TICK)


def install_read_hook(ws: websocket.WebSocket, tick: Callable[[], None]) -> None:
    """Read ahead, and call ``tick`` after every read and every :data:`TICK` without data.

    ``tick`` may raise (the idle timeout does) to end the connection.
    """
    buffer = ws.frame_buffer

    def raw_recv(size: int) -> bytes:
        # Not ws._recv: at the end of the stream that *closes* the socket, on this
        # thread, under a writer (or a direct send) that may still be using it --
        # and the freed descriptor number goes to the next socket opened. The
        # session closes it (ws.shutdown) once nobody else can touch it.
        sock = ws.sock
        if sock is None:
            raise websocket.WebSocketConnectionClosedException("socket is closed")
        data: bytes = socket_recv(sock, size)  # maps timeouts and EOF to its exceptions
        return data

    def read_ahead(wanted: int) -> bytes:
        size = wanted if wanted > _READ_AHEAD else _READ_AHEAD
        while True:
            try:
                data = raw_recv(size)
            except websocket.WebSocketTimeoutException:
                tick()  # nothing for TICK seconds: the clocks still run
                continue
            tick()
            return data

    buffer.recv = read_ahead


def write_all(ws: websocket.WebSocket, data: bytes, stalled: Callable[[float], None]) -> None:
    """Write ``data`` whole (the caller holds ``ws.lock``).

    Args:
        stalled: Called with the seconds since the last byte went out each
            time a :data:`TICK` passes without one; it raises to give up.

    Raises:
        OSError: The connection is broken (or was aborted).
    """
    sock = ws.sock
    if sock is None:
        raise ConnectionResetError("socket is closed")
    view = memoryview(data)
    since = time.monotonic()
    while view:
        try:
            sent = sock.send(view)
        except (TimeoutError, ssl.SSLWantWriteError, BlockingIOError):
            stalled(time.monotonic() - since)
            continue
        view = view[sent:]
        since = time.monotonic()


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
    return (
        bool(_DONTWAIT)
        and hasattr(select, "poll")
        and sock is not None
        and not isinstance(sock, (ssl.SSLSocket, TLSDuplex))
    )


def write_nowait(ws: websocket.WebSocket, data: bytes) -> int:
    """Write what the kernel accepts right now, never waiting; bytes written (may be 0).

    Raises:
        OSError: The connection is broken.
    """
    sock = ws.sock
    if sock is None:
        raise OSError("socket is closed")
    # In timeout mode send() first waits up to TICK for room: ask the kernel first.
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    if not poller.poll(0):
        return 0
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
