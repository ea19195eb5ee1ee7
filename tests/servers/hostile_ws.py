"""Hostile WebSocket peers on raw sockets: what the ``websockets`` package will not do.

Each factory returns a :data:`~tests.servers.raw.Handler` for
:class:`~tests.servers.RawTCPServer`. Every loop here is bounded in count and
in time (``LIMIT`` seconds at most) and stops when the server stops, so a
client that misbehaves too cannot keep a test server thread alive.

A handler that wants to report what the client sent takes a :class:`Record`.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from .raw import Handler, read_request_head

__all__ = [
    "Record",
    "accept_key",
    "close_flood",
    "drip_handshake",
    "drip_relay",
    "endless_fragments",
    "endless_header_lines",
    "fragmented",
    "frame",
    "handshake",
    "invalid_close",
    "parse_client_frames",
    "ping_flood",
    "proxy_recorder",
    "silent",
    "stops_reading",
    "stream",
    "ticking",
]

#: Longest any handler here runs, in seconds.
LIMIT = 15.0
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Record:
    """What a hostile peer saw the client do (appended from the server's thread)."""

    requests: list[bytes] = field(default_factory=list)
    frames: list[tuple[int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def opcodes(self, opcode: int) -> list[bytes]:
        with self.lock:
            return [payload for op, payload in self.frames if op == opcode]


def accept_key(head: bytes) -> str | None:
    """The ``Sec-WebSocket-Accept`` value for a request head; None without a key."""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return base64.b64encode(hashlib.sha1(value.strip() + _GUID).digest()).decode()
    return None


def handshake(conn: socket.socket, record: Record | None = None) -> bool:
    """Read the upgrade request and accept it; False if the client hung up first."""
    head = read_request_head(conn)
    if record is not None:
        with record.lock:
            record.requests.append(head)
    key = accept_key(head)
    if key is None:
        return False
    chosen = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-protocol":
            chosen = b"Sec-WebSocket-Protocol: %s\r\n" % value.split(b",")[0].strip()
    conn.sendall(_response_head(key) + chosen + b"\r\n")
    return True


def _response_head(key: str) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {key}\r\n"
    ).encode()


def frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """One unmasked server frame."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def parse_client_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Masked client frames in ``data`` as (opcode, unmasked payload); and the unparsed rest."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while len(data) - pos >= 2:
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        start = pos + 2
        if length == 126:
            if len(data) - start < 2:
                break
            (length,) = struct.unpack("!H", data[start : start + 2])
            start += 2
        elif length == 127:
            if len(data) - start < 8:
                break
            (length,) = struct.unpack("!Q", data[start : start + 8])
            start += 8
        if len(data) - start < 4 + length:
            break
        mask = data[start : start + 4]
        body = data[start + 4 : start + 4 + length]
        frames.append((opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(body))))
        pos = start + 4 + length
    return frames, data[pos:]


def _read_frames(conn: socket.socket, record: Record, buffer: bytes, wait: float) -> bytes:
    """Read what the client sent within ``wait`` seconds into ``record``; the unparsed rest."""
    conn.settimeout(wait)
    try:
        chunk = conn.recv(65536)
    except (TimeoutError, BlockingIOError):
        return buffer
    if not chunk:
        raise ConnectionResetError("client closed")
    frames, rest = parse_client_frames(buffer + chunk)
    with record.lock:
        record.frames.extend(frames)
    return rest


def _until_close(
    conn: socket.socket, stop: threading.Event, record: Record, seconds: float
) -> None:
    """Record client frames until its close frame, EOF, stop, or ``seconds``."""
    buffer = b""
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        buffer = _read_frames(conn, record, buffer, 0.05)
        if record.opcodes(0x8):
            return


# --- the opening handshake -------------------------------------------------------------------


def drip_handshake(rate: float = 2.0) -> Handler:
    """Accept, then send the 101 response head at ``rate`` bytes per second (never finishing)."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        head = read_request_head(conn)
        key = accept_key(head) or "x"
        for byte in _response_head(key):
            if stop.wait(1.0 / rate):
                return
            conn.sendall(bytes([byte]))

    return handler


def drip_relay(port: int, rate: float = 50.0) -> Handler:
    """Relay to 127.0.0.1:``port``, passing the server's bytes on at ``rate`` bytes/s.

    In front of a TLS server this drips the TLS handshake itself.
    """

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
            forward = threading.Thread(target=_pipe, args=(conn, upstream), daemon=True)
            forward.start()
            upstream.settimeout(0.2)
            end = time.monotonic() + LIMIT
            while not stop.is_set() and time.monotonic() < end:
                try:
                    byte = upstream.recv(1)
                except TimeoutError:
                    continue
                if not byte or stop.wait(1.0 / rate):
                    break
                conn.sendall(byte)
            upstream.shutdown(socket.SHUT_RDWR)
            conn.shutdown(socket.SHUT_RDWR)
            forward.join(5)

    return handler


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until either side closes."""
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass


def endless_header_lines(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, then send header lines as fast as the client reads them (bounded in time)."""
    head = read_request_head(conn)
    conn.sendall(_response_head(accept_key(head) or "x"))
    lines = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"y" * 40) for i in range(200))
    end = time.monotonic() + LIMIT
    conn.settimeout(0.2)
    while not stop.is_set() and time.monotonic() < end:
        try:
            conn.sendall(lines)
        except TimeoutError:
            continue


