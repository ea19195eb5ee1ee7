"""The embedded demo server: a small HTTP/1.1 app on 127.0.0.1, standard library only.

It gives the demo (and anyone trying httpops by hand) something real to talk
to with no network and no set-up. It is the project's own code, not a test
fixture: ``python -m httpops.demo`` starts it on an ephemeral port.

Routes (all answers carry ``Content-Length``; connections are kept alive):

=============================  ====================================================
``GET /``                      JSON index of the routes below
``GET /api/player/<n>``        JSON record of player ``n`` (deterministic)
``GET /api/highscores``        JSON top-ten table
``POST /api/echo``             JSON: the body back (decoded if JSON), its length,
                               content type and the ``User-Agent``/``X-Demo-*``
                               headers it came with
``GET /api/slow?delay=S``      JSON after ``S`` seconds (default 1, at most 30)
``GET /api/fail[?status=N]``   ``N`` (default 500) with a JSON error body
``GET /files/<size>``          ``size`` bytes (``1000``, ``64k``, ``4m``) of
                               deterministic content (:func:`file_bytes`), with
                               ``ETag``, ``Last-Modified``, ``Range``/``If-Range``
                               (one range; 206/416), ``If-None-Match`` (304) and
                               ``?rate=BYTES_PER_SECOND`` to throttle the body
``GET /images/<n>.png``        a small generated PNG, with ``ETag``/304
``/otcv8/...``                 the OTClient v8 endpoints of :mod:`httpops.demo.otcv8`
                               (updater manifest and files, JSON login, shop)
=============================  ====================================================

``DemoServer(tls_context=...)`` serves the same routes over https (the
tests give it a throwaway certificate), and ``login_redirect`` moves a
plain-HTTP ``POST /otcv8/login`` there with a 301, as a real login server
moving to https does.

Threads: one ``httpops-demo-server`` thread accepts; each connection gets an
``httpops-demo-conn-<port>`` thread. :meth:`DemoServer.stop` wakes slow
handlers, shuts every open connection down and joins all of them.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import zlib
from collections import Counter
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import otcv8
from .chat import ChatServer
from .chat import available as chat_available

__all__ = ["DemoServer", "file_bytes", "parse_size", "png_bytes"]

MAX_FILE_BYTES = 1024 * 1024 * 1024
MAX_ECHO_BYTES = 16 * 1024 * 1024
MAX_SLOW_DELAY = 30.0
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"

# File content repeats with a prime period so that an off-by-one in a range or
# a resumed download shows up as wrong bytes, not as a lucky match.
_PERIOD = 251
_PATTERN = bytes((i * 7 + 13) % 256 for i in range(_PERIOD))
_CHUNK = 64 * 1024
_TILE = _PATTERN * (_CHUNK // _PERIOD + 2)

_SIZE_RE = re.compile(r"^(\d+)([kKmM]?)$")
_PLAYER_CLASSES = ("knight", "paladin", "sorcerer", "druid")


def parse_size(text: str) -> int | None:
    """``"1000"`` -> 1000, ``"64k"`` -> 65536, ``"4m"`` -> 4 MiB; None if malformed."""
    match = _SIZE_RE.match(text)
    if match is None:
        return None
    unit = {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]
    return int(match.group(1)) * unit


def file_bytes(size: int, start: int = 0, end: int | None = None) -> bytes:
    """Bytes ``[start, end)`` of the deterministic file of ``size`` bytes.

    Thread-safety: any thread (pure).
    """
    stop = size if end is None else min(end, size)
    out = bytearray()
    pos = start
    while pos < stop:
        n = min(_CHUNK, stop - pos)
        offset = pos % _PERIOD
        out += _TILE[offset : offset + n]
        pos += n
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(n: int, size: int = 32) -> bytes:
    """A ``size`` x ``size`` RGB PNG whose colours depend on ``n`` (a checkerboard).

    Thread-safety: any thread (pure).
    """
    base = ((n * 97) % 256, (n * 57 + 80) % 256, (n * 31 + 160) % 256)
    dark = tuple(c // 2 for c in base)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        for x in range(size):
            rows += bytes(base if (x // 8 + y // 8) % 2 == 0 else dark)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _png_chunk(b"IEND", b"")
    )


def _player(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"player-{n}",
        "vocation": _PLAYER_CLASSES[n % len(_PLAYER_CLASSES)],
        "level": 1 + (n * 37) % 200,
        "online": n % 3 != 0,
    }


def _highscores() -> dict[str, Any]:
    scores = [{"rank": r, "name": f"player-{r * 7}", "score": 100_000 // r} for r in range(1, 11)]
    return {"scores": scores}


class _Unsatisfiable(Exception):
    """The Range header asks only for bytes past the end (answered with 416)."""


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` of one byte range, or None to ignore the header.

    Raises:
        _Unsatisfiable: The range starts past the end of the file.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # not a single byte range: send the whole body, as RFC 9110 allows
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # suffix range: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise _Unsatisfiable
        return max(size - count, 0), size
    start = int(first)
    if start >= size:
        raise _Unsatisfiable
    end = size if not last else min(int(last) + 1, size)
    return (start, end) if last == "" or int(last) >= start else None


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes one connection's requests; the server object holds the shared state."""

    protocol_version = "HTTP/1.1"
    server_version = "httpops-demo"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log: the demo prints its own lines."""

    # -- plumbing --------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: tuple[tuple[str, str], ...] = (),
        *,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and length is None:
            self.wfile.write(body)

    def _json(self, obj: object, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"))

    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    @property
    def scheme(self) -> str:
        """``https`` on a TLS demo server, else ``http``."""
        return "https" if self.server.tls is not None else "http"

    def read_body(self, limit: int) -> bytes:
        """The request body (at most ``limit`` bytes; more closes the connection)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.close_connection = True
            return b""
        return self.rfile.read(length)

    def _number(self, name: str, default: float) -> float:
        try:
            return float(self._query().get(name, default))
        except ValueError:
            return default

    # -- dispatch --------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.count_request(path)
        if path == "/":
            self._json({"routes": ROUTES})
        elif path == "/api/highscores":
            self._json(_highscores())
        elif m := re.fullmatch(r"/api/player/(\d+)", path):
            self._json(_player(int(m.group(1))))
        elif path == "/api/slow":
            self._slow()
        elif path == "/api/fail":
            status = int(self._number("status", 500))
            status = status if 400 <= status <= 599 else 500
            self._json({"error": "deliberate failure", "status": status}, status)
        elif m := re.fullmatch(r"/files/(\w+)", path):
            self._file(m.group(1))
        elif m := re.fullmatch(r"/images/(\d+)\.png", path):
            self._image(int(m.group(1)))
        elif path.startswith("/otcv8/") and otcv8.handle(self, path):
            pass
        else:
            self._json({"error": f"no route for {path}"}, 404)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self.server.count_request(urlsplit(self.path).path)
        if urlsplit(self.path).path.startswith("/otcv8/") and otcv8.handle(
            self, urlsplit(self.path).path
        ):
            return
        if urlsplit(self.path).path != "/api/echo":
            self._json({"error": "POST only to /api/echo"}, 404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_ECHO_BYTES:
            body = json.dumps({"error": f"body over {MAX_ECHO_BYTES} bytes"}).encode()
            # The body stays unread, so this connection cannot carry another request.
            self._send(413, body, headers=(("Connection", "close"),))
            return
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        echo: Any = body.decode("utf-8", errors="replace")
        if "json" in content_type:
            try:
                echo = json.loads(body)
            except ValueError:
                pass  # echo it back as text
        demo_headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-demo-")}
        self._json(
            {
                "echo": echo,
                "length": length,
                "content_type": content_type,
                "agent": self.headers.get("User-Agent", ""),
                "headers": demo_headers,
            }
        )

    # -- routes ----------------------------------------------------------------------

    def _slow(self) -> None:
        delay = min(max(self._number("delay", 1.0), 0.0), MAX_SLOW_DELAY)
        if self.server.stopping.wait(delay):
            self.close_connection = True  # shutting down: hang up without an answer
            return
        self._json({"delay": delay})

    def _file(self, size_text: str) -> None:
        size = parse_size(size_text)
        if size is None or size > MAX_FILE_BYTES:
            self._json({"error": f"bad size {size_text!r} (max {MAX_FILE_BYTES})"}, 404)
            return
        etag = f'"file-{size}"'
        headers: tuple[tuple[str, str], ...] = (
            ("ETag", etag),
            ("Last-Modified", LAST_MODIFIED),
            ("Accept-Ranges", "bytes"),
        )
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", "application/octet-stream", headers, length=0)
            return
        start, end, status = 0, size, 200
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if range_header and (if_range is None or if_range in (etag, LAST_MODIFIED)):
            try:
                wanted = _parse_range(range_header, size)
            except _Unsatisfiable:
                unsatisfiable = (*headers, ("Content-Range", f"bytes */{size}"))
                self._send(416, b"", "application/octet-stream", unsatisfiable)
                return
            if wanted is not None:
                start, end, status = wanted[0], wanted[1], 206
                headers = (*headers, ("Content-Range", f"bytes {start}-{end - 1}/{size}"))
        self._send(status, b"", "application/octet-stream", headers, length=end - start)
        if self.command != "HEAD":
            self._write_file(size, start, end, self._number("rate", 0.0))

    def _write_file(self, size: int, start: int, end: int, rate: float) -> None:
        # Throttled bodies go out in ~20 slices per second so progress is smooth.
        step = _CHUNK if rate <= 0 else max(1, min(_CHUNK, int(rate / 20)))
        pos = start
        while pos < end:
            n = min(step, end - pos)
            self.wfile.write(file_bytes(size, pos, pos + n))
            pos += n
            if rate > 0 and pos < end and self.server.stopping.wait(n / rate):
                self.close_connection = True
                return

    def _image(self, n: int) -> None:
        etag = f'"png-{n}"'
        headers = (("ETag", etag), ("Cache-Control", "max-age=60"))
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", "image/png", headers, length=0)
            return
        self._send(200, png_bytes(n), "image/png", headers)


ROUTES = {
    "/api/player/<n>": "GET: JSON record of player n",
    "/api/highscores": "GET: JSON top ten",
    "/api/echo": "POST: the body back as JSON",
    "/api/slow?delay=S": "GET: JSON after S seconds",
    "/api/fail?status=N": "GET: fails with status N (500)",
    "/files/<size>?rate=B": "GET: size bytes (1000, 64k, 4m), Range/ETag, B bytes/s",
    "/images/<n>.png": "GET: a generated PNG, ETag/304",
    **otcv8.otcv8_routes(),
}


class _Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer that names its threads and can end its kept-alive connections."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        # Where a plain-HTTP POST /otcv8/login is moved (https://host:port), if anywhere.
        self.login_redirect: str | None = None
        self.stopping = threading.Event()
        # Guards _conns, _conn_threads, requests_served and hits.
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        self.requests_served = 0
        self.hits: Counter[str] = Counter()
        self.errors: list[str] = []
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() does a reverse DNS lookup (getfqdn) we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            # No handshake here (it would block the accept loop): the first read does it.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def count_request(self, path: str) -> None:
        with self._lock:
            self.requests_served += 1
            self.hits[path] += 1

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"httpops-demo-conn-{client_address[1]}",
            daemon=True,
        )
        with self._lock:
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
            self._conns.add(request)
            self._conn_threads = {t for t in self._conn_threads if t.is_alive()}
            self._conn_threads.add(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a canceled download) is normal; anything else is kept.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) or self.stopping.is_set():
            return
        self.errors.append(f"{client_address}: {exc!r}")

    def end_connections(self) -> list[threading.Thread]:
        """Shut every open connection down; return the connection threads to join."""
        with self._lock:
            conns, threads = list(self._conns), list(self._conn_threads)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its thread
        return threads

    def server_close(self) -> None:
        # The base class would join connection threads with no timeout; stop() does it.
        socketserver.TCPServer.server_close(self)


