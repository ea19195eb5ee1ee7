"""Owner scopes: operations that belong to one scene, canceled and silenced together.

A game scene starts requests, then the player leaves the scene. Whatever is
still in flight must not call back into a scene that no longer exists.
``with engine.scope() as scope:`` (or ``scope.close()``) cancels every
operation started through the scope and guarantees that none of their
callbacks or listeners runs afterwards, even if a completion is already
waiting in the queue.

A scope is also a group for one progress bar: `Scope.progress` sums
the bytes and speeds of its HTTP operations (an updater fetching 37 files
shows one bar), as a `ScopeProgress`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import EngineClosed
from ._operation import Operation, State, percent

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Scope", "ScopeProgress"]


@dataclass(frozen=True)
class ScopeProgress:
    """The combined progress of a scope's HTTP operations (one bar for many files).

    Failed and canceled operations count in ``failed``/``canceled`` only:
    their bytes are not part of ``received`` or ``total``.

    Attributes:
        received: Bytes received by the operations that are queued, running or done.
        total: Their expected bytes in all, or None while any of them does not
            know its size yet (a queued download does not).
        percent: 0-100, or None while ``total`` is None (and for a scope
            with nothing counted yet).
        speed: Bytes per second: the sum of the running operations' speeds.
        done: Operations finished successfully.
        failed: Operations that failed.
        canceled: Operations canceled.
        running: Operations running now.
        queued: Operations waiting for a worker.
    """

    received: int = 0
    total: int | None = 0
    percent: float | None = None
    speed: float = 0.0
    done: int = 0
    failed: int = 0
    canceled: int = 0
    running: int = 0
    queued: int = 0

    @property
    def finished(self) -> bool:
        """Whether nothing is queued or running any more."""
        return self.running == 0 and self.queued == 0


class _Tally:
    """Sums for `ScopeProgress`; one per call, plus the scope's retired share."""

    __slots__ = ("canceled", "done", "failed", "queued", "received", "running", "speed", "total")

    def __init__(self) -> None:
        self.received = 0
        self.total: int | None = 0
        self.speed = 0.0
        self.done = self.failed = self.canceled = self.running = self.queued = 0

    def add(self, op: Operation) -> None:
        """Count ``op`` as the last ``poll()`` left it (only poll() writes its figures)."""
        state = op.state
        if state is State.FAILED:
            self.failed += 1
            return
        if state is State.CANCELED:
            self.canceled += 1
            return
        received, total = op.received, op.total
        self.received += received
        if state is State.DONE:
            self.done += 1
            total = received if total is None else total
        elif state is State.RUNNING:
            self.running += 1
            self.speed += op.speed
        else:
            self.queued += 1
        self.total = None if self.total is None or total is None else self.total + total

    def merged(self, other: _Tally) -> ScopeProgress:
        received = self.received + other.received
        total = None if self.total is None or other.total is None else self.total + other.total
        counted = self.done + other.done + self.running + other.running
        share = percent(received, total) if counted + self.queued + other.queued else None
        return ScopeProgress(
            received, total, share, self.speed + other.speed, self.done + other.done,
            self.failed + other.failed, self.canceled + other.canceled,
            self.running + other.running, self.queued + other.queued,
        )  # fmt: skip


class Scope:
    """Starts operations on an engine and owns them until they finish or it closes.

    It has the engine's starting methods (``get``, ``get_json``, ``post``,
    ``post_json``, ``download``, ``download_image``, ``websocket``,
    ``websocket_json``) with the same arguments.
    """

    _STARTERS = frozenset(
        {
            "get",
            "get_json",
            "post",
            "post_json",
            "download",
            "download_image",
            "websocket",
            "websocket_json",
        }
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Guards _owned and _closed.
        self._lock = threading.Lock()
        self._owned: dict[int, Any] = {}
        self._closed = False
        # Finished operations are forgotten when the table reaches this size
        # (then twice what is left), so a long scene holds no dead bodies.
        self._prune_at = 64
        # What pruned operations (all finished) added to progress().
        self._retired = _Tally()

    def __getattr__(self, name: str) -> Any:
        if name not in self._STARTERS:
            raise AttributeError(name)
        start = getattr(self.engine, name)

        def start_owned(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if self._closed:
                    raise EngineClosed(f"scope is closed; cannot start {name}()")
            handle = start(*args, **kwargs)
            return self.adopt(handle)

        start_owned.__name__ = name
        start_owned.__doc__ = start.__doc__
        return start_owned

    def adopt(self, handle: Any) -> Any:
        """Make an already started operation (or WebSocket handle) belong to this scope.

        Thread-safety: any thread.
        """
        op = self._op(handle)
        with self._lock:
            closed = self._closed
            if not closed:
                self._owned[op.id] = handle
                if len(self._owned) >= self._prune_at:
                    self._prune()
        if closed:
            self._cancel(handle)
        return handle

    def _prune(self) -> None:
        """Forget finished operations, keeping their share of progress(); lock held."""
        kept = {}
        for op_id, handle in self._owned.items():
            op = self._op(handle)
            if not op.done():
                kept[op_id] = handle
            elif isinstance(handle, Operation):
                self._retired.add(op)
        self._owned = kept
        self._prune_at = max(64, 2 * len(self._owned))

    def progress(self) -> ScopeProgress:
        """The combined progress of the scope's HTTP operations (WebSockets left out).

        Counts every operation started through the scope (or adopted) until
        [`close`][httpops.Scope.close], finished ones included, so a bar over 37 files fills
        up to 100%. Figures are those the last ``poll()`` dispatched, like
        ``op.received`` and ``op.speed``.

        Thread-safety: any thread (read it on the polling thread for
        figures that agree with each other).
        """
        tally = _Tally()
        with self._lock:
            ops = [h for h in self._owned.values() if isinstance(h, Operation)]
            retired = self._retired
            for op in ops:
                tally.add(op)
        return tally.merged(retired)

    @property
    def operations(self) -> list[Any]:
        """Owned operations (or WebSocket handles) not yet finished. Thread-safety: any."""
        with self._lock:
            return [h for h in self._owned.values() if not self._op(h).done()]

    @staticmethod
    def _op(handle: Any) -> Operation:
        return handle if isinstance(handle, Operation) else handle.operation

    def _cancel(self, handle: Any) -> None:
        op = self._op(handle)
        op._silence()
        self.engine.cancel(op)

    def close(self) -> None:
        """Cancel every owned operation; none of their callbacks runs after this.

        Thread-safety: any thread.
        """
        with self._lock:
            self._closed = True
            owned, self._owned = list(self._owned.values()), {}
        for handle in owned:
            self._cancel(handle)

    def __enter__(self) -> Scope:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
