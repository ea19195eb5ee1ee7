"""Blocking HTTP work done on worker threads: open with retries, read bodies.

Everything here runs on a worker (``httpops-worker-N``) and reports through
its :class:`~httpops._worker.TaskContext`; nothing here calls user code or
knows which HTTP library is underneath (that is the transport's job).
Per-byte work -- accumulating the body, decoding text and JSON -- happens
here so that ``poll()`` on the host only hands over finished values.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import io
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._bandwidth import read_size
from ._config import Retry
from ._errors import (
    BodyTooLarge,
    Canceled,
    ConnectionDropped,
    HTTPStatusError,
    OperationError,
    TransportError,
)
from ._response import Headers, Response
from ._transport import Request, Stream, Transport
from ._validation import check_headers
from ._worker import TaskContext
from .transports.body import body_limit, finish_fetch, json_too_large

__all__ = [
    "Outcome",
    "body_over_limit",
    "check_complete",
    "check_promised_size",
    "fetch",
    "identity_headers",
    "open_stream",
    "pump",
    "raise_if_stopped",
    "status_error",
    "with_retries",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

T = TypeVar("T")


@dataclass
class Outcome:
    """What a successful task hands to its completion event."""

    value: Any = None
    response: Response | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RetryableStatus(Exception):
    """Internal: the server answered with a status the retry policy retries.

    Carries the error to report should the policy decline after all (the
    operation was canceled meanwhile), so it never escapes as itself.
    """

    def __init__(self, error: HTTPStatusError, retry_after: float | None) -> None:
        super().__init__(error.status)
        self.error = error
        self.retry_after = retry_after


def retries_status(retry: Retry | None, status: int, method: str, attempt: int) -> bool:
    """Whether ``retry`` tries again after this status (judged on the head, body unread).

    Shared by every transport, so a retried answer's body is never read or
    held against the body limit on either.
    """
    return (
        retry is not None
        and status in retry.statuses
        and attempt < retry.attempts
        and (method in IDEMPOTENT_METHODS or retry.retry_non_idempotent)
    )


def status_error(request: Request, stream: Stream) -> HTTPStatusError:
    """Close ``stream`` and return the HTTPStatusError for its status, body not read."""
    stream.close()
    response = Response(
        stream.status, stream.reason, stream.headers, b"", stream.url, method=request.method
    )
    return HTTPStatusError(request.method, request.url, stream.status, response)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    seconds = decimal(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # Wall-clock time is right here: the header is a wall-clock date.
    return max(0.0, when.timestamp() - now())


def decimal(text: str) -> int | None:
    """``text`` as a number of ASCII digits, else None.

    ``str.isdigit()`` also takes "²", which ``int()`` refuses: a hostile
    header must not become an internal error.
    """
    return int(text) if text.isascii() and text.isdigit() else None


def content_length(headers: Headers, *, decoded: bool = True) -> int | None:
    """The body length the headers promise, or None if unknown.

    ``decoded``: the body is read decoded, so an encoded one's length (it
    counts compressed bytes) is unknown; False: the bytes as sent are kept.
    """
    if decoded:
        encoding = headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return None
    raw = headers.get("Content-Length")
    return None if raw is None else decimal(raw.strip())


def identity_headers(headers: object) -> dict[str, str]:
    """Validated caller ``headers`` over ``Accept-Encoding: identity`` (files and images).

    Files are stored as sent: a compressed body would break sizes, resume
    offsets and checksums, so compression is off unless the caller insists.

    Raises:
        InvalidArgument: ``headers`` is not a mapping of valid header text.
    """
    return {"Accept-Encoding": "identity", **check_headers(headers)}


def with_retries(
    ctx: TaskContext,
    retry: Retry | None,
    method: str,
    attempt_once: Callable[[int], T],
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt_once(attempt)`` and retry it per ``retry`` on transport errors
    and retryable statuses, backing off on the worker (cancel wakes it early).

    ``attempt`` is how many tries came before -- the one counter of the
    operation, advanced by transport failures and retried statuses alike;
    pass it on to :func:`open_stream`, so that both agree on the last try.
    """
    allowed = retry is not None and (method in IDEMPOTENT_METHODS or retry.retry_non_idempotent)
    attempt = 0
    while True:
        ctx.check()
        try:
            return attempt_once(attempt)
        except Canceled:
            raise
        except (TransportError, RetryableStatus) as exc:
            if not allowed or retry is None or attempt >= retry.attempts or ctx.op.cancel_requested:
                raise_if_stopped(ctx)
                if isinstance(exc, RetryableStatus):
                    raise exc.error from None
                raise
            retry_after = exc.retry_after if isinstance(exc, RetryableStatus) else None
            ctx.sleep(retry.delay(attempt, rand(), retry_after))
            attempt += 1


