"""The ``requests`` transport: the only module that knows requests and urllib3.

Runs on worker threads. Each worker thread gets its own ``requests.Session``
(requests never documented ``Session`` as thread-safe, psf/requests#2766),
and every session shares one cookie jar (``http.cookiejar`` locks
internally), so a cookie set by one response is sent on the next request
whichever worker runs it. Keep-alive connections are pooled per session.

``trust_env`` is off on every session: requests would otherwise read proxy
variables, ``.netrc`` and CA-bundle variables on *every* request. Proxy
variables are read once, when the transport is created, instead.

Library exceptions are translated to httpops errors in one place,
:func:`translate`, most specific first.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.cookies
import requests.structures
import urllib3.connection
import urllib3.exceptions

from ._body import BodySource
from ._cookie_view import NO_COOKIES
from ._cookies import BoundedCookieJar
from ._errors import (
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    OperationError,
    ReadTimeout,
    ResolveError,
    TLSError,
    TooManyRedirects,
)
from ._redirects import RFC9110, RedirectPolicy, redirect_method
from ._response import Headers, Response
from ._transport import Request, UploadProgress

__all__ = ["RequestsTransport", "translate"]

log = logging.getLogger("httpops")


class RequestsTransport:
    """Transport over ``requests``: a session per worker thread, one cookie jar."""

    def __init__(self, pool_maxsize: int = 10, *, cookies: bool = True) -> None:
        # Bounded (per domain, in total, per cookie) and shared, never copied per request.
        # cookies=False: a policy that refuses every cookie (no jar in effect).
        self.cookies = BoundedCookieJar(None if cookies else NO_COOKIES)
        self._pool_maxsize = pool_maxsize
        self._local = threading.local()
        # Guards _sessions, the list close() walks.
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        # Read proxy settings once (see the module docstring).
        self._env_proxies = urllib.request.getproxies()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _RedirectingSession()
            session.trust_env = False
            session.cookies = self.cookies
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=self._pool_maxsize, max_retries=0
            )
            # Pools that record the connection each thread is using (see abort_open).
            adapter.poolmanager.pool_classes_by_scheme = _TRACKED_POOLS
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _proxies_for(self, url: str) -> dict[str, str] | None:
        if not self._env_proxies:
            return None
        host = urlsplit(url).hostname or ""
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if bypass(host, self._env_proxies):
            return None
        return {k: v for k, v in self._env_proxies.items() if k in ("http", "https")}

    def _prepare(
        self, session: requests.Session, request: Request, body: Any
    ) -> requests.PreparedRequest:
        """Build the PreparedRequest ``session.request`` would, at a fraction of the cost.

        ``Session.request`` merges every setting through ``merge_setting``,
        whose ``isinstance`` checks against runtime protocols cost about 75 µs
        per request (a third of our CPU per small GET); our settings are
        already resolved, so only the session's default headers and the
        shared cookies are merged here, with the same precedence.

        The shared jar itself is handed over: ``Session.prepare_request``
        copies the whole jar into a new one for every request (O(jar) with
        the GIL held); there are no per-request cookies to merge, and
        ``prepare_cookies`` keeps a ``CookieJar`` as it is, reading it
        under the jar's lock.
        """
        headers = requests.structures.CaseInsensitiveDict(session.headers)
        headers.update(request.headers)
        cookies = self.cookies
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=request.method,
            url=request.url,
            headers=headers,
            data=body,
            params=request.params,
            cookies=cookies,
            hooks=session.hooks,
        )
        if isinstance(body, (_ProgressBody, _SourceBody)):
            # requests rewinds a body on a 307/308 only if it knows where it started.
            prepared._body_position = 0  # type: ignore[attr-defined]
        return prepared

    def open(
        self,
        request: Request,
        on_upload: UploadProgress | None = None,
        canceled: Callable[[], bool] | None = None,
    ) -> RequestsStream:
        """Send the request; return once headers arrived. Runs on a worker.

        ``canceled`` is asked again once a connection is taken from the pool,
        so a cancel that came just before the request reached the socket
        still breaks it (see :meth:`abort_open`).
        """
        session = self._session()
        session.max_redirects = request.max_redirects
        if isinstance(session, _RedirectingSession):
            session.redirect_policy = request.redirects
        body: Any = request.body
        if isinstance(body, BodySource):
            body.rewind()  # each attempt (a retry) sends the body from its first byte
            body = _SourceBody(body, on_upload, request)
        elif body is not None and on_upload is not None:
            body = _ProgressBody(body, on_upload)
        proxies = request.proxies
        if proxies is None:
            proxies = self._proxies_for(request.url) or {}
        _IN_USE.begin(canceled)
        try:
            resp = session.send(
                self._prepare(session, request, body),
                timeout=(request.connect_timeout, request.read_timeout),
                verify=request.verify,
                cert=None,
                proxies=dict(proxies),
                stream=True,
                allow_redirects=True,
            )
        except OperationError:
            raise  # e.g. Canceled raised by the upload hook
        except Exception as exc:
            # TooManyRedirects carries the last response, its connection still checked
            # out of the pool: close it, or the socket lives as long as the error does.
            leftover = getattr(exc, "response", None)
            if leftover is not None:
                leftover.close()
            raise translate(exc, request) from exc
        finally:
            _IN_USE.end()
        return RequestsStream(resp, request)

    def abort_open(self, thread_id: int) -> None:
        """Shut down the connection ``thread_id`` is using, breaking its wait.

        Thread-safety: any thread.
        """
        _IN_USE.abort(thread_id)

    def close(self) -> None:
        """Close every session's pooled connections. Thread-safety: any thread."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            _close_session(session)

    def release_thread(self) -> None:
        """Close the calling thread's session: its worker is about to exit.

        Elastic request workers come and go; without this each one would
        leave its session (and its pooled sockets) in ``_sessions`` until
        :meth:`close`. Runs on the exiting worker.
        """
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            return
        self._local.session = None
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)
        _close_session(session)


