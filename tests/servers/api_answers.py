"""A REST-style API on 127.0.0.1 that answers errors with useful JSON bodies, and redirects.

Routes:

* ``/problem/<code>``: status ``<code>`` with ``{"error": ..., "status": <code>}``.
* ``/hop/<n>?end=<code>``: ``302`` to ``/hop/<n-1>``; at 0, ``/problem/<code>``'s
  answer (default 200).
* ``/page/<code>``: status ``<code>`` with an HTML (not JSON) body.

HTTP/1.0 (one request per connection), so ``stop()`` leaves no thread behind.
"""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._base import JOIN_TIMEOUT, LocalServer

__all__ = ["APIAnswersServer"]

_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 409: "Conflict", 422: "Unprocessable"}


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest output shows only failures."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        query = parse_qs(url.query)
        if len(parts) == 2 and parts[0] == "problem":
            self._problem(int(parts[1]))
        elif len(parts) == 2 and parts[0] == "hop":
            hops = int(parts[1])
            if hops > 0:
                self._send(302, b"", "text/plain", (("Location", f"/hop/{hops - 1}?{url.query}"),))
            else:
                self._problem(int(query.get("end", ["200"])[0]))
        elif len(parts) == 2 and parts[0] == "page":
            self._send(int(parts[1]), b"<html><body>nope</body></html>", "text/html")
        else:
            self._problem(404)

    do_POST = do_GET

    def _problem(self, code: int) -> None:
        body = json.dumps({"error": _REASONS.get(code, "?"), "status": code}).encode()
        self._send(code, body, "application/json")

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(code, _REASONS.get(code))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup of the host name
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class APIAnswersServer(LocalServer):
    """The API above on an ephemeral port; use as a context manager."""

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> APIAnswersServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"api-answers-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()  # joins the connection threads (block_on_close)
        thread.join(JOIN_TIMEOUT)
        self._server = self._thread = None
        if thread.is_alive():
            raise RuntimeError("APIAnswersServer thread did not stop")

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "http"
