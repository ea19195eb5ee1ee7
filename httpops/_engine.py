"""Engine: the registry of live operations, submission, poll/wait, listeners, close.

Thread boundary
---------------
* Methods that *start* work (``get``, ``post`` ...) validate their arguments
  in the caller's thread, register an [`Operation`][httpops.Operation] and hand a
  `Job` to the transport (`httpops.transports`: worker pools, or the curl
  network thread). They never block on the network.
* Transports run jobs on their threads (`Engine.begin`, then `Engine.finish`)
  and end by *claiming* the operation and putting its one `Completion` on the
  `EventQueue`.
* ``poll()``/``wait()`` run on the host's thread and are the only places user
  callbacks run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ._bandwidth import Throttle, TokenBucket, check_rate
from ._body import _NO_JSON, BodySource, encode_body
from ._config import DEFAULT, Config, Default, Retry
from ._errors import (
    Canceled,
    EngineClosed,
    InvalidArgument,
    OperationError,
    ReentrantPollError,
)
from ._events import Completion, DoneCallback, Event, Progress
from ._jobqueue import check_priority
from ._listeners import ListenerRegistry
from ._methods import FilesArg, MethodsMixin, check_retry, proxies_for, with_auth
from ._operation import TERMINAL, Operation, OperationCallback, State, percent
from ._oplog import log_completion
from ._queue import EventQueue
from ._redirects import RFC9110, RedirectPolicy
from ._response import Response
from ._scope import Scope
from ._transfer import Outcome, fetch
from ._transport import Request, Transport
from ._validation import (
    check_callback,
    check_headers,
    check_params,
    check_timeout,
    check_url,
    encode_json,
)
from ._watchdog import TimeRules, Watchdog
from ._worker import TaskContext
from .transports import FetchSpec, Job
from .transports import create as create_transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._auth import Auth
    from ._callbacks import (
        JSONCallback,
        Listeners,
        PathCallback,
        ResponseCallback,
        WsCloseCallback,
        WsErrorCallback,
        WsMessageCallback,
        WsOpenCallback,
    )
    from ._ws_handle import WebSocket
    from ._ws_policy import Reconnect

__all__ = ["Engine"]

log = logging.getLogger("httpops")

Work = Callable[[TaskContext], Outcome]
Handler = Callable[[Any], None]

# wait()/run_until_idle(): how long to let completions gather while several
# operations are in flight (measured: about 10% more small GETs per second).
_GATHER_SECONDS = 0.001
# The global listeners of each kind of operation: (completion, progress).
_LISTENERS = {
    "get": ("on_get", "on_get_progress"),
    "post": ("on_post", "on_post_progress"),
    "download": ("on_download", "on_download_progress"),
    "image": ("on_download", "on_download_progress"),
}
_NO_LISTENERS = ("", "")
# Kinds whose listeners get file arguments (path, checksum; speed with progress).
_FILE_KINDS = frozenset({"download", "image"})
# Kinds of work that run on the download pool.
_DOWNLOAD_KINDS = frozenset({"download", "image", "image-fetch"})
_JSON = "application/json"


def _drop_tracebacks(error: BaseException) -> None:
    """Forget where on a transport's thread ``error`` (and its causes) were raised.

    A traceback keeps the transport's frames, and through their locals the
    operation that will hold the error: a reference cycle per failed request,
    freed only by the cyclic collector (which a game may keep off during
    play). The message names the method, the URL and what happened; the
    causes stay chained.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


