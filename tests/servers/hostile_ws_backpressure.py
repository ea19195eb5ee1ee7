"""A normal single-threaded WebSocket peer, for a client that pauses its reader.

:class:`BusyTalker` streams messages to the client and reads what the client
sends only *between* its own sends -- as a simple server with one thread per
connection does. So when the client stops reading (backpressure), the
talker blocks in ``send`` and stops reading too: the client's own writes
then stall, through no fault of the peer. It answers pings and the close
frame. Bounded by ``LIMIT`` seconds and by the server's stop event.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from .hostile_ws import LIMIT, frame, handshake

__all__ = ["BusyTalker"]

_DATA_OPCODES = (0x0, 0x1, 0x2)


class _FrameCounter:
    """Splits the client's masked frames without copying data payloads (only counts them)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.skip = 0  # data payload bytes still to pass over
        self.data_bytes = 0

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """Take ``chunk``; return the complete control frames in it (opcode, unmasked payload)."""
        controls: list[tuple[int, bytes]] = []
        if self.skip:
            taken = min(self.skip, len(chunk))
            self.skip -= taken
            self.data_bytes += taken
            chunk = chunk[taken:]
        self.buffer += chunk
        while True:
            head = self._head()
            if head is None:
                return controls
            opcode, start, length = head
            if opcode in _DATA_OPCODES:
                taken = min(length, len(self.buffer) - start)
                self.data_bytes += taken
                self.skip = length - taken
                del self.buffer[: start + taken]
                if self.skip:
                    return controls
                continue
            if len(self.buffer) - start < length:
                return controls  # a control frame is small: wait for all of it
            mask, body = self.buffer[start - 4 : start], self.buffer[start : start + length]
            controls.append((opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(body))))
            del self.buffer[: start + length]

    def _head(self) -> tuple[int, int, int] | None:
        """(opcode, payload start, payload length) of the frame at the buffer's start."""
        data = self.buffer
        if len(data) < 2:
            return None
        opcode, length, start = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            (length,) = struct.unpack("!H", data[2:4])
            start = 4
        elif length == 127:
            if len(data) < 10:
                return None
            (length,) = struct.unpack("!Q", data[2:10])
            start = 10
        if len(data) < start + 4:
            return None
        return opcode, start + 4, length


class BusyTalker:
    """Handler: stream ``size``-byte messages until the client sent ``expect`` data bytes.

    Then send ``"done"`` and wait for the close handshake. ``blocked`` is set
    once a send made no progress for a while (the client is not reading).

    Args:
        expect: Data payload bytes to receive before saying ``"done"``.
        size: Bytes per message sent.
    """

    def __init__(self, expect: int, size: int = 64 * 1024) -> None:
        self.expect = expect
        self.size = size
        self.blocked = threading.Event()
        self.done = threading.Event()
        self.closed = threading.Event()
        self.pongs = 0
        self._counter = _FrameCounter()

    @property
    def received(self) -> int:
        """Data payload bytes received so far."""
        return self._counter.data_bytes

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        if not handshake(conn):
            return
        # Small buffers on our side, so the client's writes stall soon after we stop reading.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        conn.settimeout(0.1)
        end = time.monotonic() + LIMIT
        seq = 0
        pad = b"." * self.size
        while self.received < self.expect:
            message = f"{seq}".encode() + pad[: self.size - len(str(seq))]
            if not self._send(conn, frame(0x1, message), stop, end) or not self._drain(
                conn, stop, end
            ):
                return
            seq += 1
        self.done.set()
        if self._send(conn, frame(0x1, b"done"), stop, end):
            while not self.closed.is_set() and self._drain(conn, stop, end, wait=True):
                pass

    def _send(self, conn: socket.socket, data: bytes, stop: threading.Event, end: float) -> bool:
        """Send ``data`` whole, blocking (without reading) while the client does not read."""
        view = memoryview(data)
        while view:
            if stop.is_set() or time.monotonic() >= end:
                return False
            try:
                view = view[conn.send(view) :]
            except TimeoutError:
                self.blocked.set()
        return True

    def _drain(
        self, conn: socket.socket, stop: threading.Event, end: float, wait: bool = False
    ) -> bool:
        """Read what the client sent (waiting up to 0.1 s if ``wait``); answer pings and close.

        Returns False once the connection is over (or stop, or the time limit).
        """
        while not stop.is_set() and time.monotonic() < end:
            # A timeout-mode recv polls for up to its timeout first, even with
            # MSG_DONTWAIT: not waiting means non-blocking mode for this read.
            conn.settimeout(0.1 if wait else 0.0)
            try:
                chunk = conn.recv(256 * 1024)
            except (BlockingIOError, TimeoutError):
                return True
            finally:
                conn.settimeout(0.1)
            if not chunk:
                return False
            for opcode, payload in self._counter.feed(chunk):
                if opcode == 0x9:
                    self.pongs += 1
                    if not self._send(conn, frame(0xA, payload), stop, end):
                        return False
                elif opcode == 0x8:
                    self._send(conn, frame(0x8, payload[:2]), stop, end)
                    self.closed.set()
                    return False
            wait = False  # then take whatever else is there at once
        return False
