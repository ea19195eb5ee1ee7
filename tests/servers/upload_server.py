"""An upload sink on 127.0.0.1: reads request bodies in blocks and spools them to disk.

It never holds a body in memory (so a test can measure the client's memory
with tracemalloc while a few MB go through), and answers with what it got:
method, length, SHA-256, Content-Type and the request headers. The last
body is kept on disk for the test to parse (a multipart form, say).

Routes (any method):
  ``/sink``                 spool the body, answer 200 with the JSON summary.
  ``/redirect307``          drain the body, answer 307 to ``/sink``.
  ``/flaky/<key>/<n>``      spool, then answer 503 the first ``n`` times per key.
  ``/slow-read``            read the body slowly (1 KiB every 20 ms) -- for cancel tests.
  ``/redirect-to?url=U[&cookie=C]``  302 to ``U`` (setting cookie ``C`` if given).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socketserver
import threading
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._base import JOIN_TIMEOUT, LocalServer

__all__ = ["UploadServer"]

_BLOCK = 64 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection cannot hold stop() for long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        try:
            self._dispatch()
        except OSError:
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _spool(self, delay: float = 0.0, block: int = _BLOCK) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        digest = hashlib.sha256()
        left = length
        path = self.server.spool_dir / f"body-{threading.get_ident()}"
        with open(path, "wb") as out:
            while left > 0:
                data = self.rfile.read(min(block, left))
                if not data:
                    break
                digest.update(data)
                out.write(data)
                left -= len(data)
                if delay and self.server.stopping.wait(delay):
                    break
        os.replace(path, self.server.spool_dir / "last-body")
        return {
            "method": self.command,
            "path": self.path,
            "length": length - left,
            "sha256": digest.hexdigest(),
            "content_type": self.headers.get("Content-Type"),
            "headers": dict(self.headers.items()),
        }

    def _answer(self, status: int, obj: object, headers: tuple[tuple[str, str], ...] = ()) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        slow = parts == ["slow-read"]
        summary = self._spool(delay=0.02, block=1024) if slow else self._spool()
        with self.server.lock:
            self.server.summaries.append(summary)
        query = dict(parse_qsl(urlsplit(self.path).query))
        if parts == ["redirect-to"]:
            headers = [("Location", query["url"])]
            if "cookie" in query:
                headers.append(("Set-Cookie", query["cookie"] + "; Path=/"))
            self._answer(302, summary, tuple(headers))
        elif parts == ["redirect307"]:
            self._answer(307, summary, (("Location", "/sink"),))
        elif parts[0] == "flaky" and len(parts) == 3:
            with self.server.lock:
                self.server.counts[parts[1]] += 1
                count = self.server.counts[parts[1]]
            self._answer(503 if count <= int(parts[2]) else 200, summary)
        else:
            self._answer(200, summary)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self.lock = threading.Lock()
        self.summaries: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class UploadServer(LocalServer):
    """The upload sink; ``last_body()`` is the most recent body, from its spool file."""

    def __init__(self, spool_dir: Path) -> None:
        self._server = _Server(spool_dir)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="upload-server"
        )

    def start(self) -> UploadServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()  # joins the connection threads (block_on_close)
        self._thread.join(JOIN_TIMEOUT)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def summaries(self) -> list[dict[str, Any]]:
        """What each request sent, in order."""
        with self._server.lock:
            return list(self._server.summaries)

    def last_body(self) -> bytes:
        """The last body received (read from its spool file)."""
        return (self._server.spool_dir / "last-body").read_bytes()

    def clear(self) -> None:
        with self._server.lock:
            self._server.summaries.clear()
            self._server.counts.clear()