# --- after the handshake -----------------------------------------------------------------------


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Handshake, then answer nothing (pings neither) and read everything until stop."""
    if handshake(conn):
        while not stop.is_set() and conn.recv(65536):
            pass


def ticking(interval: float, count: int) -> Handler:
    """Handshake, send ``count`` JSON messages ``interval`` seconds apart, then go silent."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn):
            return
        for i in range(count):
            if stop.wait(interval):
                return
            conn.sendall(frame(0x1, b'{"tick": %d}' % i))
        while not stop.is_set() and conn.recv(65536):
            pass

    return handler


def stream(count: int, size: int) -> Handler:
    """Handshake, then send ``count`` binary messages of ``size`` bytes as fast as read."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn):
            return
        message = frame(0x2, b"m" * size)
        for _ in range(count):
            if stop.is_set():
                return
            conn.sendall(message)
        while not stop.is_set() and conn.recv(65536):
            pass

    return handler


def close_flood(record: Record) -> Handler:
    """Handshake, then flood text messages, ignoring the client's close frame (bounded)."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn, record):
            return
        burst = frame(0x1, b"flood") * 2000
        buffer = b""
        end = time.monotonic() + LIMIT
        conn.settimeout(0.05)
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn.sendall(burst)
            except TimeoutError:
                pass
            buffer = _read_frames(conn, record, buffer, 0.0001)

    return handler


def fragmented(parts: list[bytes]) -> Handler:
    """Handshake, send one text message in ``len(parts)`` frames, then a whole one."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn):
            return
        frames = [frame(0x1 if i == 0 else 0x0, part, fin=False) for i, part in enumerate(parts)]
        conn.sendall(b"".join(frames) + frame(0x0, b"") + frame(0x1, b"after"))
        while not stop.is_set() and conn.recv(65536):
            pass

    return handler


def stops_reading(conn: socket.socket, stop: threading.Event) -> None:
    """Handshake, then never read again (so the client's sends block) and never answer."""
    if handshake(conn):
        stop.wait(LIMIT)


def endless_fragments(size: int = 1) -> Handler:
    """Handshake, start a text message, then send ``size``-byte continuations forever."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn):
            return
        conn.sendall(frame(0x1, b"a" * size, fin=False))
        burst = frame(0x0, b"a" * size, fin=False) * 1000
        end = time.monotonic() + LIMIT
        conn.settimeout(0.2)
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn.sendall(burst)
            except TimeoutError:
                continue

    return handler


def ping_flood(record: Record, seconds: float) -> Handler:
    """Handshake, then send pings as fast as the client takes them for ``seconds``;
    record its pongs meanwhile and for a moment after."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn, record):
            return
        burst = frame(0x9, b"p") * 2000
        buffer = b""
        end = time.monotonic() + seconds
        conn.settimeout(0.01)
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn.sendall(burst)
            except TimeoutError:
                pass
            try:
                buffer = _read_frames(conn, record, buffer, 0.001)
            except ConnectionResetError:
                return
        try:
            _until_close(conn, stop, record, 1.0)
        except ConnectionResetError:
            return

    return handler


def invalid_close(payload: bytes, record: Record) -> Handler:
    """Handshake, send a close frame with ``payload``, record the client's answer."""
    return sends(frame(0x8, payload), record)


def sends(data: bytes, record: Record) -> Handler:
    """Handshake, send ``data`` (a frame, well-formed or not), record the client's answer."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn, record):
            return
        conn.sendall(data)
        try:
            _until_close(conn, stop, record, LIMIT)
        except ConnectionResetError:
            return

    return handler


def proxy_recorder(record: Record) -> Handler:
    """A would-be HTTP proxy: record the request head (``CONNECT host:port``), answer 502."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        head = read_request_head(conn)
        with record.lock:
            record.requests.append(head)
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    return handler
