"""How the curl network loop completes an in-memory fetch: outcome, retry, failure.

Part of :class:`~httpops.transports.curl.NetworkLoop` (a mixin, so the loop
file keeps to the loop): once a fetch's transfer has ended, this decides
whether it is retried (on the loop's timer heap, never in a sleeping thread)
or completed -- through the engine's :meth:`Host.finish`, the one claim that
makes completion exactly-once -- with its :class:`~httpops.Response`,
history and decoded value, or its error. Everything here runs on the curl
network thread.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._body import BodySource
from .._errors import DeadlineExceeded, OperationError, TransportError
from .._response import Response
from .._transfer import IDEMPOTENT_METHODS, Outcome, parse_retry_after
from .body import finish_fetch
from .curl_errors import Failure, translate
from .curl_transfer import FetchTransfer

if TYPE_CHECKING:
    from . import Host

__all__ = ["FetchOutcomes"]


class FetchOutcomes:
    """The fetch-completion half of the network loop (see the module docstring).

    Thread-safety: the network thread only.
    """

    # Provided by NetworkLoop.
    _host: Host
    _clock: Callable[[], float]
    _by_op: dict[int, FetchTransfer]
    _timers: list[tuple[float, int, FetchTransfer]]
    _seq: itertools.count[int]

    def _done(
        self, transfer: FetchTransfer, outcome: Any = None, error: OperationError | None = None
    ) -> None:
        """Complete a fetch through the engine's one claim; release its body's files."""
        self._by_op.pop(transfer.op.id, None)
        body = transfer.request.body
        if isinstance(body, BodySource):
            body.close()  # the files it opened, whatever happened (as the worker path does)
        self._host.finish(transfer.op, transfer.ctx, outcome, error=error)

    def _fetch_ended(
        self,
        transfer: FetchTransfer,
        failure: Failure | None,
        error: OperationError | None = None,
    ) -> None:
        op, ctx = transfer.op, transfer.ctx
        if op.cancel_requested:
            return  # the cancel command completes it
        try:
            if transfer.retrying and self._retry_status(transfer):
                return  # judged on the head; the cut body is no failure
            if error is None and failure is not None:
                error = transfer.abort_error or translate(
                    failure, transfer.request, transfer.deadline
                )
            if error is not None:
                if not self._retry(transfer, error, None):
                    ctx.check()  # a deadline or cancel is what really stopped it
                    raise error
                return
            if self._retry_status(transfer):
                return
            outcome = self._outcome(transfer)
        except OperationError as exc:
            self._done(transfer, error=exc)
        else:
            self._done(transfer, outcome)

    def _outcome(self, transfer: FetchTransfer) -> Any:
        request = transfer.request
        received, expected = transfer.received, transfer.expected
        transfer.ctx.progress(received, expected if expected is not None else received, final=True)
        response = Response(
            transfer.status, transfer.reason, transfer.headers, transfer.body(), transfer.url,
            self._clock() - transfer.began, method=request.method, history=transfer.history,
        )  # fmt: skip
        transfer.reset_body()
        value, response = finish_fetch(request, response, transfer.want_json)
        return Outcome(value=value, response=response)

    def _retry_status(self, transfer: FetchTransfer) -> bool:
        retry = transfer.retry
        if retry is None or transfer.status not in retry.statuses:
            return False
        retry_after = parse_retry_after(transfer.headers.get("Retry-After"))
        return self._retry(transfer, None, retry_after)

    def _retry(
        self, transfer: FetchTransfer, error: OperationError | None, retry_after: float | None
    ) -> bool:
        """Schedule another try on the timer heap if the policy allows one."""
        retry, method = transfer.retry, transfer.request.method
        if retry is None or transfer.attempt >= retry.attempts:
            return False
        if error is not None and not isinstance(error, TransportError):
            return False
        if method not in IDEMPOTENT_METHODS and not retry.retry_non_idempotent:
            return False
        if transfer.op.cancel_requested:
            return False
        delay = retry.delay(transfer.attempt, random.random(), retry_after)
        remaining = transfer.ctx.remaining()
        if remaining is not None:
            delay = min(delay, max(remaining, 0.0))
        transfer.attempt += 1
        transfer.reset_body()
        transfer.restart()
        transfer.ctx.sleeping = True  # a backoff moves no bytes by design: no low-speed verdict
        heapq.heappush(self._timers, (self._clock() + delay, next(self._seq), transfer))
        return True

    def _fail_deadline(self, transfer: FetchTransfer) -> None:
        op = transfer.op
        deadline = transfer.deadline or 0.0
        error = DeadlineExceeded(
            op.method, op.url, f"not finished within the {deadline:g}s deadline"
        )
        self._done(transfer, error=error)