def capped(request: Request, ctx: TaskContext) -> Request:
    """The request with its timeouts capped by the time left before the deadline."""
    remaining = ctx.remaining()
    if remaining is None:
        return request
    remaining = max(remaining, 0.001)
    if request.connect_timeout <= remaining and request.read_timeout <= remaining:
        return request
    return dataclasses.replace(
        request,
        connect_timeout=min(request.connect_timeout, remaining),
        read_timeout=min(request.read_timeout, remaining),
    )


def raise_if_stopped(ctx: TaskContext) -> None:
    """After a transport failure: raise Canceled or DeadlineExceeded if that was the cause.

    A cancel aborts the socket, and the deadline caps the socket timeouts, so
    the transport's own error (connection dropped, read timeout) hides what
    really stopped the operation.
    """
    try:
        ctx.check()
    except OperationError as stop:
        raise stop from None


def open_stream(
    ctx: TaskContext, transport: Transport, request: Request, retry: Retry | None, attempt: int
) -> Stream:
    """Open ``request``; raise RetryableStatus for a status the policy retries.

    ``attempt`` is how many tries came before; on the last allowed try a
    retryable status is returned like any other.
    """
    on_upload = ctx.upload_progress if request.body else None
    # getattr: a transport written before abort_open existed still works, uninterruptibly.
    abort_open = getattr(transport, "abort_open", None)
    extra: dict[str, Any] = {}
    if abort_open is not None:
        ctx.abort_open = functools.partial(abort_open, threading.get_ident())
        # Such a transport also re-checks once it holds a connection (no lost wake-up);
        # a deadline or low-speed stop from the watchdog breaks the request the same way.
        extra["canceled"] = ctx.stopped
    try:
        ctx.check()  # again, now that a cancel can reach the request
        stream = transport.open(capped(request, ctx), on_upload, **extra)
    except OperationError:
        raise_if_stopped(ctx)
        raise
    finally:
        ctx.abort_open = None
    if retries_status(retry, stream.status, request.method, attempt):
        retry_after = parse_retry_after(stream.headers.get("Retry-After"))
        raise RetryableStatus(status_error(request, stream), retry_after)
    return stream


def pump(
    ctx: TaskContext,
    stream: Stream,
    request: Request,
    *,
    limit: int | None,
    chunk_size: int,
    on_chunk: Callable[[bytes], object],
    total: int | None,
    received: int = 0,
    check: Callable[[], None] | None = None,
) -> int:
    """The one chunk loop: check, read, enforce ``limit``, hand over, report progress.

    Args:
        ctx: The task's context (cancel, deadline, progress).
        stream: The open response, whose body is read.
        request: For error messages.
        limit: Most bytes the whole body may have (None: no limit); a larger
            ``total`` is refused before the first read.
        chunk_size: Bytes per read.
        on_chunk: Called with each chunk (write it, hash it); may raise.
        total: The size the body will have in all, if known (progress, limit).
        received: Bytes of the body already held (a resumed download).
        check: Called before each read to stop the loop (default ``ctx.check``).

    Returns:
        The size of the body received, ``received`` included. The final
        progress report is the caller's: only it knows when the work is over.

    Raises:
        BodyTooLarge: ``total`` or the bytes received exceed ``limit``.
        OperationError: Transport failure, cancel, deadline, or from ``on_chunk``.
    """
    check_promised_size(request, total, limit)
    stop = ctx.check if check is None else check
    ctx.restart_speed(received)
    throttle = ctx.throttle
    if throttle is not None:  # a capped download reads in small, evenly paced steps
        chunk_size = read_size(chunk_size, throttle.rates)
    ctx.active_stream = stream
    try:
        while True:
            stop()
            try:
                data = stream.read_chunk(chunk_size)
            except OperationError:
                raise_if_stopped(ctx)
                raise
            if not data:
                # The watchdog's abort can look like a clean end (an endless
                # trailer section cut short reads as EOF): a stopped operation fails.
                stop()
                return received
            received += len(data)
            ctx.moved += len(data)
            if limit is not None and received > limit:  # checked before the bytes are kept
                raise body_over_limit(request, limit)
            on_chunk(data)
            if total is None or received < total:  # else the final report follows at once
                ctx.progress(received, total)
            if throttle is not None:
                throttle.pace(len(data))  # wakes at once on cancel or close
    finally:
        ctx.active_stream = None


