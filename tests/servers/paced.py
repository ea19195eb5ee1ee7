"""A server that paces its bodies at a known rate, and one that holds requests at a gate.

:class:`PacedServer` runs on :class:`~tests.servers.raw.RawTCPServer` (one
thread per connection, ``Connection: close``) and answers by path:

* ``/paced/<rate>/<size>[/<burst>]`` -- ``size`` bytes with a
  ``Content-Length``: ``burst`` bytes (default 0) at once with the head, as
  a throttling server's first write does, then slices every 10 ms so that
  the rest never runs ahead of ``rate`` bytes per second. The server
  records, per request, when the body started and how many bytes it had
  sent (:meth:`PacedServer.sent`), so a test measures the true rate from the
  server's side too.
* ``/fast/<size>`` -- ``size`` bytes as fast as the socket takes them.
* ``/gate/<name>`` -- waits until the test calls :meth:`PacedServer.open_gate`
  (or the server stops), then answers ``name`` as a JSON string (a small
  PNG when ``name`` ends in ``.png``). Every
  request's arrival is recorded in order (:attr:`PacedServer.arrivals`);
  :meth:`PacedServer.wait_arrivals` waits for them on a condition.
* ``/hold/<name>`` -- like ``/gate/``, but waits for :meth:`PacedServer.release`
  of this ``name`` (one request at a time is let go).

Waits use the server's stop event (``Event.wait``), so ``stop()`` ends them at once.
"""

from __future__ import annotations

import socket
import threading
import time

from tests.servers.hostile_files import png_for
from tests.servers.raw import RawTCPServer, read_request_head

__all__ = ["PacedServer", "body_bytes"]

#: Seconds between two slices of a paced body.
SLICE = 0.01


def body_bytes(size: int) -> bytes:
    """The deterministic body of ``size`` bytes every endpoint sends."""
    pattern = bytes(range(256))
    return (pattern * (size // 256 + 1))[:size]


class _Sending:
    """What the server knows of one paced body: when it started, bytes handed over."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.sent = 0
        self.burst = 0


class PacedServer:
    """The server (see the module docstring); a context manager like the others."""

    def __init__(self) -> None:
        # Guards arrivals and _sending; notified when a request arrives.
        self._cond = threading.Condition()
        self.arrivals: list[str] = []
        self._sending: dict[str, list[_Sending]] = {}
        self._gate = threading.Event()
        self._released: set[str] = set()
        self._raw = RawTCPServer(self._handle)

    # -- lifecycle and test controls -----------------------------------------------------

    def start(self) -> PacedServer:
        self._raw.start()
        return self

    def stop(self) -> None:
        self._gate.set()
        self._raw.stop()
        if self._raw.errors:
            raise AssertionError(f"paced server errors: {self._raw.errors}")

    def __enter__(self) -> PacedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self._raw.url(path)

    def open_gate(self) -> None:
        """Let every request held at ``/gate/...`` (now and later) be answered."""
        self._gate.set()

    def release(self, name: str) -> None:
        """Let the request held at ``/hold/<name>`` be answered."""
        with self._cond:
            self._released.add(name)
            self._cond.notify_all()

    def wait_arrivals(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` requests have arrived (any path)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.arrivals) >= count, timeout)

    def sent(self, path: str) -> tuple[float, int] | None:
        """(seconds since the latest body to ``path`` started, bytes paced since), or None.

        The burst sent with the head is not counted: it took no time.
        """
        with self._cond:
            bodies = self._sending.get(path)
            if not bodies:
                return None
            latest = bodies[-1]
            return time.monotonic() - latest.started, latest.sent - latest.burst

    # -- serving -------------------------------------------------------------------------

    def _handle(self, conn: socket.socket, stop: threading.Event) -> None:
        head = read_request_head(conn)
        if b"\r\n\r\n" not in head:
            return
        path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii")
        with self._cond:
            self.arrivals.append(path)
            self._cond.notify_all()
        parts = path.strip("/").split("/")
        if parts[0] == "paced" and len(parts) in (3, 4):
            burst = int(parts[3]) if len(parts) == 4 else 0
            self._paced(conn, stop, path, int(parts[1]), int(parts[2]), burst)
        elif parts[0] == "fast" and len(parts) == 2:
            body = body_bytes(int(parts[1]))
            conn.sendall(_head(len(body)) + body)
        elif parts[0] in ("gate", "hold") and len(parts) == 2:
            if not self._hold(parts[0], parts[1], stop):
                return
            name = parts[1]
            # An image request gets a small PNG (the image cache validates it).
            body = png_for(name[:-4]) if name.endswith(".png") else f'"{name}"'.encode("ascii")
            conn.sendall(_head(len(body)) + body)
        else:
            conn.sendall(
                b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            )

    def _hold(self, kind: str, name: str, stop: threading.Event) -> bool:
        """Wait at the gate (or for this name's release); False if the server stops."""
        while not stop.is_set():
            if kind == "gate" and self._gate.wait(0.05):
                return True
            if kind == "hold":
                with self._cond:
                    if self._cond.wait_for(lambda: name in self._released, 0.05):
                        return True
        return False

    def _paced(
        self,
        conn: socket.socket,
        stop: threading.Event,
        path: str,
        rate: int,
        size: int,
        burst: int,
    ) -> None:
        body = body_bytes(size)
        burst = min(burst, size)
        conn.sendall(_head(size) + body[:burst])
        sending = _Sending()
        sending.sent = sending.burst = burst
        with self._cond:
            self._sending.setdefault(path, []).append(sending)
        while sending.sent < size and not stop.is_set():
            elapsed = time.monotonic() - sending.started
            allowed = min(size, burst + int(rate * elapsed))
            if allowed > sending.sent:
                conn.sendall(body[sending.sent : allowed])
                with self._cond:
                    sending.sent = allowed
            stop.wait(SLICE)


def _head(length: int) -> bytes:
    return (
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("ascii")
