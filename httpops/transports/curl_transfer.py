"""One libcurl transfer: the easy handle's options, its callbacks, its state.

Everything here runs on the curl network thread (``httpops-curl``), inside
libcurl's callbacks or between ``perform()`` calls, except the reader side
of :class:`StreamTransfer` (``wait_ready``/``take``), which runs on the worker
that reads a download's body. pycurl forbids ``getinfo()`` inside a callback,
so callbacks only record bytes and headers; the loop reads ``getinfo()``
after a transfer ends.

Option choices mirror the ``requests`` transport (docs/transports.md):
certificates from the same CA bundle (``CAINFO`` set explicitly), proxies
from the environment read once (``PROXY`` always set, ``""`` for none),
no ``Expect: 100-continue``, no ``Content-Type`` unless the request has one,
gzip/deflate decoded in C for fetches; a download's bytes are kept as sent.
Redirects are followed here, not by libcurl (:mod:`httpops.transports.curl_hops`):
each hop is a new transfer, so the engine's redirect policy, the response
history and the engine's Python cookie jar apply at every hop.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import io
import threading
import urllib.request
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import certifi
import pycurl
import requests

from .._body import BodySource
from .._cookie_view import NO_COOKIES
from .._cookies import BoundedCookieJar
from .._errors import BodyTooLarge, OperationError
from .._response import Headers, Response
from .._transfer import content_length, decimal, retries_status
from .._transport import Request
from .body import body_limit, json_too_large
from .curl_hops import REDIRECT_STATUSES, cookie_header, next_hop, store_cookies

if TYPE_CHECKING:
    from .._download_sink import FileSink
    from .._worker import TaskContext
    from . import FetchSpec, Job

__all__ = ["FetchTransfer", "HandleFactory", "StreamTransfer", "Transfer"]

_ACCEPT_ENCODING = "gzip, deflate"  # what requests advertises; libcurl decodes in C
_PROTOCOLS = pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS
# A redirect's own body is read and thrown away up to this size (the
# connection can then be reused); past it the connection is cut.
_REDIRECT_BODY = 1024 * 1024
# A download's reader may fall this far behind before the transfer pauses.
_HIGH_WATER = 8 * 1024 * 1024
_LOW_WATER = 2 * 1024 * 1024
_NO_HEADERS = Headers()
# Shared, never appended to: no list per transfer until its head is read.
_NO_LINES: list[tuple[str, str]] = []
# A fetch's head lines before its first hop is attached (never appended to).
_NO_LINES_YET: list[bytes] = []
# The most libcurl hands the write callback at once (CURL_MAX_WRITE_SIZE); a
# shorter write means the socket had nothing more for now.
_MAX_WRITE = 16 * 1024
# Seconds between writes of a download's buffer that short writes may cause.
_TRICKLE_FLUSH = 0.02
# Buffered bytes at which a waiting reader is woken at once.
_WAKE_BYTES = 256 * 1024
# CURLOPT_SUPPRESS_CONNECT_HEADERS (libcurl 7.54), which pycurl does not name.
_SUPPRESS_CONNECT_HEADERS = getattr(pycurl, "SUPPRESS_CONNECT_HEADERS", 265)


class HandleFactory:
    """Settings shared by every handle of one engine: CA bundle, proxies, cookies."""

    def __init__(self, verify: bool | str, http2: bool = False, cookies: bool = True) -> None:
        self._verify = verify
        self._http2 = http2
        self._cainfo = verify if isinstance(verify, str) else certifi.where()
        # Read once, as the requests transport does (trust_env is off there too).
        self._env_proxies = urllib.request.getproxies()
        # The engine's one cookie jar, the requests transport's kind (bounded;
        # cookies=False: a policy that refuses every cookie). libcurl's own cookie
        # engine stays off: the jar is filled and read at each hop (curl_hops).
        self.cookies = BoundedCookieJar(None if cookies else NO_COOKIES)
        self.share = pycurl.CurlShare()
        self.share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
        self.share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_SSL_SESSION)

    def close(self) -> None:
        """Release the shared DNS/TLS-session store (network thread, at the end)."""
        self.share.close()

    def proxy_for(self, url: str, proxies: Any = None) -> str:
        """The proxy for ``url``: from ``proxies`` (a request's own), else the environment's.

        "" for none.
        """
        if proxies is not None:
            return str(proxies.get(urlsplit(url).scheme, "") or "")
        if not self._env_proxies:
            return ""
        host = urlsplit(url).hostname or ""
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if bypass(host, self._env_proxies):
            return ""
        return str(self._env_proxies.get(urlsplit(url).scheme, ""))

    def configure(
        self,
        curl: pycurl.Curl,
        request: Request,
        deadline_ms: int | None,
        *,
        share: bool,
        decode: bool = True,
        cookie: str | None = None,
    ) -> None:
        """Set every option of ``curl`` for ``request`` (one hop).

        ``share`` for a fresh handle: a reset one keeps its share (pycurl
        refuses to set it twice). ``decode``: ask for and decode gzip/deflate
        (False: the body as sent). ``cookie``: the jar's Cookie header.
        """
        setopt = curl.setopt
        url = request.url
        setopt(pycurl.URL, url)
        setopt(pycurl.NOSIGNAL, 1)
        if share:
            setopt(pycurl.SHARE, self.share)
        setopt(pycurl.PROTOCOLS, _PROTOCOLS)
        setopt(pycurl.FOLLOWLOCATION, 0)  # each hop is ours (curl_hops)
        # A proxy's answer to CONNECT is not the response: keep it from the head.
        setopt(_SUPPRESS_CONNECT_HEADERS, 1)
        if decode:
            setopt(pycurl.ACCEPT_ENCODING, _ACCEPT_ENCODING)
        setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(request.connect_timeout * 1000)))
        if deadline_ms is not None:
            setopt(pycurl.TIMEOUT_MS, max(1, deadline_ms))
        setopt(pycurl.PROXY, self.proxy_for(url, request.proxies))
        # A request's own bundle (the facade's setVerify) over the engine's.
        setopt(pycurl.CAINFO, request.verify if isinstance(request.verify, str) else self._cainfo)
        if self._http2:
            # h2 where TLS offers it (ALPN), HTTP/1.1 otherwise; wait for a
            # connection that can multiplex rather than open another.
            setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            setopt(pycurl.PIPEWAIT, 1)
        else:
            setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        if request.verify is False:
            setopt(pycurl.SSL_VERIFYPEER, 0)
            setopt(pycurl.SSL_VERIFYHOST, 0)
        self._method(curl, request)
        setopt(pycurl.HTTPHEADER, header_lines(request, cookie))

    @staticmethod
    def _method(curl: pycurl.Curl, request: Request) -> None:
        method, body = request.method, request.body
        if isinstance(body, BodySource):
            # Streamed: the transfer's READFUNCTION reads it (Transfer.attach), with
            # a Content-Length; POST semantics carry it for any method.
            curl.setopt(pycurl.POST, 1)
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, body.length)
            if method != "POST":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        elif body is not None:
            curl.setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
            curl.setopt(pycurl.POSTFIELDS, body)  # pycurl keeps a reference
            if method != "POST":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        elif method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif method != "GET":
            curl.setopt(pycurl.CUSTOMREQUEST, method)


def full_url(request: Request) -> str:
    """The URL with its query parameters, normalised as requests does.

    The same URL as the requests transport sends and reports (``http://host``
    becomes ``http://host/``, ``%41`` becomes ``A``); cached per URL without
    parameters, as a game fetches the same few URLs again and again.
    """
    if request.params:
        return _prepared_url(request.url, request.params)
    return _normalised_url(request.url)


def _prepared_url(url: str, params: Any) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, params)
    return str(prepared.url)


@functools.lru_cache(maxsize=512)
def _normalised_url(url: str) -> str:
    return _prepared_url(url, None)


def header_lines(request: Request, cookie: str | None = None) -> list[bytes]:
    """``Name: value`` lines; ``Expect:`` and ``Content-Type:`` empty to suppress libcurl's.

    Encoded as Latin-1, as http.client does for the requests transport.
    ``cookie`` (from the jar) is sent unless the request has its own Cookie header.
    """
    # "Name:" with nothing after it would tell libcurl to drop the header; "Name;" sends it empty.
    lines = [
        (f"{name}: {value}" if value.strip() else f"{name};").encode("latin-1")
        for name, value in request.headers.items()
    ]
    if cookie and not any(name.lower() == "cookie" for name in request.headers):
        lines.append(f"Cookie: {cookie}".encode("latin-1"))
    lines.append(b"Expect:")
    if request.body is not None and not any(
        name.lower() == "content-type" for name in request.headers
    ):
        lines.append(b"Content-Type:")
    return lines


class _BodyWriter:
    """libcurl's WRITEFUNCTION for one easy handle, reused by every transfer it
    carries: a bound ``on_body`` per transfer would be one more object per
    request for the cyclic GC. The loop empties it when it releases the handle
    (:func:`release_writer`), so a spare handle keeps no finished transfer alive.
    """

    __slots__ = ("transfer",)

    def __init__(self) -> None:
        self.transfer: Transfer | None = None

    def __call__(self, data: bytes) -> Any:
        transfer = self.transfer
        return 0 if transfer is None else transfer.on_body(data)


def release_writer(curl: pycurl.Curl) -> None:
    """Forget the transfer a released handle carried (see :class:`_BodyWriter`)."""
    writer: _BodyWriter | None = getattr(curl, "body_writer", None)
    if writer is not None:
        writer.transfer = None


class Transfer:
    """Common state of a transfer: status, headers, timing, its easy handle, its hops.

    ``request`` is the caller's (error messages name its method and URL);
    ``hop`` is the request of the current hop of its redirect chain.

    Thread-safety: the network thread only (callbacks and loop).
    """

    __slots__ = (
        "_discarded",
        "_lines",
        "abort_error",
        "began",
        "clock",
        "curl",
        "decode",
        "dropped",
        "expected",
        "headers",
        "headers_seen",
        "history",
        "hop",
        "jar",
        "last_io",
        "paused",
        "reason",
        "received",
        "redirect_cut",
        "redirect_to",
        "request",
        "retrying",
        "started",
        "status",
        "url",
    )

    def __init__(
        self,
        request: Request,
        clock: Callable[[], float],
        jar: CookieJar | None = None,
        *,
        decode: bool = True,
    ) -> None:
        self.request = request
        self.hop = request
        self.history: tuple[Response, ...] = ()
        self.jar = jar
        self.decode = decode
        self.clock = clock
        self.curl: pycurl.Curl | None = None
        self.url = request.url
        self.status = 0
        self.reason = ""
        self.headers = _NO_HEADERS
        self._lines: list[tuple[str, str]] = _NO_LINES  # a list of its own once a line comes
        self.received = 0
        self.expected: int | None = None
        self.began = self.started = clock()
        self.last_io = self.started
        # Set by a callback that stopped the transfer (e.g. the body limit).
        self.abort_error: OperationError | None = None
        self.paused = False
        self.dropped = False  # taken out by cancel/abort: skip wherever it still waits
        self.headers_seen = False
        # The Location of a redirect being answered (its body is thrown away).
        self.redirect_to: str | None = None
        self.redirect_cut = False
        self._discarded = 0
        # The answer is a status the retry policy retries: its body is never read.
        self.retrying = False

    def restart(self) -> None:
        """Start again from the first hop (a retry)."""
        self.hop = self.request
        self.history = ()
        self.began = self.clock()

    def attach(
        self, curl: pycurl.Curl, factory: HandleFactory, deadline_ms: int | None, *, share: bool
    ) -> None:
        """Configure ``curl`` for this transfer's current hop and set its callbacks."""
        if self.hop is self.request and not self.history:
            url = full_url(self.request)
            if url != self.request.url or self.request.params:
                self.hop = dataclasses.replace(self.request, url=url, params=None)
        hop = self.hop
        self.curl = curl
        self.url = hop.url
        self.status, self.received, self.expected = 0, 0, None
        self.reason, self.headers = "", _NO_HEADERS  # nothing of an earlier attempt's answer
        self.started = self.last_io = self.clock()
        self.abort_error = None
        self.paused = False
        self.redirect_to, self.redirect_cut, self._discarded = None, False, 0
        self.retrying = False
        self.attached()
        cookie = cookie_header(self.jar, hop) if self.jar is not None else None
        factory.configure(curl, hop, deadline_ms, share=share, decode=self.decode, cookie=cookie)
        curl.setopt(pycurl.HEADERFUNCTION, self.header_function())
        writer: _BodyWriter | None = getattr(curl, "body_writer", None)
        if writer is None:
            writer = curl.body_writer = _BodyWriter()
        writer.transfer = self
        curl.setopt(pycurl.WRITEFUNCTION, writer)
        if isinstance(hop.body, BodySource):
            hop.body.rewind()  # every attempt and every hop sends it from its first byte
            curl.setopt(pycurl.READFUNCTION, self.on_read)
            curl.setopt(pycurl.SEEKFUNCTION, self.on_seek)

    def header_function(self) -> Callable[[bytes], object]:
        """libcurl's HEADERFUNCTION for this hop: each line parsed as it comes."""
        return self.on_header

    def on_header(self, line: bytes) -> None:
        """libcurl callback: one header line (status lines start a new block)."""
        self.last_io = self.clock()
        text = line.decode("latin-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            self.status, self.reason = _status_line(text)
            self._lines = []
        elif text:
            pair = _header_pair(text)
            if pair is None:
                return
            if self._lines is _NO_LINES:  # a header before any status line
                self._lines = []
            self._lines.append(pair)
        else:
            self.headers = Headers(self._lines)
            self._end_of_headers()

    def _end_of_headers(self) -> None:
        status = self.status
        if status < 200:
            return  # an interim answer (1xx): the real one follows
        if self.jar is not None and ("set-cookie" in self.headers or "set-cookie2" in self.headers):
            store_cookies(self.jar, self.hop, self._lines)
        location = self.headers.get("Location")
        if location and status in REDIRECT_STATUSES:
            self.redirect_to = location  # the loop follows it once this hop ends
            return
        self.expected = content_length(self.headers, decoded=self.decode)
        self.headers_seen = True
        self.headers_done()

    def on_read(self, size: int) -> Any:
        """libcurl callback: the next bytes of a streamed request body.

        A file that cannot be read fails the operation, named as what it is
        (never retried: not a network fault).
        """
        body = self.hop.body
        if not isinstance(body, BodySource):
            return b""
        try:
            data = body.read(size)
        except OSError as exc:
            request = self.request
            self.abort_error = OperationError(
                request.method, request.url, f"cannot read the request body: {exc}"
            )
            return pycurl.READFUNC_ABORT
        if data:
            self.sent_part(body.position, body.length)
        return data

    def sent_part(self, position: int, length: int) -> None:
        """A streamed body was read up to ``position`` (overridden: upload progress)."""

    def on_seek(self, offset: int, origin: int) -> int:
        """libcurl callback: rewind a streamed body to resend it (only to its start)."""
        body = self.hop.body
        if isinstance(body, BodySource) and offset == 0 and origin == 0:
            body.rewind()
            return 0  # CURL_SEEKFUNC_OK
        return 2  # CURL_SEEKFUNC_CANTSEEK

    def discard(self, data: bytes) -> Any:
        """A redirect's body: thrown away; past ``_REDIRECT_BODY`` the connection is cut."""
        self.last_io = self.clock()
        self._discarded += len(data)
        if self._discarded > _REDIRECT_BODY:
            self.redirect_cut = True
            return 0
        return None

    def follow(self) -> None:
        """Record the redirect just answered and move to its target.

        Raises:
            OperationError: It may not be followed (too many, not http(s)).
        """
        location = self.redirect_to or ""
        hop = self.hop
        self.history = (
            *self.history,
            Response(self.status, self.reason, self.headers, b"", self.url,
                     self.clock() - self.started, method=hop.method)
        )  # fmt: skip
        self.hop = next_hop(self.request, hop, self.status, location, len(self.history) - 1)
        self.headers = _NO_HEADERS

    def attached(self) -> None:
        """A hop starts (overridden)."""

    def headers_done(self) -> None:
        """The final response's headers are complete (overridden)."""

    def on_body(self, data: bytes) -> Any:
        """libcurl callback: body bytes (overridden)."""
        raise NotImplementedError


def _no_stop(op_id: int) -> None:
    """A fetch not yet handed to a loop has nothing to stop."""


def _status_line(text: str) -> tuple[int, str]:
    """(status, reason) of a status line (status 0 if it has none)."""
    parts = text.split(" ", 2)
    status = (decimal(parts[1]) or 0) if len(parts) > 1 else 0
    return status, parts[2] if len(parts) > 2 else ""


def _header_pair(text: str) -> tuple[str, str] | None:
    """(name, value) of a header line; None for obsolete folding or junk
    (ignored, as http.client does)."""
    name, colon, value = text.partition(":")
    if not colon or text[0] in " \t":
        return None
    return name.strip(), value.strip()


class FetchTransfer(Transfer):
    """A GET/POST/JSON run entirely on the network thread; the body goes to memory."""

    __slots__ = (
        "_buffer",
        "_first",
        "_head",
        "_head_parsed",
        "_head_seen",
        "_sent",
        "attempt",
        "ctx",
        "deadline",
        "json_limited",
        "limit",
        "listening",
        "op",
        "priority",
        "request_stop",
        "retry",
        "want_json",
    )

    def __init__(
        self,
        job: Job,
        spec: FetchSpec,
        ctx: TaskContext,
        clock: Callable[[], float],
        jar: CookieJar | None = None,
        max_json_bytes: int | None = None,
    ) -> None:
        super().__init__(spec.request, clock, jar)
        # What the loop needs of the job and its spec, not the objects: they are
        # freed once the fetch is taken in, so the cyclic GC never promotes them
        # with a request in flight (docs/game-loop.md).
        self.op = job.op
        self.priority = job.priority
        self.deadline = job.deadline
        self.retry = spec.retry
        self.want_json = spec.want_json
        self.ctx = ctx
        self.attempt = 0
        json_limit = body_limit(spec.max_body_bytes, max_json_bytes, spec.want_json)
        self.json_limited = json_limit is not None
        self.limit = spec.max_body_bytes if json_limit is None else json_limit
        self._sent = 0  # request-body bytes counted into ctx.moved this attempt
        # The body: a single chunk as is (most small bodies), else a BytesIO whose
        # getvalue() hands its buffer over without a copy -- joining 32 MiB of
        # chunks at the end would hold the GIL for ~15 ms, a dropped frame.
        self._first: bytes | None = None
        self._buffer: io.BytesIO | None = None
        self.listening = False
        # Set by the loop: asks it (from any thread) to stop the fetch of an operation id.
        self.request_stop: Callable[[int], None] = _no_stop
        # This hop's header lines as libcurl gave them, parsed once (take_head) when
        # the first body byte or the end comes: a Python call per line costs more
        # than the rest of a small GET's header handling.
        self._head: list[bytes] = _NO_LINES_YET
        self._head_parsed = False
        self._head_seen = 0  # lines counted by the stall check

    def abort(self) -> None:
        """Stop this fetch from any thread. Thread-safety: any thread."""
        self.request_stop(self.op.id)

    # The transfer itself is the watchdog's ``ctx.abort_open``.
    __call__ = abort

    def headers_done(self) -> None:
        """Refuse a promised length over the limit before any byte is kept.

        A status the retry policy retries is judged on its head alone, as on
        the requests transport: its body is not read (``on_body`` cuts it).
        """
        request = self.request
        if retries_status(self.retry, self.status, request.method, self.attempt):
            self.retrying = True
            return
        limit = self.limit
        if self.expected is not None and self.expected > limit:
            self.abort_error = self._too_large(
                f"Content-Length {self.expected} exceeds the limit of {limit}"
            )

    def attached(self) -> None:
        """A hop starts: its upload is counted from zero, its head collected afresh.

        The line list and its ``append`` belong to the easy handle and are
        reused by every transfer it carries (emptied here): two objects fewer
        per request for the collector. Nothing reads them once the handle is
        released (the head is parsed into ``headers`` before that).
        """
        self._sent = 0
        curl: Any = self.curl
        lines: list[bytes] | None = getattr(curl, "head_lines", None)
        if lines is None:
            lines = curl.head_lines = []
            curl.add_head_line = lines.append
        else:
            lines.clear()
        self._head = lines
        self._head_parsed = False
        self._head_seen = 0

    def header_function(self) -> Callable[[bytes], object]:
        """Collect the lines (a C call each, no Python frame); take_head parses them."""
        curl: Any = self.curl
        return curl.add_head_line  # type: ignore[no-any-return]

    def take_head(self, ended: bool = False) -> None:
        """Parse the collected head once: the last block (1xx answers before it skipped).

        Runs before the first body byte is handled and when the hop ends, so
        the status, headers, redirect and limits are judged as on_header would
        judge them, line by line -- in one loop here, the hot path of every fetch.
        ``ended``: the hop ended well; a head the connection's close ended (no
        blank line) is taken as it came, as libcurl and http.client take it.
        """
        if self._head_parsed:
            return
        self._head_parsed = True
        lines = self._head
        start = 0
        answer: tuple[int, str] | None = None
        for index, line in enumerate(lines):
            if line.startswith(b"HTTP/"):
                start, answer = index, _status_line(line.decode("latin-1").rstrip("\r\n"))
                if answer[0] >= 200 or answer[0] == 0:
                    break  # the final answer (a 1xx is followed by another; a proxy's
                    # CONNECT answer is never passed: SUPPRESS_CONNECT_HEADERS)
        if answer is None:
            return  # no answer at all (the hop failed before one)
        self.status, self.reason = answer
        pairs: list[tuple[str, str]] = []
        for index in range(start + 1, len(lines)):
            text = lines[index].decode("latin-1").rstrip("\r\n")
            if not text:
                break  # the head ends; trailers may follow, ignored as on requests
            pair = _header_pair(text)
            if pair is not None:
                pairs.append(pair)
        else:
            if not ended:
                return  # the head never ended (the hop failed inside it)
        self._lines = pairs
        self.headers = Headers(pairs)
        self._end_of_headers()

    def saw_head_progress(self, now: float) -> None:
        """Header and trailer lines arriving count as I/O for the stall check (the
        loop's tick): the trailers go on into the same list after the head."""
        if len(self._head) != self._head_seen:
            self._head_seen = len(self._head)
            self.last_io = now

    def sent_part(self, position: int, length: int) -> None:
        """Upload progress of a streamed body as libcurl takes it, as on requests.

        Reported as the body is read, so the last figure comes before the
        answer (a later one would share its coalesced progress event).
        """
        if self.listening:
            self.ctx.progress(position, length, "up", final=position >= length)

    def _too_large(self, detail: str) -> BodyTooLarge:
        """The error for a body over the limit (phrased as ``httpops._transfer.fetch`` does)."""
        if self.json_limited:
            detail = json_too_large(detail, self.limit)
        return BodyTooLarge(self.request.method, self.request.url, detail)

    def on_body(self, data: bytes) -> Any:
        """Keep the bytes; stop the transfer (0 consumed) past the body limit."""
        if not self._head_parsed:
            self.take_head()
        if self.redirect_to is not None:
            return self.discard(data)
        if self.retrying:
            return 0  # cut: another attempt follows, this body is never read
        if self.abort_error is not None:
            return 0
        self.last_io = self.clock()
        received = self.received + len(data)
        if received > self.limit:
            self.abort_error = self._too_large(f"body exceeds the limit of {self.limit} bytes")
            return 0
        self.received = received
        self.ctx.moved += len(data)  # the low-speed rule's measure (the watchdog reads it)
        if self._buffer is not None:
            self._buffer.write(data)
        elif self._first is None:
            self._first = data
        else:
            self._buffer = io.BytesIO()
            self._buffer.write(self._first)
            self._buffer.write(data)
            self._first = None
        if self.listening and (self.expected is None or received < self.expected):
            self.ctx.progress(received, self.expected)
        return None

    def on_xfer(self, dltotal: int, dlnow: int, ultotal: int, ulnow: int) -> int:
        """libcurl callback (someone listens, or a low-speed rule): upload progress.

        Uploaded bytes count for the low-speed rule, as on requests.
        """
        if ulnow > self._sent:
            self.ctx.moved += ulnow - self._sent
            self._sent = ulnow
            # Every step up to the last: its final call may come after the answer began.
            # A streamed body reports from on_read instead, as requests does.
            if ultotal and self.listening and not isinstance(self.hop.body, BodySource):
                self.ctx.progress(ulnow, ultotal, "up", final=ulnow >= ultotal)
        return 0

    def body(self) -> bytes:
        """The whole body received (no copy)."""
        if self._buffer is not None:
            return self._buffer.getvalue()
        return self._first or b""

    def reset_body(self) -> None:
        """Forget the body (handed over, or a retry starts afresh)."""
        self._first = None
        self._buffer = None


class StreamTransfer(Transfer):
    """A transfer whose body a worker reads (downloads, images) through a buffer.

    The network thread appends body bytes; the worker takes them. Past
    ``_HIGH_WATER`` unread bytes the transfer pauses (``WRITEFUNC_PAUSE``)
    until the reader drains it, so memory stays bounded on a slow disk.

    Thread-safety: ``wait_ready``/``take``/``abandon`` on the reading worker;
    the rest on the network thread. ``_cond`` guards the buffer and the flags.
    """

    __slots__ = (
        "_buffered",
        "_chunks",
        "_cond",
        "_flushed_at",
        "_reader_waiting",
        "detached",
        "error",
        "finished",
        "ready",
        "request_resume",
        "sink",
    )

    def __init__(
        self, request: Request, clock: Callable[[], float], jar: CookieJar | None = None
    ) -> None:
        # Files and images are stored as sent: no decoding (see store_as_sent).
        super().__init__(request, clock, jar, decode=False)
        self._cond = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self.ready = False
        self.finished = False
        self.error: OperationError | None = None
        self._reader_waiting = False
        # Set by the loop: asks it to resume a paused transfer (any thread).
        self.request_resume: Callable[[StreamTransfer], None] = lambda t: None
        self._flushed_at = 0.0  # when a short write last wrote a sink's buffer
        # A download's file sink (attach_sink): the write callback writes the
        # body into it instead of buffering it for a reader. ``detached``: the
        # worker let go of it early; any later byte stops the transfer.
        self.sink: FileSink | None = None
        self.detached = False

    def headers_done(self) -> None:
        """The worker may look at status and headers now."""
        with self._cond:
            self.ready = True
            self._cond.notify_all()

    def on_body(self, data: bytes) -> Any:
        """Hand the bytes to the reader; pause while it is far behind."""
        if self.redirect_to is not None:
            return self.discard(data)
        self.last_io = self.clock()
        with self._cond:
            sink = self.sink
            if sink is not None:  # a download: straight into its file (see FileSink)
                self.received += len(data)
                if not sink.add(data):
                    return 0
                # A short write: the socket ran dry, so a trickle reaches the file
                # (and progress, which counts bytes in the file) now -- at most every
                # _TRICKLE_FLUSH, as a chunked body's writes are all short.
                now = self.last_io
                if len(data) < _MAX_WRITE and now - self._flushed_at >= _TRICKLE_FLUSH:
                    self._flushed_at = now
                    sink.flush_quietly()
                return None
            if self.detached:
                return 0
            if self._buffered >= _HIGH_WATER:
                self.paused = True
                return pycurl.WRITEFUNC_PAUSE  # libcurl keeps these bytes for later
            self._chunks.append(data)
            self._buffered += len(data)
            self.received += len(data)
            self.ready = True
            # Wake the reader for a worthwhile slice only: every wake-up is a GIL
            # hand-off the host's frame may wait behind. The loop's tick (flush())
            # wakes it for a trickle.
            if self._reader_waiting and self._buffered >= _WAKE_BYTES:
                self._cond.notify()
        return None

    def flush(self) -> None:
        """Wake a waiting reader for whatever is buffered, or write a sink's
        buffer to its file (the loop's tick: a trickle reaches the file in time)."""
        with self._cond:
            if self.sink is not None:
                self.sink.flush_quietly()
            elif self._reader_waiting and self._chunks:
                self._cond.notify()

    def end(self, error: OperationError | None) -> None:
        """The transfer is over (network thread): wake the reader."""
        with self._cond:
            self.finished = True
            self.ready = True
            self.error = error
            self._cond.notify_all()

    def attach_sink(self, sink: FileSink) -> None:
        """From now on the write callback writes the body into ``sink`` (worker).

        What was buffered before goes into it first, in order; a transfer
        paused for a slow reader is resumed.
        """
        with self._cond:
            chunks = self._chunks
            while chunks and sink.add(chunks.popleft()):  # one at a time: no joined copy
                pass
            chunks.clear()
            self._buffered = 0
            if sink.error is None:
                self.sink = sink
            else:
                self.detached = True  # sink.error says why; later bytes stop the transfer
            resume = self.paused
            self.paused = False
        if resume:
            self.request_resume(self)

    def detach_sink(self) -> None:
        """The worker lets go of the sink; any later byte stops the transfer (worker).

        Waits for a write the network thread is making into it.
        """
        with self._cond:
            self.sink = None
            self.detached = True

    def wait_end(self, slice_seconds: float, alive: Callable[[], bool]) -> bool:
        """Wait up to ``slice_seconds`` for the transfer to end; True once it has (worker)."""
        with self._cond:
            if not self.finished and alive():
                self._cond.wait(slice_seconds)
            return self.finished

    def wait_ready(self, slice_seconds: float, alive: Callable[[], bool]) -> None:
        """Block until the headers are in or the transfer ended (worker)."""
        with self._cond:
            while not self.ready and alive():
                self._cond.wait(slice_seconds)

    def take(self, size: int, slice_seconds: float, alive: Callable[[], bool]) -> bytes:
        """Up to ``size`` body bytes as soon as some are there; b"" at the end (worker).

        Raises:
            OperationError: The transfer failed (after the bytes before it).
        """
        with self._cond:
            while not self._chunks and not self.finished and alive():
                self._reader_waiting = True
                self._cond.wait(slice_seconds)
                self._reader_waiting = False
            if not self._chunks:
                if self.error is not None:
                    raise self.error
                return b""
            # Coalesce libcurl's small writes into one slice of up to ``size``.
            parts: list[bytes] = []
            room = size
            while self._chunks and room > 0:
                chunk = self._chunks.popleft()
                if len(chunk) > room:
                    self._chunks.appendleft(chunk[room:])
                    chunk = chunk[:room]
                parts.append(chunk)
                room -= len(chunk)
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            self._buffered -= len(data)
            resume = self.paused and self._buffered <= _LOW_WATER
            if resume:
                self.paused = False
        if resume:
            self.request_resume(self)
        return data
