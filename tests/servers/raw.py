"""Raw TCP server for misbehaving peers: each connection runs a plain socket handler."""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable

from ._base import JOIN_TIMEOUT, LocalServer, join_all

__all__ = [
    "Handler",
    "RawTCPServer",
    "close_immediately",
    "garbage_response",
    "never_answer",
    "read_request_head",
]

Handler = Callable[[socket.socket, threading.Event], None]


def read_request_head(conn: socket.socket, limit: int = 65536) -> bytes:
    """Read until the blank line ending an HTTP request head, EOF, or ``limit`` bytes."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def never_answer(conn: socket.socket, stop: threading.Event) -> None:
    """Read whatever comes and never reply; returns when the peer or stop() closes it."""
    while not stop.is_set() and conn.recv(65536):
        pass


def garbage_response(conn: socket.socket, stop: threading.Event) -> None:
    """Answer the request with bytes that are not HTTP, then close."""
    # Reading the request first: closing with unread data would send RST and hide the garbage.
    read_request_head(conn)
    conn.sendall(b"not http at all\r\n\r\n")
    conn.shutdown(socket.SHUT_WR)


def close_immediately(conn: socket.socket, stop: threading.Event) -> None:
    """Accept and hang up without reading or writing anything."""
    conn.close()


class RawTCPServer(LocalServer):
    """Listens on an ephemeral 127.0.0.1 port and runs ``handler(conn, stop)`` per connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop_event = threading.Event()
        self.errors: list[BaseException] = []  # non-OSError handler exceptions
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._accepted = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> RawTCPServer:
        if self._listener is not None:
            raise RuntimeError("server already started")
        self.stop_event.clear()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        # A socketpair wakes the accept loop at once on stop(), no polling interval to wait out.
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"raw-test-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection, join every thread."""
        if self._listener is None or self._thread is None:
            return
        self.stop_event.set()
        assert self._wake_w is not None and self._wake_r is not None
        self._wake_w.send(b"x")
        self._thread.join(JOIN_TIMEOUT)
        leftovers = [self._thread.name] if self._thread.is_alive() else []
        with self._lock:
            for conn in self._connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # wakes handlers blocked in recv()
                except OSError:
                    pass
            threads = list(self._threads)
        leftovers += join_all(threads)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._listener = self._wake_r = self._wake_w = self._thread = None
        if leftovers:
            raise RuntimeError(f"RawTCPServer threads did not stop: {leftovers}")

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("server not started")
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._accepted

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` connections were accepted; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._accepted >= count, timeout)

    # -- internals --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake_r is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.stop_event.is_set():
                ready = [key.fileobj for key, _ in selector.select()]
                if self._wake_r in ready:
                    return
                try:
                    conn, _addr = self._listener.accept()
                except OSError:
                    continue
                thread = threading.Thread(
                    target=self._run, args=(conn,), name="raw-test-conn", daemon=True
                )
                with self._changed:
                    self._connections.add(conn)
                    # Dead threads only: a thread still finishing must stay for stop() to join.
                    self._threads = {t for t in self._threads if t.is_alive()}
                    self._threads.add(thread)
                    self._accepted += 1
                    self._changed.notify_all()
                thread.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self.stop_event)
        except OSError:
            pass  # the peer or stop() closed the socket under the handler
        except Exception as exc:  # a bug in a handler must not become a thread excepthook error
            with self._lock:
                self.errors.append(exc)
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()
