"""EventQueue: the one channel between worker threads and the polling thread.

Many producers (workers) call :meth:`put`; one consumer (whichever thread
polls) calls :meth:`pop`. Completion events are never dropped. A progress
event that is still waiting is updated in place by a newer one for the same
operation (see :mod:`httpops._events`), so its position -- and with it the
rule "progress before completion" -- is kept.

A host that never polls gets no callbacks and no error either, so the
producer side watches for it: when events have waited more than
``warn_after`` seconds with nobody taking any, the next :meth:`put` logs one
warning. It costs a clock read per put while events wait; no thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ._events import Event

__all__ = ["EventQueue"]

log = logging.getLogger("httpops")

#: Seconds events may wait for a poll() before the warning (several frames of any game).
WARN_AFTER = 5.0


class EventQueue:
    """Thread-safe FIFO of events with in-place coalescing.

    Args:
        on_wakeup: Called (on the producing thread, without locks held) when
            the queue goes from empty to non-empty. Must be cheap and must not
            call into the engine; loop adapters use it to wake a sleeping host.
        warn_after: Seconds events may wait with nobody taking any before one
            warning is logged (None: never).
        clock: Monotonic clock.
    """

    def __init__(
        self,
        on_wakeup: Callable[[], object] | None = None,
        *,
        warn_after: float | None = WARN_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The deque itself; appends and pops are atomic, and the engine reads
        # its truthiness without the lock for an O(1) idle poll().
        self.items: deque[Event] = deque()
        # Guards `_waiting_by_key` and the check-then-append of coalescing;
        # the condition wakes threads blocked in wait_nonempty().
        self._lock = threading.Lock()
        self._nonempty = threading.Condition(self._lock)
        self._waiting_by_key: dict[object, Event] = {}
        self._sleepers = 0
        self.on_wakeup = on_wakeup
        # Starvation watch, under the lock: since when events wait with no pop
        # (the queue went non-empty, or the last pop left some), and whether it warned.
        self.warn_after = warn_after
        self.clock = clock
        self._waiting_since: float | None = None
        self._warned = False

    def __len__(self) -> int:
        return len(self.items)

    def put(self, event: Event) -> None:
        """Enqueue an event, coalescing it into a waiting one with the same key.

        Thread-safety: any thread.
        """
        key = event.coalesce_key
        with self._lock:
            if key is not None:
                waiting = self._waiting_by_key.get(key)
                if waiting is not None:
                    waiting.update_from(event)  # type: ignore[attr-defined]
                    if event.closes_slot:  # newer events queue after this figure
                        del self._waiting_by_key[key]
                    return
                if not event.closes_slot:
                    self._waiting_by_key[key] = event
            was_empty = not self.items
            self.items.append(event)
            if self._sleepers:
                self._nonempty.notify_all()
            starved = self._watch(was_empty)
        if starved is not None:
            log.warning(
                "%d httpops events have waited %.1f s for poll(): callbacks run only inside "
                "Engine.poll()/wait() on your thread (httpops.poll() for the default engine "
                "and httpops.HTTP); is your loop calling it? (logged once per engine)",
                len(self.items),
                starved,
            )
        if was_empty and self.on_wakeup is not None:
            try:
                self.on_wakeup()
            except Exception:  # a broken hook must not fail the operation or close()
                log.exception("httpops wake-up hook %r raised", self.on_wakeup)

    def _watch(self, was_empty: bool) -> float | None:
        """With the lock held, after an append: how long events have waited, once, if too long."""
        if self.warn_after is None or self._warned:
            return None
        now = self.clock()
        if was_empty or self._waiting_since is None:
            self._waiting_since = now
            return None
        waited = now - self._waiting_since
        if waited < self.warn_after:
            return None
        self._warned = True
        return waited

    def pop(self) -> Event | None:
        """Take the oldest event, or None when empty.

        Thread-safety: the polling thread only.
        """
        with self._lock:
            if not self.items:
                return None
            event = self.items.popleft()
            # Someone is taking events: the wait of what is left starts now.
            self._waiting_since = None
            key = event.coalesce_key
            if key is not None and self._waiting_by_key.get(key) is event:
                # From here on a newer event with this key starts a new slot.
                del self._waiting_by_key[key]
            return event

    def wait_nonempty(self, timeout: float | None) -> bool:
        """Block until an event is waiting or ``timeout`` passes; True if non-empty.

        Thread-safety: any thread.
        """
        with self._lock:
            if self.items:
                return True
            self._sleepers += 1
            try:
                self._nonempty.wait(timeout)
            finally:
                self._sleepers -= 1
            return bool(self.items)

    def wake(self) -> None:
        """Wake every thread blocked in :meth:`wait_nonempty` (used by close).

        Thread-safety: any thread.
        """
        with self._lock:
            self._nonempty.notify_all()
