"""EventQueue: the one channel between worker threads and the polling thread.

Many producers (workers) call :meth:`put`; one consumer (whichever thread
polls) calls :meth:`pop`. Completion events are never dropped. A progress
event that is still waiting is updated in place by a newer one for the same
operation (see :mod:`httpops._events`), so its position -- and with it the
rule "progress before completion" -- is kept.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from ._events import Event

__all__ = ["EventQueue"]

log = logging.getLogger("httpops")


class EventQueue:
    """Thread-safe FIFO of events with in-place coalescing.

    Args:
        on_wakeup: Called (on the producing thread, without locks held) when
            the queue goes from empty to non-empty. Must be cheap and must not
            call into the engine; loop adapters use it to wake a sleeping host.
    """

    def __init__(self, on_wakeup: Callable[[], object] | None = None) -> None:
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
                    return
                self._waiting_by_key[key] = event
            was_empty = not self.items
            self.items.append(event)
            if self._sleepers:
                self._nonempty.notify_all()
        if was_empty and self.on_wakeup is not None:
            try:
                self.on_wakeup()
            except Exception:  # a broken hook must not fail the operation or close()
                log.exception("httpops wake-up hook %r raised", self.on_wakeup)

    def pop(self) -> Event | None:
        """Take the oldest event, or None when empty.

        Thread-safety: the polling thread only.
        """
        with self._lock:
            if not self.items:
                return None
            event = self.items.popleft()
            key = event.coalesce_key
            if key is not None:
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
