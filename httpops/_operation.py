"""Operation: the handle for one request, download or WebSocket.

Theory of operation
-------------------
An operation moves through these states::

    QUEUED ──► RUNNING ──► DONE
       │          ├──────► FAILED
       │          └──────► CANCELED
       ├─────────────────► FAILED      (e.g. engine could not start it)
       └─────────────────► CANCELED    (canceled before a worker took it)

Who moves it:

* ``QUEUED → RUNNING``: the worker that takes the job, under the engine lock,
  and only if nobody has *claimed* the completion yet.
* ``→ DONE | FAILED | CANCELED``: the polling thread, when it dispatches the
  operation's completion event. The host therefore sees ``state``,
  ``response`` and ``error`` change only between its own statements, at the
  moment the callback runs.

Exactly-once completion rests on the *claim*: whoever first calls
``claim()`` (a worker with a result, or ``cancel()``) enqueues the one
completion event; every later result is discarded. ``claim()`` is called
with the engine lock held.

This module is pure: no sockets, no threads started, no user code called.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import HttpopsError, WaitTimeout

if TYPE_CHECKING:
    from ._engine import Engine
    from ._response import Response

__all__ = ["Operation", "State"]


class State(str, enum.Enum):
    """Lifecycle state of an operation."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset({State.DONE, State.FAILED, State.CANCELED})

#: Legal moves; anything else is a bug in httpops, not in the caller.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.QUEUED: frozenset({State.RUNNING, State.FAILED, State.CANCELED}),
    State.RUNNING: frozenset({State.DONE, State.FAILED, State.CANCELED}),
    State.DONE: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELED: frozenset(),
}


def percent(received: int, total: int | None) -> float | None:
    """Progress 0-100 of ``received`` out of ``total`` bytes (None when unknown)."""
    if total is None:
        return None
    return 100.0 if total <= 0 else min(100.0, received * 100.0 / total)


class IllegalTransition(RuntimeError):
    """An internal state-machine violation (a bug in httpops)."""


OperationCallback = Callable[["Operation"], Any]


class Operation:
    """Handle for one request, download or WebSocket.

    Attributes:
        id: Unique within its engine, counting from 1, never reused.
        kind: ``"get"``, ``"post"``, ``"download"``, ``"image"`` or ``"websocket"``.
        method: The HTTP method (``"GET"``, ``"POST"`` ...), ``"WS"`` for sockets.
        url: The URL as given.
        state: A [`State`][httpops.State].
        progress: 0-100, or None while the total size is unknown.
        received: Bytes received so far (sent, while a POST body uploads).
        total: Expected bytes, or None when unknown.
        speed: Smoothed transfer rate in bytes per second.
        error: The [`OperationError`][httpops.OperationError] once failed or canceled.
        response: The [`Response`][httpops.Response] (also kept on HTTP errors).
        value: The result: the Response, decoded JSON, or a download's path.
        path: A download's final path.
        checksum: A download's CRC32, as 8 lowercase hex digits.
    """

    __slots__ = (
        "_cancel_event",
        "_claimed",
        "_engine",
        "_silenced",
        "callback",
        "checksum",
        "error",
        "id",
        "kind",
        "method",
        "on_progress",
        "path",
        "progress",
        "received",
        "response",
        "speed",
        "state",
        "total",
        "url",
        "value",
    )

    def __init__(
        self,
        engine: Engine | None,
        op_id: int,
        kind: str,
        method: str,
        url: str,
        callback: OperationCallback | None = None,
        on_progress: OperationCallback | None = None,
    ) -> None:
        self._engine = engine
        self.id = op_id
        self.kind = kind
        self.method = method
        self.url = url
        self.callback = callback
        self.on_progress = on_progress
        self.state = State.QUEUED
        self.progress: float | None = None
        self.received = 0
        self.total: int | None = None
        self.speed = 0.0
        self.error: HttpopsError | None = None
        self.response: Response | None = None
        self.value: Any = None
        self.path: str | None = None
        self.checksum: str | None = None
        # Set when cancel is requested: workers poll it between chunks.
        self._cancel_event = threading.Event()
        # True once a completion has been enqueued (guarded by the engine lock).
        self._claimed = False
        # True once its owner said no callback of it may run any more.
        self._silenced = False

    # -- state machine (called by the engine; see module docstring) --------------------

    def move_to(self, new: State) -> None:
        """Change state, enforcing `TRANSITIONS`."""
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"operation {self.id}: {self.state} -> {new} is not allowed")
        self.state = new

    def claim(self) -> bool:
        """Claim the right to complete; True only for the first caller.

        Thread-safety: call with the engine lock held.
        """
        if self._claimed:
            return False
        self._claimed = True
        return True

    @property
    def claimed(self) -> bool:
        """Whether a completion has been enqueued (the result is decided)."""
        return self._claimed

    @property
    def silenced(self) -> bool:
        """Whether no callback or listener of this operation may run any more."""
        return self._silenced

    def silence(self) -> None:
        """From now on run none of this operation's callbacks or listeners.

        Its state still changes when its completion is dispatched.

        Thread-safety: any thread.
        """
        self._silenced = True

    @property
    def cancel_requested(self) -> bool:
        """Whether cancel was requested (workers stop at the next chunk).

        Thread-safety: any thread.
        """
        return self._cancel_event.is_set()

    def request_cancel(self) -> None:
        """Flag the operation for its worker to stop. Thread-safety: any thread."""
        self._cancel_event.set()

    def wait_canceled(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel.

        Thread-safety: any thread (used by workers for retry backoff).
        """
        return self._cancel_event.wait(timeout)

    # -- public API ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the completion was dispatched (done, failed or canceled).

        Thread-safety: any thread.
        """
        return self.state in TERMINAL

    def cancel(self) -> bool:
        """Cancel the operation; see [`Engine.cancel`][httpops.Engine.cancel].

        Returns:
            True if this call canceled it, False if it had already finished.

        Thread-safety: any thread.
        """
        if self._engine is None:
            return False
        return self._engine.cancel(self)

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the operation, pumping the engine's queue on this thread.

        Args:
            timeout: Seconds to wait, or None to wait as long as it takes.

        Returns:
            The value (the Response, decoded JSON, or a download's path).

        Raises:
            OperationError: The operation failed or was canceled.
            WaitTimeout: It did not finish within ``timeout``.

        Thread-safety: any thread that is not inside a callback.
        """
        if (
            not self.done
            and self._engine is not None
            and not self._engine.wait(self, timeout=timeout)
        ):
            raise WaitTimeout(f"{self.method} {self.url}: not finished after {timeout} seconds")
        if self.error is not None:
            raise self.error
        return self.value

    def __repr__(self) -> str:
        return f"<Operation {self.id} {self.method} {self.url} {self.state}>"