def check_promised_size(request: Request, total: int | None, limit: int | None) -> None:
    """Refuse, before any byte is read, a body whose promised size is over ``limit``.

    Raises:
        BodyTooLarge: ``total`` (the Content-Length) exceeds ``limit``.
    """
    if limit is not None and total is not None and total > limit:
        raise BodyTooLarge(
            request.method, request.url, f"Content-Length {total} exceeds the limit of {limit}"
        )


def body_over_limit(request: Request, limit: int) -> BodyTooLarge:
    """The error for a body that grew past ``limit`` bytes while it was read."""
    return BodyTooLarge(request.method, request.url, f"body exceeds the limit of {limit} bytes")


def check_complete(request: Request, received: int, total: int | None) -> None:
    """Raise ConnectionDropped if the body ended before the promised ``total``."""
    if total is not None and received < total:
        raise ConnectionDropped(
            request.method, request.url,
            f"body ended after {received} of {total} bytes (truncated)",
        )  # fmt: skip


def read_body(
    ctx: TaskContext, stream: Stream, request: Request, max_bytes: int, chunk: int
) -> bytes:
    """Read the whole body into memory, reporting progress and enforcing ``max_bytes``."""
    # BytesIO, not bytearray: getvalue() hands over its buffer without a copy.
    # bytes(bytearray) of a 32 MiB body is one copy (page faults included) of
    # ~15 ms with the GIL held -- a dropped frame for the host.
    body = io.BytesIO()
    # A HEAD answer's Content-Length is the size a GET would get: no body follows.
    total = None if request.method == "HEAD" else content_length(stream.headers)
    received = pump(
        ctx, stream, request, limit=max_bytes, chunk_size=chunk, on_chunk=body.write, total=total
    )
    ctx.progress(received, total if total is not None else received, final=True)
    return body.getvalue()


def fetch(
    ctx: TaskContext,
    transport: Transport,
    request: Request,
    *,
    retry: Retry | None,
    max_body_bytes: int,
    chunk_size: int,
    want_json: bool,
    clock: Callable[[], float],
    max_json_bytes: int | None = None,
) -> Outcome:
    """Send ``request``, read its body into memory, decode it; on a worker.

    With ``want_json``, the body is also held to ``max_json_bytes``, counted
    as it arrives (after content decoding), so ``json.loads`` never starts on
    a body that would hold the GIL for long (docs/security.md).

    Returns:
        Outcome whose value is the Response, or the decoded JSON when
        ``want_json``.

    Raises:
        OperationError: Transport failure, status >= 400 (with the response;
            unless the request says ``raise_for_status=False``), body too
            large, or invalid JSON.
    """

    json_limit = body_limit(max_body_bytes, max_json_bytes, want_json)
    limit = max_body_bytes if json_limit is None else json_limit

    def attempt_once(attempt: int) -> Response:
        started = clock()
        stream = open_stream(ctx, transport, request, retry, attempt)
        try:
            content = read_body(ctx, stream, request, limit, chunk_size)
        except BodyTooLarge as exc:
            if json_limit is None:
                raise
            detail = json_too_large(exc.detail, limit)
            raise BodyTooLarge(request.method, request.url, detail) from None
        finally:
            stream.close()
        response = Response(
            stream.status, stream.reason, stream.headers, content, stream.url, clock() - started,
            # getattr: a transport that does not report redirects has no history.
            method=request.method, history=getattr(stream, "history", ()),
        )  # fmt: skip
        return response

    response = with_retries(ctx, retry, request.method, attempt_once)
    # Judged once, by the same code the curl transport uses.
    value, response = finish_fetch(request, response, want_json)
    return Outcome(value=value, response=response)