def _close_session(session: requests.Session) -> None:
    """Close ``session`` and the idle sockets of its connection pools now.

    urllib3 2's PoolManager.clear() only forgets its pools; their idle sockets
    close when a pool is garbage collected, and anything still referring to a
    response (an error's __cause__) keeps it alive.
    """
    for adapter in session.adapters.values():
        manager: Any = getattr(adapter, "poolmanager", None)
        if manager is None:
            continue
        for key in list(manager.pools.keys()):
            pool = manager.pools.get(key)
            if pool is not None:
                pool.close()
    session.close()


class _ConnectionsInUse:
    """Which pooled connection each thread is using, so another thread can break it.

    urllib3 gives no handle on a request that is waiting for its response
    headers; this records the connection a pool hands out until it is put
    back, keyed by the thread that took it (one request per thread at a time).
    """

    def __init__(self) -> None:
        # Guards _by_thread and _aborted, and orders abort() against connected().
        self._lock = threading.Lock()
        self._by_thread: dict[int, Any] = {}
        # Per thread, during open(): asks whether its operation was canceled.
        self._canceled: dict[int, Callable[[], bool]] = {}
        # Connections aborted while still connecting: shut down once connected.
        self._aborted: weakref.WeakSet[Any] = weakref.WeakSet()

    def begin(self, canceled: Callable[[], bool] | None) -> None:
        """The calling thread starts a request; ``canceled`` says if it is unwanted."""
        if canceled is not None:
            with self._lock:
                self._canceled[threading.get_ident()] = canceled

    def end(self) -> None:
        """The calling thread's request has its response (or failed)."""
        with self._lock:
            self._canceled.pop(threading.get_ident(), None)

    def taken(self, conn: Any) -> None:
        ident = threading.get_ident()
        with self._lock:
            self._by_thread[ident] = conn
            self._aborted.discard(conn)  # a new request on it: an old abort is moot
            canceled = self._canceled.get(ident)
        # Asked after registering: a cancel that comes later finds the connection
        # in _by_thread, one that came earlier is seen here. None is lost.
        if canceled is not None and canceled():
            self.abort(ident)

    def returned(self, conn: Any) -> None:
        with self._lock:
            ident = threading.get_ident()
            if self._by_thread.get(ident) is conn:
                del self._by_thread[ident]

    def abort(self, thread_id: int) -> None:
        """Break the request ``thread_id`` is making, if its operation was canceled.

        Asking the thread's ``canceled`` again makes a late call harmless: if
        the thread has moved on to another request, that one is not canceled.
        """
        with self._lock:
            canceled = self._canceled.get(thread_id)
            if canceled is None or not canceled():
                return
            conn = self._by_thread.get(thread_id)
            if conn is None:
                return  # not connected to anything yet: taken() will ask canceled()
            # conn.sock is set only after the TLS handshake; the raw socket earlier.
            sock = conn.sock or getattr(conn, "_httpops_raw", None)
            if sock is None or sock.fileno() < 0:
                self._aborted.add(conn)  # still connecting: connected() finishes the job
                return
        _shutdown(sock)

    def connected(self, conn: Any, sock: socket.socket) -> None:
        """A connection has its TCP socket: shut it if it was aborted meanwhile."""
        with self._lock:
            conn._httpops_raw = sock
            if conn not in self._aborted:
                return
            self._aborted.discard(conn)
        _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by its owner: nothing left to break
        pass


