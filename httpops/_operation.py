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

The ``concurrent.futures.Future`` protocol reads the same dispatched state:
``done()``, ``cancelled()`` and ``running()`` change only inside ``poll()``
(so ``cancel()`` returning True is followed by ``cancelled()`` at the next
poll); callbacks added with ``add_done_callback()`` run inside ``poll()``,
after the operation's own callback, and one added to a finished operation
waits for the next ``poll()`` -- never inside the call that added it.

Exactly-once completion rests on the *claim*: whoever first calls
``_claim()`` (a worker with a result, or ``cancel()``) enqueues the one
completion event; every later result is discarded. ``_claim()`` is called
with the engine lock held.

This module is pure: no sockets, no threads started, no user code called.
"""

from __future__ import annotations

import enum
import threading
import time
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic

from ._errors import InvalidCallback, OperationError, UsageError, WaitTimeout

if TYPE_CHECKING:
    # A default, so a bare ``Operation`` means ``Operation[Any]`` even under
    # mypy --strict; at run time a plain TypeVar (no typing_extensions needed).
    from typing_extensions import TypeVar

    from ._engine import Engine
    from ._response import Response
    from .transports import FetchSpec

    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

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


#: A per-operation callback: ``callback(op)``, on the polling thread.
OperationCallback = Callable[["Operation[Any]"], Any]

# Guards every operation's _done_callbacks and _callbacks_taken: add_done_callback()
# may run on any thread while poll() takes the list on the polling thread.
_callbacks_lock = threading.Lock()
# Guards every operation's _cancel_flag/_cancel_event pair (taken only on cancel and
# by a sleeping backoff, both rare).
_cancel_lock = threading.Lock()


class _DoneFlag:
    """What ``op.done`` is at run time: call it (``op.done()``, the Future protocol).

    ``done`` was a property in 0.1; a bare ``if op.done:`` or ``while not
    op.done:`` would now test a bound method -- always true -- and a script
    would silently stop waiting. This object still answers that truthfully,
    with a DeprecationWarning; type checkers already flag it (truthy-function).
    """

    __slots__ = ("_op",)

    def __init__(self, op: Operation) -> None:
        self._op = op

    def __call__(self) -> bool:
        return self._op.state in TERMINAL

    def __bool__(self) -> bool:
        warnings.warn(
            "Operation.done is a method now: call op.done() (a bare op.done stops working "
            "in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._op.state in TERMINAL

    def __repr__(self) -> str:
        return f"<bound method Operation.done of {self._op!r}>"


class _DoneMethod:
    """Descriptor that hands out a `_DoneFlag` for each ``op.done`` access."""

    def __init__(self, method: Callable[[Operation], bool]) -> None:
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __get__(self, op: Operation | None, owner: type | None = None) -> Any:
        return self if op is None else _DoneFlag(op)


class Operation(Generic[T]):
    """Handle for one request, download or WebSocket; ``T`` is the type of its result.

    ``Operation[Response]`` from ``get``/``post``, ``Operation[Any]`` (decoded
    JSON) from ``get_json``/``post_json``, ``Operation[str]`` (the path) from
    ``download``/``download_image``, ``Operation[tuple[int, str]]`` (close
    code and reason) for a WebSocket.

    Attributes:
        id: Unique within its engine, counting from 1, never reused.
        kind: ``"get"``, ``"post"``, ``"download"``, ``"image"`` or ``"websocket"``.
        method: The HTTP method (``"GET"``, ``"POST"`` ...), ``"WS"`` for sockets.
        url: The URL as given.
        state: A [`State`][httpops.State] (read-only).
        progress: 0-100, or None while the total size is unknown.
        received: Bytes received so far (sent, while a POST body uploads).
        total: Expected bytes, or None when unknown.
        speed: Smoothed transfer rate in bytes per second.
        error: The [`OperationError`][httpops.OperationError] once failed or canceled.
        response: The [`Response`][httpops.Response] (also kept on HTTP errors).
        value: The result: the Response, decoded JSON, or a download's path.
        path: A download's final path.
        checksum: A download's CRC32, as 8 lowercase hex digits.
        priority: Its place in the queue: larger runs sooner (default 0).
        rate_limit: A download's own cap in bytes per second, or None.
    """

    __slots__ = (
        "_callbacks_taken",
        "_cancel_event",
        "_cancel_flag",
        "_claimed",
        "_done_callbacks",
        "_engine",
        "_fetch",
        "_silenced",
        "_started",
        "_state",
        "callback",
        "checksum",
        "error",
        "id",
        "kind",
        "method",
        "on_progress",
        "path",
        "priority",
        "progress",
        "rate_limit",
        "received",
        "response",
        "speed",
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
        # Moved only by the engine (`_move_to`); users read it through `state`.
        self._state = State.QUEUED
        self.progress: float | None = None
        self.received = 0
        self.total: int | None = None
        self.speed = 0.0
        self.error: OperationError | None = None
        self.response: Response | None = None
        # None until it is done (and when it failed); typed as the result for
        # callbacks, which run once it is done. result() checks.
        self.value: T = None  # type: ignore[assignment]
        self.path: str | None = None
        self.checksum: str | None = None
        # Scheduling data, set by the engine at the start (transports read them).
        self.priority = 0
        self.rate_limit: int | None = None
        # The in-memory fetch it runs (GET/POST/JSON), for the worker's shared work.
        self._fetch: FetchSpec | None = None
        # Set when cancel is requested: workers poll it between chunks. The Event a
        # backoff sleeps on is made only when one does (a lock and a Condition per
        # operation would cost every small GET).
        self._cancel_flag = False
        self._cancel_event: threading.Event | None = None
        # True once a completion has been enqueued (guarded by the engine lock).
        self._claimed = False
        # True once its owner said no callback of it may run any more.
        self._silenced = False
        # add_done_callback() functions not yet run, and whether poll() took them
        # (both guarded by _callbacks_lock).
        # A list only once one is added: most operations never get one.
        self._done_callbacks: list[Callable[[Operation[T]], object]] | None = None
        self._callbacks_taken = False
        # When it was created, on the engine's clock (the debug log's duration).
        self._started = time.monotonic() if engine is None else engine.clock()

    # -- state machine (called by the engine; see module docstring) --------------------

    def _move_to(self, new: State) -> None:
        """Change state, enforcing `TRANSITIONS`."""
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"operation {self.id}: {self.state} -> {new} is not allowed")
        self._state = new

    def _claim(self) -> bool:
        """Claim the right to complete; True only for the first caller.

        Thread-safety: call with the engine lock held.
        """
        if self._claimed:
            return False
        self._claimed = True
        return True

    @property
    def state(self) -> State:
        """Its [`State`][httpops.State]; read-only, moved by the engine (see the module docstring).

        Thread-safety: any thread.
        """
        return self._state

    @property
    def claimed(self) -> bool:
        """Whether a completion has been enqueued (the result is decided)."""
        return self._claimed

    @property
    def silenced(self) -> bool:
        """Whether no callback or listener of this operation may run any more."""
        return self._silenced

    def _silence(self) -> None:
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
        return self._cancel_flag

    def _request_cancel(self) -> None:
        """Flag the operation for its worker to stop. Thread-safety: any thread."""
        with _cancel_lock:
            self._cancel_flag = True
            event = self._cancel_event
        if event is not None:
            event.set()

    def _wait_canceled(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel.

        Thread-safety: any thread (used by workers for retry backoff).
        """
        with _cancel_lock:
            if self._cancel_flag:
                return True
            event = self._cancel_event
            if event is None:
                event = self._cancel_event = threading.Event()
        return event.wait(timeout)

    def _take_done_callbacks(self) -> list[Callable[[Operation[T]], object]]:
        """Hand the done-callbacks to the dispatching completion, once.

        Later `add_done_callback` calls queue their function for the
        next ``poll()`` instead.

        Thread-safety: the polling thread, while dispatching the completion.
        """
        with _callbacks_lock:
            self._callbacks_taken = True
            taken, self._done_callbacks = self._done_callbacks, None
        return taken or []

    # -- public API: the concurrent.futures.Future protocol ------------------------------

    def done(self) -> bool:
        """True once the completion was dispatched (done, failed or canceled).

        A method, as in ``concurrent.futures.Future``; a bare
        ``op.done`` still works this release with a DeprecationWarning.

        Thread-safety: any thread.
        """
        return self.state in TERMINAL

    if not TYPE_CHECKING:
        done = _DoneMethod(done)

    def cancelled(self) -> bool:
        """True once its ``canceled`` completion was dispatched. Thread-safety: any thread."""
        return self.state is State.CANCELED

    def running(self) -> bool:
        """True while a worker (or its session) runs it. Thread-safety: any thread."""
        return self.state is State.RUNNING

    def cancel(self) -> bool:
        """Cancel the operation; see [`Engine.cancel`][httpops.Engine.cancel].

        Returns:
            True if this call canceled it, False if it had already finished.

        Thread-safety: any thread.
        """
        if self._engine is None:
            return False
        return self._engine.cancel(self)

    def _wait(self, timeout: float | None) -> None:
        """Pump the engine until this operation is done; raise WaitTimeout after ``timeout``."""
        if (
            self.state not in TERMINAL
            and self._engine is not None
            and not self._engine.wait(self, timeout=timeout)
        ):
            raise WaitTimeout(f"{self.method} {self.url}: not finished after {timeout} seconds")

    def result(self, timeout: float | None = None) -> T:
        """Wait for the operation, pumping the engine's queue on this thread.

        Args:
            timeout: Seconds to wait, or None to wait as long as it takes.

        Returns:
            The value (the Response, decoded JSON, or a download's path).

        Raises:
            OperationError: The operation failed or was canceled (a canceled
                one raises `Canceled`, also a
                ``concurrent.futures.CancelledError``).
            WaitTimeout: It did not finish within ``timeout`` (a builtin
                ``TimeoutError``); the operation goes on.

        Thread-safety: any thread that is not inside a callback (inside one,
        only for an operation that is already done).
        """
        self._wait(timeout)
        if self.error is not None:
            raise self.error
        return self.value

    def exception(self, timeout: float | None = None) -> OperationError | None:
        """Wait like `result`, then return the error instead of raising it.

        Returns:
            The operation's error, or None if it succeeded.

        Raises:
            Canceled: The operation was canceled (as ``Future.exception`` raises
                ``CancelledError``).
            WaitTimeout: It did not finish within ``timeout``.

        Thread-safety: as `result`.
        """
        self._wait(timeout)
        if self.state is State.CANCELED and self.error is not None:
            raise self.error
        return self.error

    def add_done_callback(self, fn: Callable[[Operation[T]], object]) -> None:
        """Call ``fn(op)`` inside ``poll()`` on the polling thread once the operation is done.

        Callbacks run in the order added, after the operation's own callback
        and the global listeners. If the operation is already done, ``fn``
        runs at the next ``poll()``, never inside this call. Like every
        callback, none runs for an operation silenced by its
        `Scope`.

        Raises:
            InvalidCallback: ``fn`` is not callable.
            UsageError: The operation belongs to no engine.

        Thread-safety: any thread.
        """
        if not callable(fn):
            raise InvalidCallback(f"fn must be callable, got {type(fn).__name__}")
        with _callbacks_lock:
            if not self._callbacks_taken:
                if self._done_callbacks is None:
                    self._done_callbacks = []
                self._done_callbacks.append(fn)
                return
        if self._engine is None:
            raise UsageError(f"operation {self.id} belongs to no engine; nothing polls it")
        from ._events import DoneCallback

        self._engine.events.put(DoneCallback(self, fn))

    def __await__(self) -> Generator[Any, None, T]:
        """``await op`` under `httpops.integrations.asyncio.AsyncioAdapter`.

        Returns ``value`` or raises the error; canceling the awaiting task
        cancels the operation.
        """
        from .integrations.asyncio import await_operation

        value: T = yield from await_operation(self).__await__()
        return value

    def __repr__(self) -> str:
        return f"<Operation {self.id} {self.method} {self.url} {self.state}>"
