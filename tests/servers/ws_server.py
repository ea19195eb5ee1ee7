"""WebSocket test server (websockets' sync API in a thread) with well-behaved and rude paths."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from ._base import JOIN_TIMEOUT, LocalServer, join_all

__all__ = ["WSTestServer"]

ROUTES = ("/echo", "/json", "/close", "/crash", "/burst", "/noping", "/echo-crash")


def _query(connection: ServerConnection) -> dict[str, str]:
    assert connection.request is not None
    return dict(parse_qsl(urlsplit(connection.request.path).query))


def _echo(connection: ServerConnection) -> None:
    for message in connection:
        connection.send(message)  # str stays a text frame, bytes a binary frame


def _close(connection: ServerConnection) -> None:
    query = _query(connection)
    connection.recv()
    connection.close(int(query.get("code", 1000)), query.get("reason", ""))


def _crash(connection: ServerConnection) -> None:
    connection.recv()
    # Close the TCP socket without a close frame: the client must see an abnormal closure.
    connection.close_socket()


def _echo_crash(connection: ServerConnection) -> None:
    # Echo one message, then drop the TCP connection without a close frame (reconnect tests).
    connection.send(connection.recv())
    connection.close_socket()


def _burst(connection: ServerConnection) -> None:
    query = _query(connection)
    count, size = int(query.get("n", 10)), int(query.get("size", 16))
    for _message in connection:
        for index in range(count):
            # Each message starts with its index so tests can check order (truncated if tiny).
            connection.send(str(index).ljust(size, ".")[:size])


def _noping(connection: ServerConnection) -> None:
    protocol = connection.protocol
    send_frame = protocol.send_frame

    def send_frame_without_pongs(frame: Frame) -> None:
        if frame.opcode is not Opcode.PONG:
            send_frame(frame)

    # websockets answers pings inside the protocol; dropping the pong is the only way to be mute.
    protocol.send_frame = send_frame_without_pongs  # type: ignore[method-assign]
    _echo(connection)


_HANDLERS = {
    "/echo": _echo,
    "/json": _echo,
    "/close": _close,
    "/crash": _crash,
    "/echo-crash": _echo_crash,
    "/burst": _burst,
    "/noping": _noping,
}


class WSTestServer(LocalServer):
    """WebSocket server on an ephemeral 127.0.0.1 port; see ROUTES for the paths."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.tls_context = tls_context
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._paths: list[str] = []
        self._rejected: list[str] = []
        self._connections: list[ServerConnection] = []
        self._handler_threads: list[threading.Thread] = []

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> WSTestServer:
        if self._server is not None:
            raise RuntimeError("server already started")
        tracker = self

        class TrackedConnection(ServerConnection):
            """Registers itself so stop() can join its reader thread, even for failed handshakes."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                with tracker._lock:
                    tracker._connections.append(self)

        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            ssl=self.tls_context,
            process_request=self._process_request,
            create_connection=TrackedConnection,
            ping_interval=None,  # no server-initiated pings: tests control all traffic
            close_timeout=1,
            max_size=64 * 1024 * 1024,
        )
        # shutdown() returns when its handler threads have *removed themselves*, a moment before
        # they end; recording them lets stop() join them for real.
        per_connection = self._server.handler

        def tracked_handler(sock: socket.socket, addr: Any) -> None:
            with self._lock:
                self._handler_threads = [t for t in self._handler_threads if t.is_alive()]
                self._handler_threads.append(threading.current_thread())
            per_connection(sock, addr)

        self._server.handler = tracked_handler
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"ws-test-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and open connections (1001), join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()  # closes the listener, sends 1001 to open connections, waits a bit
        thread.join(JOIN_TIMEOUT)
        with self._lock:
            connections, self._connections = self._connections, []
            handler_threads, self._handler_threads = self._handler_threads, []
        leftovers = [thread.name] if thread.is_alive() else []
        leftovers += join_all(handler_threads)
        # Each connection also has a reader thread that shutdown() does not wait for.
        for connection in connections:
            if not connection.wait_closed(JOIN_TIMEOUT):
                leftovers.append(f"reader of {connection.id}")
        self._server = self._thread = None
        if leftovers:
            raise RuntimeError(f"WSTestServer threads did not stop: {leftovers}")

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.socket.getsockname()[1])

    @property
    def scheme(self) -> str:
        return "wss" if self.tls_context is not None else "ws"

    # -- what the server saw ----------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Handshakes that succeeded so far."""
        with self._lock:
            return len(self._paths)

    @property
    def paths(self) -> list[str]:
        """Request target (with query) of every accepted connection, in order."""
        with self._lock:
            return list(self._paths)

    @property
    def rejected(self) -> list[str]:
        """Request targets answered with HTTP 404 instead of a WebSocket."""
        with self._lock:
            return list(self._rejected)

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` handshakes succeeded; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._paths) >= count, timeout)

    # -- handlers ---------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path in _HANDLERS:
            return None
        with self._lock:
            self._rejected.append(request.path)
        return connection.respond(404, "Not Found\n")  # /reject, and any unknown path

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        with self._changed:
            self._paths.append(connection.request.path)
            self._changed.notify_all()
        try:
            _HANDLERS[urlsplit(connection.request.path).path](connection)
        except ConnectionClosed:
            pass  # the client went away first: not an error for a test server