class DemoServer:
    """The demo app on ``host`` (127.0.0.1) and ``port`` (0: any free port).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Attributes:
        base_url: ``http://127.0.0.1:<port>`` once started.
        ws_url: ``ws://127.0.0.1:<port>`` of the WebSocket echo and chat
            (:mod:`httpops.demo.chat`), or ``""`` without ``websockets``.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self._address = (host, port)
        self._tls = tls_context
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._chat: ChatServer | None = None
        self.base_url = ""
        self.ws_url = ""

    def start(self) -> DemoServer:
        """Bind and start serving on a background thread. Thread-safety: any thread."""
        if self._server is not None:
            raise RuntimeError("DemoServer already started")
        self._server = _Server(self._address, self._tls)
        scheme = "https" if self._tls is not None else "http"
        self.base_url = f"{scheme}://{self._address[0]}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="httpops-demo-server",
            daemon=True,
        )
        self._thread.start()
        if chat_available() and self._tls is None:
            # The WebSocket half needs the `websockets` package (the `demo` extra).
            self._chat = ChatServer(self._address[0]).start()
            self.ws_url = self._chat.base_url
        return self

    @property
    def login_redirect(self) -> str | None:
        """``https://host:port`` a plain-HTTP ``POST /otcv8/login`` is moved to (301).

        Thread-safety: any thread.
        """
        return None if self._server is None else self._server.login_redirect

    @login_redirect.setter
    def login_redirect(self, base_url: str | None) -> None:
        if self._server is None:
            raise RuntimeError("start the DemoServer before setting login_redirect")
        self._server.login_redirect = base_url

    @property
    def port(self) -> int:
        """The bound port (0 before :meth:`start`). Thread-safety: any thread."""
        return 0 if self._server is None else int(self._server.server_address[1])

    @property
    def requests_served(self) -> int:
        """Requests answered so far. Thread-safety: any thread."""
        return 0 if self._server is None else self._server.requests_served

    def hits(self, path: str) -> int:
        """Requests answered for ``path`` (no query) so far. Thread-safety: any thread."""
        if self._server is None:
            return 0
        with self._server._lock:
            return self._server.hits[path]

    @property
    def errors(self) -> list[str]:
        """Unexpected handler exceptions (a client hanging up is not one). Thread-safety: any."""
        return [] if self._server is None else list(self._server.errors)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server. Thread-safety: any thread."""
        return self.base_url + path

    @property
    def chat(self) -> ChatServer | None:
        """The WebSocket server (None without ``websockets``). Thread-safety: any thread."""
        return self._chat

    def ws(self, path: str) -> str:
        """The ``ws://`` URL of ``path`` on the WebSocket server. Thread-safety: any thread."""
        if not self.ws_url:
            raise RuntimeError("no WebSocket server: install the demo extra (websockets)")
        return self.ws_url + path

    def stop(self, timeout: float = 5.0) -> None:
        """Wake slow handlers, close every connection and join every thread.

        Thread-safety: any thread; calling it twice does nothing.
        """
        if self._chat is not None:
            self._chat.stop()
        server, thread = self._server, self._thread
        if server is None or thread is None or server.stopping.is_set():
            return
        server.stopping.set()
        server.shutdown()
        thread.join(timeout)
        for conn_thread in server.end_connections():
            conn_thread.join(timeout)
        server.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
