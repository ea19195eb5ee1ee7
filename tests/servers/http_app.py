"""Routes of the HTTP test server: request recording plus one handler class that answers them."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.servers.content import GIF_1X1, content_for, iter_content, make_jpeg, make_png

__all__ = ["AppHandler", "AppState", "RecordedRequest", "content_for"]

DEFAULT_FILE_SIZE = 1024 * 1024
MAX_BODY = 1024 * 1024 * 1024  # refuse silly sizes instead of streaming forever
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"

_IMAGES: dict[str, tuple[str, bytes]] = {
    "png": ("image/png", make_png()),
    "jpeg": ("image/jpeg", make_jpeg()),
    "gif": ("image/gif", GIF_1X1),
}
_NO_BODY_STATUSES = {204, 304}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (``path`` is the raw target, query string included)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int]

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class AppState:
    """What one server remembers across connections: request log, counters, stop signal."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.requests: list[RecordedRequest] = []
        self.flaky_counts: Counter[str] = Counter()
        self.file_counts: Counter[str] = Counter()
        self.errors: list[BaseException] = []  # unexpected handler exceptions, for assertions
        # Set by stop(): every wait in a handler waits on this so shutdown is never delayed.
        self.stopping = threading.Event()

    def record(self, request: RecordedRequest) -> None:
        with self.changed:
            self.requests.append(request)
            self.changed.notify_all()

    def next_count(self, counter: Counter[str], key: str) -> int:
        """Increment ``counter[key]`` and return the new value (1 for the first request)."""
        with self.lock:
            counter[key] += 1
            return counter[key]

    def reset_counters(self) -> None:
        with self.lock:
            self.flaky_counts.clear()
            self.file_counts.clear()


class _Unsatisfiable(Exception):
    """The Range header asks for bytes past the end of the resource."""


def _parse_range(value: str, total: int) -> tuple[int, int] | None:
    """Return (start, end exclusive) for a single ``bytes=`` range, None when it must be ignored."""
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multi-range requests get the full body (RFC 9110 allows it)
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:  # suffix range: the last N bytes
            suffix = int(last)
            if suffix <= 0:
                raise _Unsatisfiable
            return max(0, total - suffix), total
        start = int(first)
        end = int(last) + 1 if last else total
    except ValueError:
        return None
    if start < 0 or (last and end <= start):
        return None  # syntactically invalid: ignored, not an error
    if start >= total:
        raise _Unsatisfiable
    return start, min(end, total)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match semantics: weak comparison over a comma-separated list, or ``*``."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _quote_etag(value: str) -> str:
    return value if value.startswith(('"', 'W/"')) else f'"{value}"'


class AppHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 handler for every route; the server binds ``state`` with a subclass."""

    protocol_version = "HTTP/1.1"  # keep-alive unless a route closes on purpose
    server_version = "httpops-testserver/1.0"
    state: AppState

    query: dict[str, str]
    body: bytes

    # -- plumbing ---------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output should only show test failures."""

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        try:
            self.body = self._read_body()
        except ValueError:
            self.close_connection = True  # the framing is unknown, so the stream is unusable
            self._send(400, b"bad request body")
            return
        url = urlsplit(self.path)
        self.query = dict(parse_qsl(url.query, keep_blank_values=True))
        self.state.record(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers=self._header_dict(),
                body=self.body,
                peer=(self.client_address[0], self.client_address[1]),
            )
        )
        try:
            self._route(unquote(url.path))
        except (ValueError, OverflowError):
            self._send(400, b"bad parameter")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        size = int(length)
        if size < 0 or size > MAX_BODY:
            raise ValueError(length)
        data = self.rfile.read(size)
        if len(data) != size:
            raise ValueError("short body")
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ValueError("eof in chunked body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF after each chunk
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers are ignored
        return b"".join(parts)

    def _header_dict(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, value in self.headers.items():
            result[key] = f"{result[key]}, {value}" if key in result else value
        return result

    def _int(self, name: str, default: int) -> int:
        return int(self.query.get(name, default))

    def _float(self, name: str, default: float) -> float:
        return float(self.query.get(name, default))

    def _flag(self, name: str) -> bool:
        return self.query.get(name, "0") not in ("", "0", "false")

    def _start(
        self,
        status: int,
        content_type: str | None = None,
        length: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        if status in _NO_BODY_STATUSES:
            self._start(status, headers=headers)
            return
        self._start(status, content_type, len(body), headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, obj: object, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _write_range(self, start: int, end: int) -> None:
        for piece in iter_content(start, end):
            self.wfile.write(piece)

    def _hang_up(self) -> None:
        """End the connection mid-response (FIN, no more body), like a crashed server would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _wait(self, seconds: float) -> bool:
        """Sleep that stop() interrupts; returns False when the server is stopping."""
        return not self.state.stopping.wait(max(0.0, seconds))

    # -- routes -----------------------------------------------------------------------------

    def _route(self, path: str) -> None:
        parts = path.strip("/").split("/")
        head, args = parts[0], parts[1:]
        simple = {
            "json": self._json,
            "text": lambda: self._send(200, b"hello text"),
            "echo": self._echo,
            "slow": self._slow,
            "drip": self._drip,
            "headers": lambda: self._send_json(self._header_dict()),
            "redirect-loop": lambda: self._redirect("/redirect-loop"),
            "truncate": self._truncate,
        }
        if not args and head in simple:
            simple[head]()
        elif head == "json" and args in (["empty"], ["bad"]):
            self._send(200, b"" if args == ["empty"] else b"{not json", "application/json")
        elif head == "bytes" and len(args) == 1:
            self._bytes(int(args[0]))
        elif head == "status" and len(args) == 1:
            self._status(int(args[0]))
        elif head == "flaky" and len(args) == 2:
            self._flaky(args[0], int(args[1]))
        elif head == "drop-then" and len(args) == 3:
            self._drop_then(args[0], int(args[1]), int(args[2]))
        elif head == "cookies" and args == ["set"]:
            self._cookies_set()
        elif head == "cookies" and not args:
            self._cookies()
        elif head == "redirect" and len(args) == 1:
            n = int(args[0])
            self._redirect(f"/redirect/{n - 1}" if n > 0 else "/json")
        elif head == "file" and len(args) == 1:
            self._file(args[0])
        elif head == "image" and len(args) == 1:
            self._image(args[0])
        else:
            self._send(404, b"not found")

    def _json(self) -> None:
        self._send_json({"hello": "world", "n": 1})

    def _echo(self) -> None:
        self._send_json(
            {
                "method": self.command,
                "path": self.path,
                "headers": self._header_dict(),
                "body": self.body.decode("utf-8", errors="replace"),
                "length": len(self.body),
                "content_type": self.headers.get("Content-Type"),
            }
        )

    def _bytes(self, n: int) -> None:
        if not 0 <= n <= MAX_BODY:
            raise ValueError(n)
        if self._flag("chunked"):
            self._start(200, "application/octet-stream", headers=[("Transfer-Encoding", "chunked")])
            if self.command == "HEAD":
                return
            for piece in iter_content(0, n):
                self.wfile.write(b"%x\r\n" % len(piece))
                self.wfile.write(piece)
                self.wfile.write(b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self._flag("nolength"):
            # Without a length or chunking, only closing the connection marks the end.
            self.close_connection = True
            self._start(200, "application/octet-stream", headers=[("Connection", "close")])
            if self.command != "HEAD":
                self._write_range(0, n)
        else:
            self._start(200, "application/octet-stream", n)
            if self.command != "HEAD":
                self._write_range(0, n)

    def _status(self, code: int) -> None:
        if not 200 <= code <= 599:
            raise ValueError(code)  # 1xx are interim responses, not something a route can end on
        headers = []
        if "retry_after" in self.query:
            headers.append(("Retry-After", self.query["retry_after"]))
        self._send(code, f"status {code}".encode(), headers=headers)

    def _flaky(self, key: str, failures: int) -> None:
        if self.state.next_count(self.state.flaky_counts, key) <= failures:
            self._send(503, b"unavailable", headers=[("Retry-After", "0")])
        else:
            self._send(200, b"ok")

    def _drop_then(self, key: str, drops: int, status: int) -> None:
        """Hang up without any response ``drops`` times for ``key``, then answer ``status``."""
        if self.state.next_count(self.state.flaky_counts, f"drop-then:{key}") <= drops:
            self._hang_up()
        else:
            self._status(status)

    def _slow(self) -> None:
        if not self._wait(self._float("delay", 1.0)):
            self._hang_up()
            return
        self._send(200, b"ok")

    def _drip(self) -> None:
        total = self._int("bytes", 10)
        interval = self._float("interval", 0.1)
        if not 0 <= total <= MAX_BODY:
            raise ValueError(total)
        chunked = self._flag("chunked")  # ?chunked=1: no Content-Length, one chunk per byte
        if chunked:
            self._start(200, "application/octet-stream", headers=[("Transfer-Encoding", "chunked")])
        else:
            self._start(200, "application/octet-stream", total)
        if self.command == "HEAD":
            return
        for piece in iter_content(0, total, chunk=1):
            if not self._wait(interval):  # the gap comes before every byte, the first included
                self._hang_up()
                return
            self.wfile.write(b"1\r\n" + piece + b"\r\n" if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _cookies_set(self) -> None:
        headers = [("Set-Cookie", f"{name}={value}; Path=/") for name, value in self.query.items()]
        self._send(200, b"ok", headers=headers)

    def _cookies(self) -> None:
        cookies: dict[str, str] = {}
        for header in self.headers.get_all("Cookie") or []:
            for pair in header.split(";"):
                name, eq, value = pair.strip().partition("=")
                if eq:
                    cookies[name] = value
        self._send_json(cookies)

    def _redirect(self, location: str) -> None:
        if self._flag("absolute"):
            host, port = self.server.server_address[:2]
            scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
            location = f"{scheme}://{host!s}:{port}{location}"
        self._send(302, f"redirect to {location}".encode(), headers=[("Location", location)])

    def _truncate(self) -> None:
        length = self._int("length", 100)
        send = min(self._int("send", length // 2), length)
        self._start(200, "application/octet-stream", length)
        if self.command == "HEAD":
            return
        self.wfile.write(content_for(send))
        self._hang_up()

    def _file(self, name: str) -> None:
        size = self._int("size", DEFAULT_FILE_SIZE)
        if not 0 <= size <= MAX_BODY:
            raise ValueError(size)
        # Counted before any early answer so "first request" means the first one that arrived.
        first = self.state.next_count(self.state.file_counts, name) == 1
        etag = _quote_etag(self.query.get("etag", f"{name}-{size}"))
        norange = self._flag("norange")
        headers = [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
        if not norange:
            headers.append(("Accept-Ranges", "bytes"))
        inm = self.headers.get("If-None-Match")
        if inm is not None and _etag_matches(inm, etag):
            self._send(304, b"", headers=headers)
            return

        status, start, end = 200, 0, size
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        # If-Range holds an ETag (strong match) or a date; anything else means "changed".
        range_valid = if_range is None or if_range.strip() in (etag, LAST_MODIFIED)
        if range_header is not None and not norange and range_valid:
            if self._flag("bad_range"):
                status = 206  # deliberately wrong: claims the range starts at 0, sends it all
                headers.append(("Content-Range", f"bytes 0-{max(size - 1, 0)}/{size}"))
            else:
                try:
                    parsed = _parse_range(range_header, size)
                except _Unsatisfiable:
                    headers.append(("Content-Range", f"bytes */{size}"))
                    self._send(416, b"range not satisfiable", headers=headers)
                    return
                if parsed is not None:
                    status, (start, end) = 206, parsed
                    headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))

        self._start(status, "application/octet-stream", end - start, headers)
        if self.command == "HEAD":
            return
        if first and "drop_after" in self.query:
            self._write_range(start, min(end, start + self._int("drop_after", 0)))
            self._hang_up()
            return
        if first and "pause_after" in self.query:  # ?pause_after=N&pause=S: stall mid-body once
            middle = min(end, start + self._int("pause_after", 0))
            self._write_range(start, middle)
            if not self._wait(self._float("pause", 1.0)):
                self._hang_up()
                return
            start = middle
        self._write_range(start, end)

    def _image(self, kind: str) -> None:
        if kind == "html":
            self._send(200, b"<html>error</html>", "text/html; charset=utf-8")
            return
        if kind not in _IMAGES:
            self._send(404, b"not found")
            return
        content_type, data = _IMAGES[kind]
        if "lastmod" in self.query:  # ?lastmod=1: a Last-Modified validator only, no ETag
            headers = [("Last-Modified", LAST_MODIFIED)]
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304, b"", headers=headers)
            else:
                self._send(200, data, content_type, headers)
            return
        etag = f'"img-{kind}-{zlib.crc32(data):08x}"'
        headers = [("ETag", etag)]
        if "max_age" in self.query:
            headers.append(("Cache-Control", f"max-age={self._int('max_age', 0)}"))
        inm = self.headers.get("If-None-Match")
        if inm is not None and _etag_matches(inm, etag):
            self._send(304, b"", headers=headers)
        else:
            self._send(200, data, content_type, headers)
