"""``as_completed``: yield operations as they finish, pumping their engines (for scripts).

The script-side twin of ``concurrent.futures.as_completed``: there is no
executor thread to finish the futures, so the iterator itself runs
``poll()`` on the calling thread -- every callback of the operations (and of
anything else queued on their engines) runs there, between two ``next()``
calls. Runs on the caller's thread only; it starts no thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._errors import InvalidArgument, WaitTimeout
from ._operation import TERMINAL
from ._validation import check_timeout

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from ._engine import Engine
    from ._operation import Operation

    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["as_completed"]

# Longest sleep between two looks at the engines: another thread may poll
# them, and several engines cannot be waited on at once.
_SLICE = 0.05


def as_completed(
    ops: Iterable[Operation[T]], timeout: float | None = None
) -> Iterator[Operation[T]]:
    """Yield each of ``ops`` once it is done, in the order they finish.

    Operations already done come first, in the order given; duplicates are
    yielded once. Between two yields the iterator pumps the operations'
    engines on this thread (``poll()``), so callbacks run here.

    Args:
        ops: The operations (``Operation``, or WebSocket handles' ``operation``).
        timeout: Seconds from the call for all of them to finish (None: no limit).

    Yields:
        Each operation, done (succeeded, failed or canceled: look at
        ``op.error`` or call ``op.result()``).

    Raises:
        WaitTimeout: ``timeout`` ran out first (a builtin ``TimeoutError``, as
            ``concurrent.futures.as_completed`` raises); the rest go on.
        ReentrantPollError: Iterated inside a callback.
        InvalidArgument: ``timeout`` is not a number > 0, or an item is not an
            operation.

    Thread-safety: any thread that is not inside a callback.
    """
    check_timeout("timeout", timeout)
    pending = _unique(ops)
    # Checked now, not at the first next(): a generator would defer the error.
    return _iterate(pending, timeout, time.monotonic())


def _unique(ops: Iterable[Operation[T]]) -> list[Operation[T]]:
    from ._operation import Operation

    seen: dict[int, Operation[T]] = {}
    for op in ops:
        if not isinstance(op, Operation):
            raise InvalidArgument(f"as_completed() takes operations, got {type(op).__name__}")
        if op._engine is None:
            raise InvalidArgument(f"{op!r} belongs to no engine; nothing can finish it")
        seen.setdefault(id(op), op)
    return list(seen.values())


def _iterate(
    pending: list[Operation[T]], timeout: float | None, started: float
) -> Iterator[Operation[T]]:
    total = len(pending)
    stop_at = None if timeout is None else started + timeout
    while True:
        finished: list[Operation[T]] = []
        waiting: list[Operation[T]] = []
        for op in pending:  # one look per operation: another thread may be polling
            (finished if op._state in TERMINAL else waiting).append(op)
        pending = waiting
        yield from finished
        if not pending:
            return
        engines = _engines(pending)
        if sum(engine.poll() for engine in engines):
            continue  # something was dispatched: look again before sleeping
        remaining = None if stop_at is None else stop_at - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise WaitTimeout(
                f"{len(pending)} of {total} operations not finished after {timeout} s"
            )
        wait = _SLICE if remaining is None else min(remaining, _SLICE)
        if len(engines) > 1:
            wait = min(wait, 0.005)
        engines[0].events.wait_nonempty(wait)


def _engines(ops: list[Operation[T]]) -> list[Engine]:
    """The distinct engines of ``ops`` (each has one: checked by :func:`_unique`)."""
    engines: dict[int, Engine] = {}
    for op in ops:
        if op._engine is not None:
            engines.setdefault(id(op._engine), op._engine)
    return list(engines.values())
