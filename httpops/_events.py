"""Event types that workers put on the queue and ``poll()`` dispatches (pure data).

Workers never call user code: they describe what happened with one of these
and put it on the :class:`~httpops._queue.EventQueue`. The polling thread
applies each event to its :class:`~httpops.Operation` and runs callbacks.

An event with a ``coalesce_key`` that is still waiting in the queue is
updated in place by a newer event with the same key, so a flood of progress
reports costs the host one dispatch per tick, not one per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import OperationError
    from ._operation import Operation, OperationCallback, State
    from ._response import Response

__all__ = ["Completion", "DoneCallback", "Event", "Progress"]


class Event:
    """Base of every queued event."""

    __slots__ = ()

    #: Key under which a waiting event is replaced by a newer one (None: never).
    coalesce_key: Any = None
    #: Once coalesced in, the slot takes no newer event (a figure that must be seen).
    closes_slot: bool = False


@dataclass(slots=True, eq=False)
class Progress(Event):
    """Bytes moved for one operation.

    ``direction`` is ``"down"`` for a response body, ``"up"`` for a request body.
    """

    op: Operation
    received: int
    total: int | None
    speed: float
    direction: str = "down"

    @property
    def coalesce_key(self) -> Any:
        return self.op.id

    @property
    def closes_slot(self) -> bool:  # type: ignore[override]
        # An upload's last figure: the answer's progress, reported right after it
        # (on curl within microseconds), must not replace it before the host polls.
        return self.direction == "up" and self.total is not None and self.received >= self.total

    def update_from(self, newer: Progress) -> None:
        """Take the figures of a newer progress event of the same operation."""
        self.received = newer.received
        self.total = newer.total
        self.speed = newer.speed
        self.direction = newer.direction


@dataclass(slots=True, eq=False)
class Completion(Event):
    """The one completion of an operation: done, failed or canceled."""

    op: Operation
    state: State
    error: OperationError | None = None
    response: Response | None = None
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class DoneCallback(Event):
    """Run ``fn(op)`` for an operation that was already done when it was added.

    Queued by ``Operation.add_done_callback`` so that the function runs at
    the next ``poll()``, never inside the call that added it.
    """

    op: Operation
    fn: OperationCallback
