"""The HTTP test app plus the routes the OTCv8-fidelity tests need.

- ``/goto?status=N[&to=URL]``: status ``N`` with ``Location: URL`` (none
  without ``to``), so a test can redirect anywhere, http -> https included.
- ``/longpoll``: answers only when the test calls :meth:`OTCv8Server.release`
  (or the server stops; at most 30 s), like a bot's long-poll.
- ``/nolength/<n>[?pieces=N&gap=S]``: ``n`` bytes with no ``Content-Length``
  (the connection closes to end the body), in ``N`` writes ``S`` seconds apart.
"""

from __future__ import annotations

import ssl
import threading

from tests.servers.http_app import AppHandler
from tests.servers.http_server import HTTPTestServer

__all__ = ["OTCv8Server"]

LONG_POLL_MAX = 30.0


class _Handler(AppHandler):
    release: threading.Event

    def _route(self, path: str) -> None:
        if path == "/goto":
            to = self.query.get("to")
            headers = [] if to is None else [("Location", to)]
            self._send(self._int("status", 302), b"moved", headers=headers)
        elif path == "/longpoll":
            waited = self.release.wait(LONG_POLL_MAX) or self.state.stopping.is_set()
            self._send(200, b"polled" if waited else b"timeout")
        elif path.startswith("/nolength/"):
            size = int(path.rsplit("/", 1)[1])
            self.close_connection = True
            self._start(200, "application/octet-stream", None, [("Connection", "close")])
            pieces = max(1, self._int("pieces", 1))
            for i in range(pieces):  # ?pieces=N&gap=S: N writes, S seconds apart
                if i and not self._wait(self._float("gap", 0.0)):
                    return
                self._write_range(size * i // pieces, size * (i + 1) // pieces)
                self.wfile.flush()
        else:
            super()._route(path)


class OTCv8Server(HTTPTestServer):
    """:class:`HTTPTestServer` with the routes above."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__(tls_context)
        self._release = threading.Event()
        self.handler_class = type("OTCv8Handler", (_Handler,), {"release": self._release})

    def release(self) -> None:
        """Answer every pending and future ``/longpoll``."""
        self._release.set()

    def stop(self) -> None:
        self._release.set()  # long-polls end before the connection threads are joined
        super().stop()
