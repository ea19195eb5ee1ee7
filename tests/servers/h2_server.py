"""A small HTTP/2 server over TLS (ALPN "h2") for the curl transport's HTTP/2 test.

Built on :class:`RawTCPServer`: each connection is wrapped in TLS and driven by
the ``h2`` state machine. Every request gets a small JSON body naming its
stream. It counts connections and streams, so a test can see multiplexing.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.events

from .raw import RawTCPServer

__all__ = ["H2Server"]


class H2Server(RawTCPServer):
    """HTTP/2 over TLS on 127.0.0.1; ``base_url`` is https://."""

    def __init__(self, context: ssl.SSLContext) -> None:
        context.set_alpn_protocols(["h2"])
        self._context = context
        # Guards connections and streams (handlers run on one thread per connection).
        self._count_lock = threading.Lock()
        self.connections = 0
        self.streams = 0
        super().__init__(self._serve)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket, stop: threading.Event) -> None:
        # The SSLSocket takes over the connection's descriptor: it must be closed.
        with self._context.wrap_socket(conn, server_side=True) as tls:
            if tls.selected_alpn_protocol() == "h2":
                self._speak_h2(tls, stop)

    def _speak_h2(self, tls: ssl.SSLSocket, stop: threading.Event) -> None:
        with self._count_lock:
            self.connections += 1
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        tls.sendall(h2conn.data_to_send())
        # stop() cannot shut a descriptor the SSLSocket took over: look at it often.
        tls.settimeout(0.1)
        while not stop.is_set():
            try:
                data = tls.recv(65535)
            except TimeoutError:
                continue
            if not data:
                return
            for event in h2conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self._answer(h2conn, event.stream_id)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    tls.sendall(h2conn.data_to_send())
                    return
            tls.sendall(h2conn.data_to_send())

    def _answer(self, h2conn: h2.connection.H2Connection, stream_id: int) -> None:
        with self._count_lock:
            self.streams += 1
        body = json.dumps({"stream": stream_id}).encode()
        headers = [
            (":status", "200"),
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
        ]
        h2conn.send_headers(stream_id, headers)
        h2conn.send_data(stream_id, body, end_stream=True)
