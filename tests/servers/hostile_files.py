"""A file server that misbehaves on purpose, for the hostile-download tests.

:class:`HostileFileServer` runs on :class:`~tests.servers.raw.RawTCPServer`
(one thread per connection, every response ``Connection: close``) and
answers by path:

* ``/paused/<name>`` -- a file whose body stops halfway until the test calls
  :meth:`HostileFileServer.release` (the test swaps files meanwhile; it
  waits on :meth:`wait_paused`, never on a sleep).
* ``/overrun`` -- a resumable file: the first request (no ``Range``) drops
  after half the body, so a temporary file is kept; a ranged request is
  answered ``206`` with a correct ``Content-Range`` but 100 KB more bytes
  than it declares, close-delimited (no ``Content-Length`` to stop at).
* ``/gzip-bomb`` -- ``Content-Encoding: gzip`` although ``identity`` was
  asked: 64 MiB of zeros in about 64 KB on the wire.
* ``/private.png`` -- an image that depends on the caller: ``Authorization``
  or ``Cookie`` select a per-user PNG, anonymous callers get the public one.
  Every request and its credentials are recorded.

Every request is recorded (:attr:`requests`: path and lower-case headers)
and counted per path (:meth:`count`).
"""

from __future__ import annotations

import functools
import gzip
import select
import socket
import threading
import zlib

from tests.servers.raw import RawTCPServer, read_request_head

__all__ = ["BOMB_DECODED", "HostileFileServer", "png_for"]

#: How many bytes the gzip bomb inflates to.
BOMB_DECODED = 64 * 1024 * 1024
#: Bytes the overrunning 206 sends past the end it declares.
OVERRUN_EXTRA = 100 * 1024
_WAIT_SLICE = 0.05


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    """The gzip bomb's wire bytes (compressed once per test session)."""
    return gzip.compress(b"\0" * BOMB_DECODED, compresslevel=9)


def png_for(user: str) -> bytes:
    """A small, valid-looking PNG whose bytes name ``user`` (distinct per user)."""
    payload = user.encode("utf-8")
    chunk = len(payload).to_bytes(4, "big") + b"tEXt" + payload
    chunk += (zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF).to_bytes(4, "big")
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HostileFileServer:
    """The server (see the module docstring); a context manager like the others.

    Args:
        file_size: Size of the ``/paused`` and ``/overrun`` files.
    """

    def __init__(self, file_size: int = 256 * 1024) -> None:
        # Starts like a PNG, so the same file serves the image cache's tests.
        pattern = bytes((i * 7 + 3) % 251 for i in range(file_size))
        self.body = (b"\x89PNG\r\n\x1a\n" + pattern)[:file_size]
        self.bomb = _bomb()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._released = threading.Event()
        self._raw = RawTCPServer(self._handle)

    # -- lifecycle and test controls ------------------------------------------------------

    def start(self) -> HostileFileServer:
        self._raw.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._raw.stop()
        if self._raw.errors:
            raise AssertionError(f"hostile file server errors: {self._raw.errors}")

    def __enter__(self) -> HostileFileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self._raw.url(path)

    def wait_paused(self, timeout: float = 5.0) -> bool:
        """Wait until a ``/paused`` body has sent its first half and stopped."""
        return self._paused.wait(timeout)

    def release(self) -> None:
        """Let a paused body send its second half."""
        self._released.set()

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [h for p, h in self.requests if p == path]

    # -- serving --------------------------------------------------------------------------

    def _handle(self, conn: socket.socket, stop: threading.Event) -> None:
        head = read_request_head(conn)
        if b"\r\n\r\n" not in head:
            return
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        with self._lock:
            self.requests.append((path, headers))
        if path.startswith("/paused/"):
            self._paused_body(conn, stop)
        elif path == "/overrun":
            self._overrun(conn, headers)
        elif path == "/gzip-bomb":
            headers_out = [("Content-Encoding", "gzip"), ("Content-Length", str(len(self.bomb)))]
            conn.sendall(_head("200 OK", headers_out) + self.bomb)
        elif path == "/private.png":
            self._private_image(conn, headers)
        else:
            conn.sendall(_head("404 Not Found", [("Content-Length", "0")]))

    def _paused_body(self, conn: socket.socket, stop: threading.Event) -> None:
        half = len(self.body) // 2
        headers = [("Content-Length", str(len(self.body))), ("ETag", '"paused-1"')]
        conn.sendall(_head("200 OK", headers) + self.body[:half])
        self._paused.set()
        while not self._released.wait(_WAIT_SLICE):
            if stop.is_set() or select.select([conn], [], [], 0)[0]:
                return  # the client gave up (or the server stops): nothing more to send
        conn.sendall(self.body[half:])

    def _overrun(self, conn: socket.socket, headers: dict[str, str]) -> None:
        size = len(self.body)
        ranged = headers.get("range", "")
        if not ranged.startswith("bytes="):
            out = [("Content-Length", str(size)), ("ETag", '"overrun-1"')]
            conn.sendall(_head("200 OK", out) + self.body[: size // 2])
            return  # the close leaves the body short: the client keeps what it got
        first = int(ranged[len("bytes=") :].split("-")[0])
        out = [("Content-Range", f"bytes {first}-{size - 1}/{size}"), ("ETag", '"overrun-1"')]
        conn.sendall(_head("206 Partial Content", out))
        conn.sendall(self.body[first:] + b"X" * OVERRUN_EXTRA)

    def _private_image(self, conn: socket.socket, headers: dict[str, str]) -> None:
        user = headers.get("authorization") or headers.get("cookie") or "anonymous"
        body = png_for(user)
        out = [
            ("Content-Type", "image/png"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"img-{zlib.crc32(body):08x}"'),
        ]
        conn.sendall(_head("200 OK", out) + body)