class Engine(MethodsMixin):
    """Non-blocking HTTP for a host that polls: workers do I/O, ``poll()`` runs callbacks.

    Args:
        config: Engine settings; defaults to ``Config()``.
        transport: A blocking stream transport for the workers (tests); by
            default ``Config.transport`` picks one (`httpops.transports`).
        clock: Monotonic clock, injectable for tests.

    Use as a context manager, or call [`close`][httpops.Engine.close] when done.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config is not None and not isinstance(config, Config):
            raise InvalidArgument(f"config must be a httpops.Config, got {config!r}")
        self.config = config or Config()
        self.config.log_insecure()
        self.clock = clock
        # Config(proxies=...), else the proxy variables read once; every request and
        # WebSocket uses them (Request.proxies).
        configured = self.config.proxies
        self.proxies: dict[str, str] = (
            urllib.request.getproxies() if configured is None else dict(configured)
        )
        self.events = EventQueue()
        self.listeners = ListenerRegistry()
        # backend runs jobs (worker pools or the curl network thread); transport
        # is the blocking stream transport that worker jobs (downloads) use.
        self.backend, self.transport = create_transport(self, self.config, transport)
        # One thread for every operation's deadline and low-speed rule (not one per request).
        self._watchdog = Watchdog(clock)
        # Config.max_download_rate: the allowance every download takes from (_bandwidth).
        rate = self.config.max_download_rate
        self._download_bucket = None if rate is None else TokenBucket(rate, clock())
        # Guards _live, _running, _next_id, _closed and every Operation._claim().
        self._lock = threading.Lock()
        self._live: dict[int, Operation] = {}
        self._running: dict[int, TaskContext] = {}
        # The time rules of each deadline in use (frozen data, shared by operations).
        self._time_rules: dict[float | None, TimeRules] = {}
        # Bound once: every fetch's work (an attribute read would bind a new one).
        self._run_fetch = self._fetch_on_worker
        # Cancel hooks of registered operations (a WebSocket closes its socket), by id.
        self._cancel_hooks: dict[int, Callable[[], None]] = {}
        self._next_id = 0
        self._closed = False
        # Things with close(deadline) that close() must also shut (WebSocket sessions).
        self._resources: list[Any] = []
        # Dispatch table: event type -> handler run on the polling thread.
        self._handlers: dict[type, Handler] = {
            Progress: self._dispatch_progress,
            Completion: self._dispatch_completion,
            DoneCallback: self._dispatch_done_callback,
        }
        # Held while dispatching; _poll_owner is the dispatching thread's ident.
        self._poll_lock = threading.Lock()
        self._poll_owner: int | None = None

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether [`close`][httpops.Engine.close] was called. Thread-safety: any thread."""
        return self._closed

    def operation(self, op_id: int) -> Operation | None:
        """The live operation with this id, or None. Thread-safety: any thread."""
        with self._lock:
            return self._live.get(op_id)

    @property
    def operations(self) -> dict[int, Operation]:
        """A snapshot of the live (not yet completed) operations by id.

        Thread-safety: any thread.
        """
        with self._lock:
            return dict(self._live)

    # -- starting work -----------------------------------------------------------------

    def get(
        self,
        url: str,
        callback: ResponseCallback | None = None,
        *,
        on_progress: ResponseCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        raise_for_status: bool = True,
        priority: int = 0,
        auth: Auth | None = None,
        retry: Retry | None | Default = DEFAULT,
    ) -> Operation[Response]:
        """Start a GET; ``op.value`` will be the [`Response`][httpops.Response].

        Args:
            url: Absolute http:// or https:// URL.
            callback: Called as ``callback(op)`` on the polling thread when done.
            on_progress: Called as ``on_progress(op)`` as the body arrives.
            headers: Extra request headers (they override the engine's).
            params: Query parameters.
            timeout: Connect and stall timeout in seconds (default: the config's).
            deadline: Seconds for the whole operation; None for none.
            priority: Larger runs sooner (default 0). Only the queue is
                ordered: work already running is not interrupted, and equal
                priorities run in the order started. A login at 10 jumps
                ahead of queued background work at 0. The same keyword on
                every method that starts an operation.
            raise_for_status: True (the default, OTClient's rule): a status
                >= 400 fails the operation with [`HTTPStatusError`][httpops.HTTPStatusError].
                False: it is delivered like any other response (for APIs
                that answer 404/409 with a useful body); check
                ``response.ok`` or call ``response.raise_for_status()``.
            auth: ``(user, password)``, [`BasicAuth`][httpops.BasicAuth] or
                [`BearerAuth`][httpops.BearerAuth] (see [`request`][httpops.Engine.request]).
            retry: This call's [`Retry`][httpops.Retry] (None: none; default: the config's).

        Returns:
            The [`Operation`][httpops.Operation], at once.

        Raises:
            InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the call.

        Thread-safety: any thread.
        """
        return self._http(
            "get", "GET", url, None, None, callback, on_progress, headers, params, timeout,
            deadline, want_json=False, raise_for_status=raise_for_status, priority=priority,
            auth=auth, retry=retry,
        )  # fmt: skip

    def get_json(
        self,
        url: str,
        callback: JSONCallback | None = None,
        *,
        on_progress: JSONCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        raise_for_status: bool = True,
        priority: int = 0,
        auth: Auth | None = None,
        retry: Retry | None | Default = DEFAULT,
    ) -> Operation[Any]:
        """Start a GET whose body is decoded as JSON on the worker.

        ``op.value`` is the decoded JSON (None for an empty body); invalid
        JSON fails the operation with [`JSONDecodeError`][httpops.JSONDecodeError]. Arguments as
        for [`get`][httpops.Engine.get]; with ``raise_for_status=False`` the body of an error
        status is decoded too (``op.response.status`` tells them apart).

        Thread-safety: any thread.
        """
        headers = {"Accept": _JSON, **check_headers(headers)}
        return self._http(
            "get", "GET", url, None, None, callback, on_progress, headers, params, timeout,
            deadline, want_json=True, raise_for_status=raise_for_status, priority=priority,
            auth=auth, retry=retry,
        )  # fmt: skip

    def post(
        self,
        url: str,
        data: str | bytes | dict[str, Any] | list[Any] | os.PathLike[str] | BinaryIO | None = None,
        callback: ResponseCallback | None = None,
        *,
        json: Any = _NO_JSON,
        files: FilesArg = None,
        content_type: str | None = None,
        on_progress: ResponseCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        raise_for_status: bool = True,
        priority: int = 0,
        redirects: RedirectPolicy = RFC9110,
        auth: Auth | None = None,
        retry: Retry | None | Default = DEFAULT,
    ) -> Operation[Response]:
        """Start a POST; ``op.value`` will be the [`Response`][httpops.Response].

        ``data`` is sent as given: ``bytes`` as-is, ``str`` UTF-8 encoded as a
        form body (``application/x-www-form-urlencoded``, as OTClient does),
        a dict or list as JSON, a ``pathlib.Path`` or open binary file
        streamed from disk; ``json=`` sends any value as JSON; ``files=`` a
        multipart form with ``data`` as its fields (see
        [`request`][httpops.Engine.request]). ``content_type`` overrides the type.
        ``on_progress`` reports the upload, then the response body.
        ``auth``/``retry`` as for ``request`` (a POST is retried only with
        ``Retry(retry_non_idempotent=True)``).
        ``redirects`` is how a redirect treats the method and body (RFC 9110
        by default; the HTTP facade passes OTClient's http -> https rule, see
        `httpops._redirects`).

        Raises:
            InvalidArgument: ``data`` of another type, or not JSON-serialisable.

        Thread-safety: any thread.
        """
        body, kind = encode_body("POST", data, files, json)
        return self._http(
            "post", "POST", url, body, content_type or kind, callback, on_progress, headers,
            params, timeout, deadline, want_json=False, raise_for_status=raise_for_status,
            redirects=redirects, priority=priority, auth=auth, retry=retry,
        )  # fmt: skip

    def post_json(
        self,
        url: str,
        data: Any,
        callback: JSONCallback | None = None,
        *,
        on_progress: JSONCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        raise_for_status: bool = True,
        priority: int = 0,
        redirects: RedirectPolicy = RFC9110,
        auth: Auth | None = None,
        retry: Retry | None | Default = DEFAULT,
    ) -> Operation[Any]:
        """POST ``data`` as JSON and decode the JSON answer on the worker.

        ``bytes`` are sent unchanged (JSON text already encoded); anything
        else is encoded. ``redirects`` as for [`post`][httpops.Engine.post].

        Raises:
            InvalidArgument: ``data`` is not JSON-serialisable (NaN included).

        Thread-safety: any thread.
        """
        body = data if isinstance(data, bytes) else encode_json(data)
        headers = {"Accept": _JSON, **check_headers(headers)}
        return self._http(
            "post", "POST", url, body, _JSON, callback, on_progress, headers, params, timeout,
            deadline, want_json=True, raise_for_status=raise_for_status, redirects=redirects,
            priority=priority, auth=auth, retry=retry,
        )  # fmt: skip

    def download(
        self,
        url: str,
        file: str | os.PathLike[str],
        callback: PathCallback | None = None,
        on_progress: PathCallback | None = None,
        *,
        sha256: str | None = None,
        resume: bool = True,
        max_bytes: int | None | Default = DEFAULT,
        headers: Mapping[str, str] | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | None | Default = DEFAULT,
        priority: int = 0,
        rate_limit: int | None = None,
    ) -> Operation[str]:
        """Download ``url`` to ``file``, streamed to disk and renamed into place when verified.

        See `httpops._download` for the full behaviour (temporary file,
        CRC32 and SHA-256, resume, path confinement). ``priority`` as for
        [`get`][httpops.Engine.get]. ``rate_limit`` caps this download at
        that many bytes per second (None: no cap of its own; the engine's
        ``Config.max_download_rate`` applies as well); the time it waits for
        a cap is left out of the ``low_speed_limit`` rule.

        Thread-safety: any thread.
        """
        from ._download import start_download

        return start_download(
            self, url, file, callback, on_progress, sha256=sha256, resume=resume,
            max_bytes=max_bytes, headers=headers, timeout=timeout, deadline=deadline,
            priority=priority, rate_limit=rate_limit,
        )  # fmt: skip

    def download_image(
        self,
        url: str,
        callback: PathCallback | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | Default = DEFAULT,
        priority: int = 0,
    ) -> Operation[str]:
        """Download an image into the persistent image cache; ``op.path`` is its file.

        See `httpops._images`. ``priority`` as for [`get`][httpops.Engine.get]
        (callers joining a fetch already queued share its place).

        Thread-safety: any thread.
        """
        from ._images import start_image

        return start_image(self, url, callback, headers=headers, timeout=timeout, priority=priority)

    def websocket(
        self,
        url: str,
        *,
        on_open: WsOpenCallback | None = None,
        on_message: WsMessageCallback | None = None,
        on_close: WsCloseCallback | None = None,
        on_error: WsErrorCallback | None = None,
        timeout: float | Default = DEFAULT,
        json: bool = False,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        reconnect: Reconnect | None = None,
        ping_interval: float | None | Default = DEFAULT,
        ping_timeout: float | Default = DEFAULT,
        idle_timeout: float | None = None,
    ) -> WebSocket:
        """Open a WebSocket; returns its handle at once (``send``, ``close``).

        See `httpops._websocket`.

        Thread-safety: any thread.
        """
        from ._websocket import open_websocket

        return open_websocket(
            self, url, on_open=on_open, on_message=on_message, on_close=on_close,
            on_error=on_error, timeout=timeout, json=json, headers=headers,
            subprotocols=subprotocols, reconnect=reconnect, ping_interval=ping_interval,
            ping_timeout=ping_timeout, idle_timeout=idle_timeout,
        )  # fmt: skip

    def websocket_json(
        self,
        url: str,
        *,
        on_open: WsOpenCallback | None = None,
        on_message: WsMessageCallback | None = None,
        on_close: WsCloseCallback | None = None,
        on_error: WsErrorCallback | None = None,
        timeout: float | Default = DEFAULT,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        reconnect: Reconnect | None = None,
        ping_interval: float | None | Default = DEFAULT,
        ping_timeout: float | Default = DEFAULT,
        idle_timeout: float | None = None,
    ) -> WebSocket:
        """`websocket` with JSON messages, decoded on the session thread.

        Thread-safety: any thread.
        """
        return self.websocket(
            url, on_open=on_open, on_message=on_message, on_close=on_close, on_error=on_error,
            timeout=timeout, json=True, headers=headers, subprotocols=subprotocols,
            reconnect=reconnect, ping_interval=ping_interval, ping_timeout=ping_timeout,
            idle_timeout=idle_timeout,
        )  # fmt: skip

    def _http(
        self,
        kind: str,
        method: str,
        url: str,
        body: bytes | BodySource | None,
        content_type: str | None,
        callback: OperationCallback | None,
        on_progress: OperationCallback | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        timeout: float | Default,
        deadline: float | Default | None,
        *,
        want_json: bool,
        raise_for_status: bool = True,
        redirects: RedirectPolicy = RFC9110,
        priority: int = 0,
        auth: object = None,
        retry: Retry | None | Default = DEFAULT,
    ) -> Operation:
        headers = with_auth(headers, auth)
        request = self._build_request(
            method, url, headers, params, timeout, body, content_type, redirects=redirects,
            retry=retry,
        )  # fmt: skip
        if raise_for_status is not True:
            if raise_for_status is not False:
                raise InvalidArgument(f"raise_for_status must be a bool, got {raise_for_status!r}")
            request = dataclasses.replace(request, raise_for_status=False)
        spec = FetchSpec(request, want_json, request.retry, self.config.max_body_bytes)
        # One shared bound method, not a closure per request (five objects for the
        # cyclic GC): it finds the spec on the operation (_start puts it there).
        return self._start(
            kind, method, url, self._run_fetch, callback, on_progress, deadline, fetch=spec,
            priority=priority,
        )  # fmt: skip

    def _build_request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | Default = DEFAULT,
        body: bytes | BodySource | None = None,
        content_type: str | None = None,
        *,
        redirects: RedirectPolicy = RFC9110,
        retry: Retry | None | Default = DEFAULT,
    ) -> Request:
        """Validate per-call arguments and merge them with the config into a Request.

        Raises:
            InvalidURL, InvalidArgument: At the call.

        Thread-safety: any thread.
        """
        check_url(url)
        config = self.config
        merged = {"User-Agent": config.user_agent, **config.headers}
        if content_type is not None:
            merged["Content-Type"] = content_type
        merged.update(check_headers(headers))
        if isinstance(timeout, Default):
            connect, read = config.connect_timeout, config.read_timeout
        else:
            connect = read = check_timeout("timeout", timeout, allow_none=False)
        return Request(
            method=method,
            url=url,
            headers=merged,
            params=check_params(params),
            body=body,
            connect_timeout=connect,
            read_timeout=read,
            verify=config.tls_verify,
            max_redirects=config.max_redirects,
            redirects=redirects,
            retry=check_retry(config.retry, retry),
            proxies=proxies_for(self.proxies, url),
        )

    def _start(
        self,
        kind: str,
        method: str,
        url: str,
        work: Work,
        callback: OperationCallback | None = None,
        on_progress: OperationCallback | None = None,
        deadline: float | Default | None = DEFAULT,
        *,
        fetch: FetchSpec | None = None,
        priority: int = 0,
        rate_limit: int | None = None,
    ) -> Operation:
        """Register an operation and queue ``work(ctx)`` for a worker.

        This is the extension point the download and image modules build on:
        ``work`` runs on a worker, returns an `Outcome` or raises an
        [`OperationError`][httpops.OperationError], and the engine turns either into exactly one
        completion. ``fetch`` describes an in-memory HTTP fetch that a
        network transport may run natively instead of ``work``. ``priority``
        orders the queue (larger first); ``rate_limit`` caps a ``"download"``
        in bytes per second. Both are kept on the operation as data
        (``op.priority``, ``op.rate_limit``) for a transport that schedules on its own.

        Raises:
            InvalidCallback, InvalidArgument, EngineClosed: At the call.

        Thread-safety: any thread.
        """
        check_callback("callback", callback)
        check_callback("on_progress", on_progress)
        seconds = self.config.deadline if isinstance(deadline, Default) else deadline
        seconds = check_timeout("deadline", seconds)
        priority, rate_limit = self._check_schedule(priority, rate_limit)
        with self._lock:
            if self._closed:
                raise EngineClosed(f"engine is closed; cannot start {method} {url}")
            self._next_id += 1
            op = Operation(self, self._next_id, kind, method, url, callback, on_progress)
            op.priority, op.rate_limit = priority, rate_limit
            op._fetch = fetch
            self._live[op.id] = op
            # Under the lock, so close() either sees this operation or _start()
            # sees the engine closed; a transport never takes the engine lock in submit.
            try:
                self.backend.submit(
                    Job(op, work, seconds, kind in _DOWNLOAD_KINDS, fetch, priority)
                )
            except RuntimeError:
                # No worker could be started: the job stays queued but is
                # claimed, so it never runs, and the caller gets the error.
                op._claim()
                del self._live[op.id]
                raise
        return op

    @staticmethod
    def _check_schedule(priority: object, rate_limit: object) -> tuple[int, int | None]:
        """Validate ``priority=`` and ``rate_limit=`` at the call."""
        try:
            return check_priority(priority), check_rate("rate_limit", rate_limit)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None

    def _throttle(self, op: Operation, ctx: TaskContext) -> Throttle | None:
        """The bandwidth caps a download reads under (None: none apply).

        Only ``download()`` bodies are capped: images, requests and
        WebSockets are what the game needs now.
        """
        if op.kind != "download":
            return None
        buckets = [] if op.rate_limit is None else [TokenBucket(op.rate_limit, self.clock())]
        if self._download_bucket is not None:
            buckets.append(self._download_bucket)
        return Throttle(buckets, self.clock, ctx.wait_throttled) if buckets else None

    def _register(
        self,
        kind: str,
        method: str,
        url: str,
        callback: OperationCallback | None = None,
        *,
        on_cancel: Callable[[], None] | None = None,
    ) -> Operation:
        """Register an operation that is driven by its own threads (a WebSocket).

        The caller moves it to running with `_mark_running` and must
        finish it with `_complete` exactly once. ``on_cancel`` (internal
        code, never user code: quick, non-blocking) is called once, without
        locks held, if [`cancel`][httpops.Engine.cancel] claims the operation.

        Raises:
            InvalidCallback, EngineClosed: At the call.

        Thread-safety: any thread.
        """
        check_callback("callback", callback)
        with self._lock:
            if self._closed:
                raise EngineClosed(f"engine is closed; cannot start {method} {url}")
            self._next_id += 1
            op = Operation(self, self._next_id, kind, method, url, callback)
            self._live[op.id] = op
            if on_cancel is not None:
                self._cancel_hooks[op.id] = on_cancel
        return op

    def _mark_running(self, op: Operation) -> bool:
        """Move a registered operation from queued to running.

        Returns:
            False if it was already completed (e.g. canceled), else True.

        Thread-safety: any thread.
        """
        with self._lock:
            if op.claimed:
                return False
            if op.state is State.QUEUED:
                op._move_to(State.RUNNING)
            return True

    # -- the worker side ---------------------------------------------------------------

    def begin(self, op: Operation, deadline: float | None) -> TaskContext | None:
        """Move ``op`` to running; its task context, or None if claimed or closing.

        Thread-safety: a transport's thread.
        """
        with self._lock:
            if op.claimed:
                return None  # canceled while queued: its completion is already queued
            if self._closed:
                return None  # close() is canceling every live operation; never start one now
            op._move_to(State.RUNNING)
            rules = self._time_rules.get(deadline)
            if rules is None:  # one per deadline in use: every small GET shares it
                config = self.config
                rules = TimeRules(deadline, config.low_speed_limit, config.low_speed_time)
                if len(self._time_rules) < 64:
                    self._time_rules[deadline] = rules
            ctx = TaskContext(
                op, self.events, self.clock, self.config.progress_interval, deadline, rules
            )
            ctx.set_owner(self)
            if op.kind == "download":
                ctx.throttle = self._throttle(op, ctx)
            self._running[op.id] = ctx
        first = ctx.first_inspection()
        if first is not None:
            self._watchdog.watch(ctx, first)
        return ctx

    def finish(
        self,
        op: Operation,
        ctx: TaskContext,
        outcome: Outcome | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Complete ``op`` with a job's ``outcome`` or the ``error`` it raised.

        Thread-safety: a transport's thread.
        """
        figures, committed = ctx.final_figures, ctx.committed
        try:
            if isinstance(error, OperationError):
                _drop_tracebacks(error)
                state = State.CANCELED if isinstance(error, Canceled) else State.FAILED
                self._complete(
                    op, state, error=error, response=error.response, committed=committed, **figures
                )
            elif error is not None or outcome is None:  # a bug: report it, never lose it
                log.error("internal error in %s %s", op.method, op.url, exc_info=error)
                bug = OperationError(op.method, op.url, f"internal error: {error!r}")
                self._complete(op, State.FAILED, error=bug, committed=committed)
            else:
                self._complete(
                    op, State.DONE, value=outcome.value, response=outcome.response,
                    committed=committed, **figures, **outcome.extra,
                )  # fmt: skip
        finally:
            ctx.finished = True
            # Nothing is left to break: drop the transport's references (a curl
            # fetch's abort hook is its transfer, which holds ctx: a cycle).
            ctx.abort_open = ctx.active_stream = None
            self._watchdog.forget(ctx)
            # _complete() normally dropped it already: skip a second trip through the lock.
            if op.id in self._running:
                with self._lock:
                    self._running.pop(op.id, None)

    def _fetch_on_worker(self, ctx: TaskContext) -> Outcome:
        """The ``work`` of every in-memory fetch (GET/POST/JSON) a worker runs."""
        spec = ctx.op._fetch
        if spec is None:  # pragma: no cover - _start sets it for every fetch
            raise RuntimeError(f"operation {ctx.op.id} has no fetch to run")
        config, request = self.config, spec.request
        try:
            return fetch(
                ctx,
                self.transport,
                request,
                retry=request.retry,
                max_body_bytes=config.max_body_bytes,
                chunk_size=config.chunk_size,
                want_json=spec.want_json,
                clock=self.clock,
                max_json_bytes=config.max_json_bytes,
            )
        finally:
            if isinstance(request.body, BodySource):
                request.body.close()  # the files it opened, whatever happened

    def _wants_progress(self, op: Operation) -> bool:
        """Whether a progress callback or listener would see ``op``'s progress."""
        if op.on_progress is not None:
            return True
        return bool(self.listeners.get(_LISTENERS.get(op.kind, _NO_LISTENERS)[1]))

    def _commit(self, op: Operation) -> bool:
        """Claim ``op`` for its worker (see `TaskContext.commit`)."""
        with self._lock:
            if not op._claim():
                return False
            # Still live (run_until_idle waits for it) until _complete() queues it.
            self._cancel_hooks.pop(op.id, None)
            return True

    def _complete(
        self,
        op: Operation,
        state: State,
        *,
        error: OperationError | None = None,
        response: Response | None = None,
        value: Any = None,
        committed: bool = False,
        **extra: Any,
    ) -> bool:
        """Queue the one completion of ``op`` unless it already has one.

        Args:
            committed: The caller already holds the claim (its task called
                `TaskContext.commit`), so the completion is queued as is.

        Returns:
            True if this call completed it; False if it was already claimed.

        Thread-safety: any thread.
        """
        with self._lock:
            if not committed and not op._claim():
                return False
            self._running.pop(op.id, None)
            self._cancel_hooks.pop(op.id, None)
        self._queue_completion(Completion(op, state, error, response, value, extra))
        return True

    def _queue_completion(self, event: Completion) -> None:
        """Queue a claimed operation's completion, then stop counting it as live.

        In this order, ``run_until_idle()`` never sees "nothing live, nothing
        queued" while a completion is on its way.
        """
        self.events.put(event)
        with self._lock:
            self._live.pop(event.op.id, None)

    # -- cancel ------------------------------------------------------------------------

    def cancel(self, op_or_id: Operation | int) -> bool:
        """Cancel an operation: a queued one never starts, a running one stops.

        Its one completion (state ``canceled``) is dispatched by the next
        ``poll()``. A connect already in progress cannot be interrupted; its
        result is discarded and no further callback of the operation runs.

        Returns:
            True if this call canceled it; False if it had already finished or
            the id is unknown.

        Thread-safety: any thread.
        """
        if isinstance(op_or_id, Operation) and op_or_id._engine is not self:
            return False  # another engine's operation: ids are per engine
        op_id = op_or_id.id if isinstance(op_or_id, Operation) else op_or_id
        with self._lock:
            op = self._live.get(op_id)
            if op is None or not op._claim():
                return False
            ctx = self._running.get(op_id)
            hook = self._cancel_hooks.pop(op_id, None)
        op._request_cancel()
        if ctx is not None:
            ctx.abort()
        if hook is not None:
            hook()
        self.backend.cancel(op)
        self._queue_completion(
            Completion(op, State.CANCELED, Canceled(op.method, op.url, "canceled by the caller"))
        )
        return True

    # -- the host side: poll and wait ----------------------------------------------------

    def poll(self, max_events: int | None = None, budget: float | None = None) -> int:
        """Run the callbacks of events that are ready, on this thread.

        Args:
            max_events: Dispatch at most this many events.
            budget: Stop once this many seconds are spent (after at least one
                event); the rest waits for the next call.

        Returns:
            How many events were dispatched.

        Raises:
            ReentrantPollError: Called from inside a callback.

        Thread-safety: any thread, one at a time; the polling thread is where
        callbacks run.
        """
        owner = self._poll_owner
        if owner is not None and owner == threading.get_ident():
            raise ReentrantPollError("poll()/wait() cannot be called from inside a callback")
        # Checked even when idle, so a bad argument fails at once, not on a busy frame.
        if max_events is not None and (
            isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1
        ):
            raise InvalidArgument(f"max_events must be an integer >= 1, got {max_events!r}")
        if budget is not None and (not isinstance(budget, (int, float)) or not budget >= 0):
            raise InvalidArgument(f"budget must be a number of seconds >= 0, got {budget!r}")
        if not self.events.items:
            return 0
        return self._dispatch(max_events, budget)

    def _dispatch(self, max_events: int | None, budget: float | None) -> int:
        events = self.events
        handlers = self._handlers
        with self._poll_lock:
            self._poll_owner = threading.get_ident()
            try:
                # Snapshot: events queued by callbacks wait for the next tick.
                limit = len(events.items)
                if max_events is not None and max_events < limit:
                    limit = max_events
                stop_at = None if budget is None else self.clock() + budget
                count = 0
                while count < limit:
                    event = events.pop()
                    if event is None:
                        break
                    count += 1
                    handlers[type(event)](event)
                    if stop_at is not None and self.clock() >= stop_at:
                        break
                return count
            finally:
                self._poll_owner = None

    def _add_handler(self, event_type: type[Event], handler: Handler) -> None:
        """Teach ``poll()`` a new event type (used by the WebSocket module).

        Thread-safety: call before any such event is queued.
        """
        self._handlers = {**self._handlers, event_type: handler}

    def _call_user(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a user callback; log (or re-raise, per config) what it raises.

        Thread-safety: the polling thread only.
        """
        try:
            fn(*args)
        except Exception:
            log.exception("httpops callback %r raised", fn)
            if self.config.raise_callback_errors:
                raise

    def _dispatch_progress(self, event: Progress) -> None:
        op = event.op
        if op.cancel_requested or op.silenced or op.state in TERMINAL:
            return  # canceled: no callback of it runs any more
        op.received = event.received
        op.total = event.total
        op.speed = event.speed
        op.progress = percent(event.received, event.total)
        if op.on_progress is not None:
            self._call_user(op.on_progress, op)
        listeners = self.listeners.get(_LISTENERS.get(op.kind, _NO_LISTENERS)[1])
        if listeners:
            args: tuple[Any, ...] = (op.id, op.url, op.progress)
            if op.kind in _FILE_KINDS:
                args = (*args, op.speed)
            for fn in listeners:
                self._call_user(fn, *args)

    def _dispatch_completion(self, event: Completion) -> None:
        op = event.op
        op._move_to(event.state)
        op.error = event.error
        op.response = event.response
        op.value = event.value
        for name, value in event.extra.items():
            setattr(op, name, value)
        done_callbacks = op._take_done_callbacks()
        if log.isEnabledFor(logging.DEBUG):  # one level check per completion when off
            log_completion(op, self.clock())
        if op.silenced:
            return
        listeners = self.listeners.get(_LISTENERS.get(op.kind, _NO_LISTENERS)[0])
        if listeners:
            if op.kind in _FILE_KINDS:
                args: tuple[Any, ...] = (op.id, op.url, op.error, op.path, op.checksum)
            else:
                args = (op.id, op.url, op.error, op.value)
            for fn in listeners:
                self._call_user(fn, *args)
        # Last, as in http.lua, whose global onGet calls the operation's callback.
        if op.callback is not None:
            self._call_user(op.callback, op)
        for fn in done_callbacks:  # add_done_callback(), in the order added
            self._call_user(fn, op)

    def _dispatch_done_callback(self, event: DoneCallback) -> None:
        if not event.op.silenced:
            self._call_user(event.fn, event.op)

    def wait(self, *ops: Operation, timeout: float | None = None) -> bool:
        """Pump the queue on this thread until every given operation is done.

        Returns:
            True if all finished, False if ``timeout`` passed first.

        Raises:
            ReentrantPollError: Called from inside a callback.

        Thread-safety: any thread that is not inside a callback.
        """
        check_timeout("timeout", timeout)
        pending = list(ops)

        def left() -> int:
            # Pruned as they finish: waiting on 2,000 operations must not cost
            # O(2,000) state reads on every pump.
            pending[:] = [op for op in pending if op._state not in TERMINAL]
            return len(pending)

        # finished() prunes first on each pump; gather() reads what it left.
        return self._pump_until(lambda: left() == 0, timeout, gather=lambda: len(pending) >= 2)

    def run_until_idle(self, timeout: float | None = None) -> bool:
        """Pump the queue until no operation is live and no event is waiting.

        Returns:
            True once idle, False if ``timeout`` passed first.

        Thread-safety: any thread that is not inside a callback.
        """
        check_timeout("timeout", timeout)

        def idle() -> bool:
            with self._lock:
                return not self._live and not self.events.items

        return self._pump_until(idle, timeout, gather=lambda: len(self._live) >= 2)

    def _pump_until(
        self, finished: Callable[[], bool], timeout: float | None, gather: Callable[[], bool]
    ) -> bool:
        stop_at = None if timeout is None else self.clock() + timeout
        while True:
            self.poll()
            if finished():
                return True
            remaining = None if stop_at is None else stop_at - self.clock()
            if remaining is not None and remaining <= 0:
                return False
            # Short slices: another thread may dispatch what we wait for.
            woke = self.events.wait_nonempty(0.05 if remaining is None else min(remaining, 0.05))
            if woke and gather():
                # Several of the awaited operations are still out: let their
                # completions gather for a moment, so one wake-up dispatches a
                # batch instead of one GIL hand-off per event. One awaited
                # operation is never delayed.
                time.sleep(_GATHER_SECONDS)

    # -- listeners and shutdown --------------------------------------------------------

    def connect(self, **listeners: Unpack[Listeners]) -> Callable[[], None]:
        """Register global listeners by their seed names (``on_get=...``).

        Names and signatures: ``on_get(operation_id, url, err, data)``,
        ``on_get_progress(operation_id, url, progress)``, ``on_post``,
        ``on_post_progress``, ``on_download(operation_id, url, err, path,
        checksum)``, ``on_download_progress(operation_id, url, progress,
        speed)``, ``on_ws_open``/``on_ws_message``/``on_ws_close``/
        ``on_ws_error(operation_id, message)``. ``err`` is the
        [`OperationError`][httpops.OperationError] or None; ``data`` is ``op.value``. Type
        checkers see every name with its signature, so a misspelt name or a
        listener of the wrong shape fails type checking too.

        Returns:
            A function that disconnects exactly these listeners.

        Raises:
            InvalidArgument: Unknown name. InvalidCallback: Not callable.

        Thread-safety: any thread.
        """
        # At run time any names may arrive (untyped callers): the registry checks them.
        return self.listeners.connect(cast("dict[str, Callable[..., Any]]", listeners))

    def scope(self) -> Scope:
        """A [`Scope`][httpops.Scope] whose operations are canceled and silenced together.

        Thread-safety: any thread.
        """
        return Scope(self)

    def set_wakeup(self, wakeup: Callable[[], object] | None) -> None:
        """Call ``wakeup()`` from a worker whenever the queue goes from empty to non-empty.

        Loop adapters use it to wake a host that sleeps between frames. It
        runs on whichever thread queues the event -- usually a worker, also
        the caller of ``cancel()``/``close()`` -- so it must be quick,
        thread-safe and must not call into the engine; what it raises is
        logged. Delivery never depends on it; ``poll()`` does the dispatching.

        Thread-safety: any thread.
        """
        check_callback("wakeup", wakeup)
        self.events.on_wakeup = wakeup

    def _add_resource(self, resource: Any) -> None:
        """Have [`close`][httpops.Engine.close] call ``resource.close_for_engine(deadline)``.

        Thread-safety: any thread.
        """
        with self._lock:
            if self._closed:
                raise EngineClosed("engine is closed")
            self._resources.append(resource)

    def _remove_resource(self, resource: Any) -> None:
        """Forget a resource registered with `_add_resource`. Thread-safety: any."""
        with self._lock:
            if resource in self._resources:
                self._resources.remove(resource)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what is in flight, close sockets, and join every thread started.

        Completions of the canceled operations stay queued; a later ``poll()``
        still dispatches them. Calling close() again does nothing.

        Thread-safety: any thread except a worker.
        """
        check_timeout("timeout", timeout, allow_none=False)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            live = list(self._live.values())
            resources, self._resources = self._resources, []
        self.events.warn_after = None  # completions left after close() need no poll()
        deadline = self.clock() + timeout
        # Canceling breaks every blocked read itself: the watchdog has nothing left
        # to judge, and ends meanwhile rather than after everything else.
        self._watchdog.stop()
        for op in live:
            self.cancel(op)
        for resource in resources:
            try:
                resource.close_for_engine(deadline)
            except Exception:
                log.exception("closing %r failed", resource)
        stuck = [t.name for t in self.backend.close(deadline)]
        if not self._watchdog.close(max(0.0, deadline - self.clock())):
            stuck.append(self._watchdog.name)  # ended within close()'s timeout, or reported
        self.transport.close()
        self.events.wake()
        if stuck:
            names = ", ".join(stuck)
            log.warning(
                "close(): threads still blocked in the network after %ss: %s", timeout, names
            )

    # -- an engine that was never closed ----------------------------------------------------

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        # Like an unclosed file: say so, then stop what the engine started without
        # waiting. The garbage collector may run this on any thread, also on one of
        # this engine's own workers, which cannot join itself.
        if getattr(self, "_closed", True):  # closed, or __init__ failed half-way
            return
        live = len(self._live)
        detail = f" with {live} live operation(s), now canceled" if live else ""
        try:
            _warn(
                f"httpops.Engine was never closed{detail}: call engine.close() or use "
                "'with httpops.Engine() as engine:'",
                ResourceWarning,
                source=self,
            )
        finally:  # also when warnings are errors (pytest -W error)
            self._abandon()

    def _abandon(self) -> None:
        """close() without waiting for any thread (for ``__del__``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            live = list(self._live.values())
            resources, self._resources = self._resources, []
        for op in live:
            self.cancel(op)
        now = self.clock()  # a deadline already passed: stop everything, join nothing
        stops: list[Callable[[], object]] = [partial(r.close_for_engine, now) for r in resources]
        stops.append(partial(self.backend.close, now))
        stops.append(self._watchdog.stop)
        stops.append(self.transport.close)
        for stop in stops:
            try:
                stop()
            except Exception:  # a thread that cannot join itself; its stop marker is queued
                log.debug("closing an abandoned engine: %r failed", stop, exc_info=True)

    def threads(self) -> list[threading.Thread]:
        """Worker threads this engine started (for leak checks). Thread-safety: any."""
        return self.backend.threads()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._live)} live"
        return f"<httpops.Engine {state}>"
