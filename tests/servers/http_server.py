"""Threaded HTTP/1.1 test server on 127.0.0.1 with a stop() that leaves no thread or socket."""

from __future__ import annotations

import http.server
import socket
import socketserver
import ssl
import sys
import threading
from typing import Any

from tests.servers.content import content_for
from tests.servers.http_app import AppHandler, AppState, RecordedRequest

from ._base import JOIN_TIMEOUT, LocalServer, join_all

__all__ = ["HTTPTestServer", "RecordedRequest", "content_for"]

_TLS_HANDSHAKE_TIMEOUT = 10.0


class _Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its live connections and threads so it can end them."""

    daemon_threads = True
    request_queue_size = 128  # tests open many connections at once; 5 would reset some

    def __init__(
        self, handler: type[AppHandler], state: AppState, tls: ssl.SSLContext | None
    ) -> None:
        self.state = state
        self.tls = tls
        self._lock = threading.Lock()
        self._live_conns: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls getfqdn(), a reverse DNS lookup we neither need nor trust.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Headers and body go out in separate writes; with Nagle on, the body waits for the
        # client's delayed ACK and every keep-alive request costs about 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            # No handshake here: it would block the accept loop; the connection thread does it.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"http-test-conn-{client_address[1]}",
            daemon=True,
        )
        # Registered before start() so stop() can never miss a connection being handed over.
        # Threads leave the set only once dead (not when their work ends), so stop() joins them
        # all; pruning here is safe because every thread already in the set was started.
        with self._lock:
            self._live_conns.add(request)
            self._conn_threads = {t for t in self._conn_threads if t.is_alive()}
            self._conn_threads.add(thread)
        thread.start()

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.state.stopping.is_set():
            return
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(_TLS_HANDSHAKE_TIMEOUT)
            request.do_handshake()
            request.settimeout(None)
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        # Forget it under the lock first, so stop() never shuts down an already-closed socket.
        with self._lock:
            self._live_conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # peers hanging up, TLS failures, our own stop(): all expected in tests
        if exc is not None:
            with self.state.lock:
                self.state.errors.append(exc)
        super().handle_error(request, client_address)

    def end_connections(self) -> list[threading.Thread]:
        """Wake every connection thread (idle keep-alive reads included); return them to join."""
        with self._lock:
            for conn in self._live_conns:
                try:
                    # socket.socket.shutdown on purpose: SSLSocket.shutdown drops its SSL object,
                    # which races with the reader thread.
                    socket.socket.shutdown(conn, socket.SHUT_RDWR)
                except OSError:
                    pass
            return list(self._conn_threads)


class HTTPTestServer(LocalServer):
    """The HTTP test app served on an ephemeral 127.0.0.1 port, plain or TLS."""

    #: The handler class; a subclass of the server may add routes with its own.
    handler_class: type[AppHandler] = AppHandler

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.tls_context = tls_context
        self._state = AppState()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> HTTPTestServer:
        if self._server is not None:
            raise RuntimeError("server already started")
        self._state.stopping.clear()
        handler = type("BoundAppHandler", (self.handler_class,), {"state": self._state})
        self._server = _Server(handler, self._state, self.tls_context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name=f"http-test-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every connection, join every thread, close the listener."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._state.stopping.set()  # interrupts /slow and /drip waits
        server.shutdown()
        thread.join(JOIN_TIMEOUT)
        leftovers = join_all(server.end_connections())
        server.server_close()
        self._server = self._thread = None
        if thread.is_alive() or leftovers:
            raise RuntimeError(f"HTTPTestServer threads did not stop: {leftovers}")

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.tls_context is not None else "http"

    # -- what the server saw ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected (non-OSError) exceptions raised by handlers; should stay empty."""
        with self._state.lock:
            return list(self._state.errors)

    def clear(self) -> None:
        """Forget recorded requests (counters for /flaky and /file are kept)."""
        with self._state.lock:
            self._state.requests.clear()

    def reset_counters(self) -> None:
        """Make /flaky and /file treat the next request of each key as the first one."""
        self._state.reset_counters()

    def hits(self, path: str) -> int:
        """How many recorded requests went to ``path`` (query string ignored)."""
        return sum(1 for request in self.requests if request.route == path)

    def peer_ports(self) -> set[int]:
        """Distinct client ports seen: one per TCP connection, so keep-alive reuse shows up."""
        return {request.peer[1] for request in self.requests}

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests were recorded; False on timeout."""
        with self._state.changed:
            return self._state.changed.wait_for(lambda: len(self._state.requests) >= count, timeout)
