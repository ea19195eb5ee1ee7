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
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._config import Retry
from ._errors import (
    BodyTooLarge,
    Canceled,
    HTTPStatusError,
    JSONDecodeError,
    OperationError,
    TransportError,
)
from ._response import Headers, Response, is_textual
from ._transport import Request, Stream, Transport
from ._worker import TaskContext

__all__ = ["Outcome", "fetch", "open_stream", "raise_if_stopped", "with_retries"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

T = TypeVar("T")


@dataclass
class Outcome:
    """What a successful task hands to its completion event."""

    value: Any = None
    response: Response | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RetryableStatus(Exception):
    """Internal: the server answered with a status the retry policy retries."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # Wall-clock time is right here: the header is a wall-clock date.
    return max(0.0, when.timestamp() - now())


def content_length(headers: Headers) -> int | None:
    """The body length the headers promise, or None if unknown or encoded."""
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return None  # the length counts compressed bytes; we count decoded ones
    raw = headers.get("Content-Length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def with_retries(
    ctx: TaskContext,
    retry: Retry | None,
    method: str,
    attempt_once: Callable[[], T],
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt_once`` and retry it per ``retry`` on transport errors and
    retryable statuses, backing off on the worker (cancel wakes it early)."""
    allowed = retry is not None and (method in IDEMPOTENT_METHODS or retry.retry_non_idempotent)
    attempt = 0
    while True:
        ctx.check()
        try:
            return attempt_once()
        except Canceled:
            raise
        except (TransportError, RetryableStatus) as exc:
            if not allowed or retry is None or attempt >= retry.attempts or ctx.op.cancel_requested:
                if isinstance(exc, RetryableStatus):
                    raise AssertionError("RetryableStatus escaped its policy") from exc
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
    if abort_open is not None:
        ctx.abort_open = functools.partial(abort_open, threading.get_ident())
    try:
        ctx.check()  # again, now that a cancel can reach the request: no lost wake-up
        stream = transport.open(capped(request, ctx), on_upload)
    except OperationError:
        raise_if_stopped(ctx)
        raise
    finally:
        ctx.abort_open = None
    if (
        retry is not None
        and stream.status in retry.statuses
        and attempt < retry.attempts
        and (request.method in IDEMPOTENT_METHODS or retry.retry_non_idempotent)
    ):
        retry_after = parse_retry_after(stream.headers.get("Retry-After"))
        stream.close()
        raise RetryableStatus(stream.status, retry_after)
    return stream


def read_body(
    ctx: TaskContext, stream: Stream, request: Request, max_bytes: int, chunk: int
) -> bytes:
    """Read the whole body into memory, reporting progress and enforcing ``max_bytes``."""
    total = content_length(stream.headers)
    if total is not None and total > max_bytes:
        raise BodyTooLarge(
            request.method, request.url, f"Content-Length {total} exceeds the limit of {max_bytes}"
        )
    # BytesIO, not bytearray: getvalue() hands over its buffer without a copy.
    # bytes(bytearray) of a 32 MiB body is one copy (page faults included) of
    # ~15 ms with the GIL held -- a dropped frame for the host.
    body = io.BytesIO()
    received = 0
    ctx.restart_speed()
    ctx.active_stream = stream
    try:
        while True:
            ctx.check()
            try:
                data = stream.read_chunk(chunk)
            except OperationError:
                raise_if_stopped(ctx)
                raise
            if not data:
                break
            received += body.write(data)
            if received > max_bytes:
                raise BodyTooLarge(
                    request.method, request.url, f"body exceeds the limit of {max_bytes} bytes"
                )
            if total is None or received < total:  # else the final report follows at once
                ctx.progress(received, total)
    finally:
        ctx.active_stream = None
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
) -> Outcome:
    """Send ``request``, read its body into memory, decode it; on a worker.

    Returns:
        Outcome whose value is the Response, or the decoded JSON when
        ``want_json``.

    Raises:
        OperationError: Transport failure, status >= 400 (with the response),
            body too large, or invalid JSON.
    """
    attempts = 0

    def attempt_once() -> Response:
        nonlocal attempts
        started = clock()
        attempts += 1  # before opening: a retried status raises out of open_stream
        stream = open_stream(ctx, transport, request, retry, attempts - 1)
        try:
            content = read_body(ctx, stream, request, max_body_bytes, chunk_size)
        finally:
            stream.close()
        response = Response(
            stream.status, stream.reason, stream.headers, content, stream.url, clock() - started
        )
        return response

    response = with_retries(ctx, retry, request.method, attempt_once)
    if response.status >= 400:
        raise HTTPStatusError(request.method, request.url, response.status, response)
    if is_textual(response.headers.get("Content-Type")):
        response._text = response.decode_text()
    if not want_json:
        return Outcome(value=response, response=response)
    try:
        value = json.loads(response.content) if response.content.strip() else None
    except (ValueError, RecursionError) as exc:
        snippet = response.content[:100].decode("utf-8", errors="replace")
        err = JSONDecodeError(request.method, request.url, f"invalid JSON: {exc}", snippet)
        err.response = response
        raise err from None
    response._json = value
    return Outcome(value=value, response=response)
