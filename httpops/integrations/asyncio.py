"""asyncio: drain the engine on the event loop when workers have something, and await ops.

::

    from httpops.integrations.asyncio import AsyncioAdapter

    async def main() -> None:
        with httpops.Engine() as engine, AsyncioAdapter(engine):
            player = await engine.get_json("http://127.0.0.1:8000/api/player/1")
            # the event loop keeps running meanwhile; adapter.wait(op, timeout)
            # is the same with a timeout

Canceling the task that awaits an operation cancels the operation (as
``asyncio.wait_for`` on a timeout does); a ``timeout`` of ``adapter.wait``
that runs out leaves it running.

No polling timer: the engine's wake-up hook (called on a worker when its
queue goes from empty to non-empty) schedules a drain with
``loop.call_soon_threadsafe``; the drain runs ``poll(budget=...)`` on the
event loop's thread, where every callback then runs, and schedules itself
again while events are left, so a burst never holds the loop for more than
one budget at a time.

Threads: the hook runs on workers and only calls the thread-safe
``call_soon_threadsafe``. Everything else runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

from .._engine import Engine
from .._errors import UsageError
from .._operation import Operation

__all__ = ["AsyncioAdapter", "await_operation"]

# Guards _adapters: which adapter delivers each engine's events (for ``await op``).
_adapters_lock = threading.Lock()
_adapters: weakref.WeakKeyDictionary[Engine, AsyncioAdapter] = weakref.WeakKeyDictionary()


async def await_operation(op: Operation) -> Any:
    """What ``await op`` runs: `AsyncioAdapter.wait` of the op's engine's adapter.

    Raises:
        UsageError: No open `AsyncioAdapter` delivers the engine's
            events on the running loop (nothing would ever finish the await).
    """
    if op.done():
        return op.result()  # nothing to wait for: no adapter needed
    loop = asyncio.get_running_loop()
    with _adapters_lock:
        adapter = _adapters.get(op._engine) if op._engine is not None else None
    if adapter is None or adapter.loop is not loop:
        raise UsageError(
            f"await {op!r} needs an open httpops.integrations.asyncio.AsyncioAdapter(engine) "
            "on the running event loop; create one first"
        )
    return await adapter.wait(op)


class AsyncioAdapter:
    """Delivers ``engine``'s events on ``loop`` and lets coroutines await operations.

    Args:
        engine: The engine. Its wake-up hook is replaced.
        loop: The event loop (default: the running loop).
        budget: Seconds one drain may spend in ``poll()`` before yielding
            to other tasks (None: dispatch all that is ready).

    Raises:
        RuntimeError: No ``loop`` given and no loop is running.
    """

    def __init__(
        self,
        engine: Engine,
        loop: asyncio.AbstractEventLoop | None = None,
        budget: float | None = 0.005,
    ) -> None:
        self.engine = engine
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self.budget = budget
        # Set while a drain is scheduled and has not started: one is enough.
        self._scheduled = threading.Event()
        # Futures of wait() calls, woken after every drain (event loop thread only).
        self._waiters: set[asyncio.Future[None]] = set()
        self._closed = False
        engine.set_wakeup(self._wake)
        with _adapters_lock:
            _adapters[engine] = self
        self._wake()  # events queued before the adapter existed

    def _wake(self) -> None:
        """The engine's wake-up hook (a worker thread, or the constructor)."""
        if self._scheduled.is_set() or self._closed:
            return
        self._scheduled.set()
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nothing left to deliver to
            self._scheduled.clear()

    def _drain(self) -> None:
        """Poll once on the event loop; go again soon while events are left."""
        self._scheduled.clear()
        if self._closed:
            return
        self.engine.poll(budget=self.budget)
        if self.engine.events.items:
            self._wake()  # a budgeted poll left some: let other tasks run first
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(None)

    async def wait(self, op: Any, timeout: float | None = None) -> Any:
        """Await ``op`` (an [`Operation`][httpops.Operation] or WebSocket handle) without blocking.

        Returns:
            ``op.value`` (the Response, decoded JSON, a download's path).

        Raises:
            OperationError: The operation failed or was canceled (its error).
            TimeoutError: ``timeout`` seconds passed first (the operation
                goes on; cancel it if you no longer want it).
            asyncio.CancelledError: The awaiting task was canceled; so was
                the operation.

        Thread-safety: the event loop's thread.
        """
        operation: Operation = op if isinstance(op, Operation) else op.operation
        try:
            if timeout is None:
                await self._until_done(operation)
            else:
                await asyncio.wait_for(self._until_done(operation), timeout)
        except asyncio.CancelledError:
            operation.cancel()  # nobody awaits the result any more
            raise
        if operation.error is not None:
            raise operation.error
        return operation.value

    async def _until_done(self, operation: Operation) -> None:
        # op.done() only changes inside poll(), i.e. inside a drain on this loop,
        # and every drain wakes the waiters: no progress is missed.
        while not operation.done():
            future: asyncio.Future[None] = self.loop.create_future()
            self._waiters.add(future)
            await future

    def close(self) -> None:
        """Remove the wake-up hook; pending waits see no more progress. Thread-safety: any."""
        self._closed = True
        self.engine.set_wakeup(None)
        with _adapters_lock:
            if _adapters.get(self.engine) is self:
                del _adapters[self.engine]

    def __enter__(self) -> AsyncioAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