_IN_USE = _ConnectionsInUse()


class _TrackedHTTPConnection(urllib3.connection.HTTPConnection):
    """A connection that honours an abort that came while it was connecting.

    The hook is on the TCP socket, before any TLS handshake, so an abort
    also breaks a handshake that stalls.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _IN_USE.connected(self, sock)
        return sock


class _TrackedHTTPSConnection(_TrackedHTTPConnection, urllib3.connection.HTTPSConnection):
    """The HTTPS variant of :class:`_TrackedHTTPConnection`."""


class _TrackedHTTPPool(urllib3.HTTPConnectionPool):
    """A connection pool that reports the connections it hands out to ``_IN_USE``."""

    ConnectionCls = _TrackedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _IN_USE.taken(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            _IN_USE.returned(conn)
        super()._put_conn(conn)


class _TrackedHTTPSPool(_TrackedHTTPPool, urllib3.HTTPSConnectionPool):
    """The HTTPS variant of :class:`_TrackedHTTPPool`."""

    ConnectionCls = _TrackedHTTPSConnection

    def _validate_conn(self, conn: Any) -> None:
        """urllib3's check before a request, minus its ``InsecureRequestWarning``.

        ``Config(verify=False)`` is explicit and the engine logs it once;
        urllib3 would warn on every unverified request. Skipping the warning
        here, for this engine's pools only, leaves the process's ``warnings``
        filters untouched (a filter would also silence unrelated code, and
        ``catch_warnings`` is not thread-safe). The rest is what
        ``HTTPSConnectionPool._validate_conn`` does: connect early.
        """
        urllib3.HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _RedirectingSession(requests.Session):
    """A Session that applies :func:`~httpops._redirects.redirect_method` at each hop.

    requests drops the body of every redirect but 307/308 after
    ``rebuild_method``; when the policy keeps it (an http -> https upgrade
    under the facade's rule), ``rebuild_auth`` -- the next hook requests
    calls -- puts the body and its headers back, and requests then rewinds it.
    One session per worker thread, so the per-request fields are not shared.
    """

    redirect_policy: RedirectPolicy = RFC9110
    _keep_body = False

    def rebuild_method(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        method, self._keep_body = redirect_method(
            prepared_request.method or "GET",
            response.status_code,
            response.url,
            prepared_request.url or "",
            self.redirect_policy,
        )
        prepared_request.method = method

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        previous = response.request
        if not self._keep_body or prepared_request.body is not None or previous is None:
            return
        prepared_request.body = previous.body
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            value = previous.headers.get(name)
            if value is not None:
                prepared_request.headers[name] = value


class _ProgressBody:
    """A request body that reports how much of it was written.

    It has ``read`` and ``__len__`` but no ``__iter__``, so requests sends it
    with a Content-Length (not chunked) and urllib3 reads it in blocks.
    ``tell``/``seek`` let requests rewind it to re-send it through a
    307/308 redirect (without them the redirected request announced the
    full Content-Length and sent nothing, hanging until the timeout).
    """

    def __init__(self, data: bytes, on_upload: UploadProgress) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._on_upload = on_upload

    def __len__(self) -> int:
        # The whole length: requests' super_len() subtracts tell() itself.
        return len(self._data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._data)}[whence]
        self._pos = max(0, min(len(self._data), base + offset))
        return self._pos

    def read(self, size: int = -1) -> bytes:
        start = self._pos
        end = len(self._data) if size is None or size < 0 else min(start + size, len(self._data))
        self._pos = end
        if end > start:
            self._on_upload(end, len(self._data))
        return bytes(self._data[start:end])


class _SourceBody:
    """A [`BodySource`][httpops._body.BodySource] as requests sends a file: in blocks.

    ``read``/``__len__`` and no ``__iter__``: requests sends a Content-Length
    and urllib3 reads blocks of 16 KiB, so a 200 MB file is never in memory.
    ``seek(0)`` rewinds it for a 307/308 redirect. A file that cannot be read
    becomes the operation's error (requests' ``OSError`` is translated).
    """

    def __init__(
        self, source: BodySource, on_upload: UploadProgress | None, request: Request
    ) -> None:
        self._source = source
        self._on_upload = on_upload
        self._request = request

    def __len__(self) -> int:
        return self._source.length

    def tell(self) -> int:
        return self._source.position

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self._source.rewind()
        return self._source.position

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._source.read(size)
        except OSError as exc:  # not a network fault: never retried, named as what it is
            request = self._request
            raise OperationError(
                request.method, request.url, f"cannot read the request body: {exc}"
            ) from exc
        if data and self._on_upload is not None:
            self._on_upload(self._source.position, self._source.length)
        return data


class RequestsStream:
    """An open ``requests`` response read chunk by chunk on its worker."""

    def __init__(self, resp: requests.Response, request: Request) -> None:
        self._resp = resp
        self._raw = resp.raw
        self._request = request
        self.status = resp.status_code
        self.reason = resp.reason or ""
        self.headers = Headers(resp.headers.items())
        self.url = resp.url
        self._at_eof = False
        self._decode = True
        # Set by abort(): the socket is shut down, so it must never go back to the pool
        # (a trailer section cut short by the abort even reads as a clean end).
        self._aborted = False
        # The redirects requests followed (their bodies were already drained by it).
        self.history = tuple(
            Response(r.status_code, r.reason or "", Headers(r.headers.items()), b"", r.url,
                     r.elapsed, method=getattr(r.request, "method", None) or request.method)
            for r in resp.history
        )  # fmt: skip

    def keep_encoding(self) -> None:
        """Deliver the body as sent, not decoded per Content-Encoding (files, images).

        Call before the first read.
        """
        self._decode = False

    def read_chunk(self, size: int) -> bytes:
        """Next 1..size body bytes as soon as any arrive; b"" at the end."""
        try:
            data: bytes = self._raw.read1(size, decode_content=self._decode)
        except Exception as exc:
            raise translate(exc, self._request, reading_body=True) from exc
        if not data:
            self._at_eof = True
        return data

    def close(self) -> None:
        """Return the connection to the pool if the body was read, else drop it."""
        try:
            if not self._at_eof or self._aborted:
                self._raw.close()  # unread bytes or shut down: the connection cannot be reused
            self._raw.release_conn()
        except Exception:
            log.debug("closing response of %s failed", self.url, exc_info=True)

    def abort(self) -> None:
        """Shut the socket down so a blocked read returns. Thread-safety: any thread."""
        self._aborted = True
        conn = getattr(self._raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then everything it wraps (urllib3 keeps the root in .reason)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        # ssl.SSLError.reason is a str; only urllib3 keeps an exception there.
        reason = getattr(current, "reason", None)
        stack.append(reason if isinstance(reason, BaseException) else None)
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        stack.append(current.__cause__)
        stack.append(current.__context__)


def translate(
    exc: BaseException, request: Request, *, reading_body: bool = False
) -> OperationError:
    """Turn a requests/urllib3/OSError exception into an httpops operation error."""
    method, url = request.method, request.url
    chain = list(_causes(exc))

    def has(*types: type[BaseException]) -> BaseException | None:
        return next((e for e in chain if isinstance(e, types)), None)

    if isinstance(exc, OperationError):
        return exc
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return TooManyRedirects(method, url, f"more than {request.max_redirects} redirects")
    if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
        host = urlsplit(url).hostname
        return ResolveError(method, url, f"could not resolve host {host!r}")
    if has(ConnectionRefusedError):
        return ConnectError(method, url, "connection refused")
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError):
        root = has(ssl.SSLError) or exc
        return TLSError(method, url, f"TLS failure: {_short(root)}")
    timeout = has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for history's sake.
    if timeout is not None and not has(urllib3.exceptions.NewConnectionError):
        return ConnectTimeout(
            method, url, f"no connection within {request.connect_timeout:g}s (connect timeout)"
        )
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, socket.timeout):
        return ReadTimeout(method, url, f"no data for {request.read_timeout:g}s (read timeout)")
    incomplete = has(urllib3.exceptions.IncompleteRead)
    if incomplete is not None:
        return ConnectionDropped(
            method, url, f"connection closed before the body was complete ({incomplete})"
        )
    if reading_body or has(
        ConnectionResetError,
        BrokenPipeError,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ChunkedEncodingError,
    ):
        if has(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
            return ConnectionDropped(method, url, f"body could not be decoded: {_short(exc)}")
        return ConnectionDropped(method, url, f"connection dropped: {_short(exc)}")
    os_error = has(OSError)
    if isinstance(os_error, OSError) and os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return ConnectError(method, url, "host unreachable")
    return ConnectError(method, url, _short(exc))


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
