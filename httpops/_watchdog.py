"""One thread per engine that stops running operations whose time rules are broken.

A socket timeout is per read, so a peer that drips one byte just inside it
(in the status line, a header, a chunk-size line, the trailers) never trips
it, and a check between body chunks never runs while the transport is stuck
inside the head. The watchdog keeps a heap of the next moment each running
operation must be looked at -- its deadline, or the end of its low-speed
window -- and at that moment decides, sets the operation's stop error and
breaks its blocked read the way cancel does (:meth:`TaskContext.abort`,
which closes the socket under the read). The worker then sees the stop error
at its next :meth:`TaskContext.check`.

The rules themselves are plain data (:class:`TimeRules`), so another
transport can enforce the same ones natively (libcurl's ``TIMEOUT``,
``LOW_SPEED_LIMIT`` and ``LOW_SPEED_TIME``) while the watchdog stays the
backstop.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["TimeRules", "Watchdog", "Watched"]

log = logging.getLogger("httpops")

# Rebuild the heap once this many of its entries are emptied (and they are at
# least half of it): keeps the heap's size bounded by the running operations.
_COMPACT_MIN = 64
# Seconds: the thread wakes at least this often (an injected clock need not
# follow real time, and the lazy entries below are taken in at each wake).
_MAX_SLEEP = 1.0
# An entry due at least this far ahead waits in a lock-free list until the
# thread's next wake (within _MAX_SLEEP), dropped there if its operation has
# ended by then (or sooner: see watch): a small GET under the 60 s low-speed
# window never touches the lock or the heap. Nearer entries go straight into the heap.
_LAZY_AHEAD = 2 * _MAX_SLEEP


@dataclass(frozen=True)
class TimeRules:
    """The time limits of one operation, as data any transport can apply.

    Attributes:
        deadline: Seconds for the whole operation (None: none).
        low_speed_limit: Bytes per second the body must average over each
            ``low_speed_time`` window (None: no such rule).
        low_speed_time: Length of the low-speed window, in seconds.
    """

    deadline: float | None = None
    low_speed_limit: int | None = None
    low_speed_time: float = 60.0


class Watched(Protocol):
    """What the watchdog needs of a running operation (a TaskContext)."""

    #: Set (before :meth:`Watchdog.forget`) once the operation ended.
    finished: bool

    def inspect(self, now: float) -> float | None:
        """Judge the rules at ``now``; stop the operation if one is broken.

        Returns:
            When to look again, or None (stopped, or nothing left to watch).
        """
        ...


class _LazyEntry(weakref.ref):  # type: ignore[type-arg]
    """A lazy entry: a weak reference that carries its time (one object, not a
    (when, ref) pair: the collector tracks one object fewer per request)."""

    __slots__ = ("when",)
    when: float

    def __new__(cls, item: Watched, when: float) -> _LazyEntry:
        # weakref.ref.__init__ then ignores its arguments (``when`` is no callback).
        self = super().__new__(cls, item)
        self.when = when
        return self


class Watchdog:
    """A heap of (when, operation) on one lazily started daemon thread.

    Thread-safety: every method may be called from any thread.
    """

    def __init__(self, clock: Callable[[], float], name: str = "httpops-watchdog") -> None:
        self._clock = clock
        self._name = name
        # Guards _heap, _stale, _thread and _closed; notified when the earliest entry changes.
        self._cond = threading.Condition(threading.Lock())
        # Entries are [when, order, item]; forget() empties an entry's item at once,
        # so a finished operation (and its body) is not kept until its deadline.
        self._heap: list[list[Any]] = []
        self._entries: dict[int, list[Any]] = {}  # id(item) -> its entry
        self._order = itertools.count()  # ties: never compare two Watched
        self._stale = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        # Entries due at least _LAZY_AHEAD ahead; deque appends need no lock. Weak: a
        # finished operation (its body, its socket) is not kept until the next wake.
        self._pending: collections.deque[_LazyEntry] = collections.deque()
        self._draining = False  # True while _take_pending moves entries (see forget)

    @property
    def name(self) -> str:
        """The thread's name. Thread-safety: any thread."""
        return self._name

    def watch(self, item: Watched, when: float | None) -> None:
        """Look at ``item`` at ``when`` (clock time); None: never. Thread-safety: any."""
        if when is None:
            return
        if self._thread is not None and not self._closed and when - self._clock() >= _LAZY_AHEAD:
            pending = self._pending
            pending.append(_LazyEntry(item, when))
            # Look at the two oldest: an ended operation's entry is dropped now, not
            # at the next wake, so a burst of short requests does not keep thousands
            # of them (objects the cyclic collector tracks and would promote to its
            # oldest generation, making every full collection longer and more
            # frequent). A live one goes to the back. Lock-free: popleft and append
            # are atomic, and a concurrent _take_pending takes what it finds.
            for _ in range(2):
                try:
                    oldest = pending.popleft()
                except IndexError:
                    break
                alive = oldest()
                if alive is not None and not alive.finished:
                    pending.append(oldest)
            return
        with self._cond:
            # finished is set before forget() runs: checked here, under the lock, a
            # re-watch racing with the end of the operation cannot outlive it.
            if self._closed or item.finished:
                return
            entry = [when, next(self._order), item]
            self._entries[id(item)] = entry
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif self._heap[0][2] is item:
                self._cond.notify()

    def forget(self, item: Watched) -> None:
        """Stop watching ``item`` (it finished); its heap slot is reclaimed lazily.

        Thread-safety: any thread.
        """
        # Lock-free when it never reached the heap (a lazy entry is dropped where it
        # waits). _draining is read first: while _take_pending may be moving this
        # item, the lock (held by it) decides.
        if not self._draining and id(item) not in self._entries:
            return
        with self._cond:
            entry = self._entries.pop(id(item), None)
            if entry is None:
                return
            entry[2] = None
            self._stale += 1
            if self._stale >= _COMPACT_MIN and self._stale * 2 >= len(self._heap):
                self._heap = [e for e in self._heap if e[2] is not None]
                heapq.heapify(self._heap)
                self._stale = 0

    def stop(self) -> None:
        """Tell the thread to end (it watches nothing more); returns at once.

        :meth:`close` calls it too; calling it first lets the thread end while
        the caller waits for other threads.

        Thread-safety: any thread.
        """
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._entries.clear()
            self._pending.clear()
            self._cond.notify()

    def close(self, timeout: float) -> bool:
        """Stop the thread and wait up to ``timeout`` s for it. Returns True if it ended.

        Thread-safety: any thread except the watchdog's own.
        """
        self.stop()
        with self._cond:
            thread = self._thread
        if thread is None:
            return True
        thread.join(max(timeout, 0.0))
        return not thread.is_alive()

    def _due(self) -> list[Watched] | None:
        """Wait for the entries whose time has come; None once closed."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                self._take_pending()
                now = self._clock()
                if self._heap and self._heap[0][0] <= now:
                    due = []
                    while self._heap and self._heap[0][0] <= now:
                        entry = heapq.heappop(self._heap)
                        item = entry[2]
                        if item is None:
                            self._stale = max(0, self._stale - 1)
                            continue
                        if self._entries.get(id(item)) is entry:
                            del self._entries[id(item)]
                        due.append(item)
                    if due:
                        return due
                    continue
                # Bounded wait: an injected clock need not follow real time.
                wait = _MAX_SLEEP if not self._heap else min(self._heap[0][0] - now, _MAX_SLEEP)
                self._cond.wait(wait)

    def _take_pending(self) -> None:
        """Move the lazy entries still running into the heap (the lock is held)."""
        pending = self._pending
        if not pending:
            return
        self._draining = True  # before any item's finished flag is read
        try:
            while pending:
                lazy = pending.popleft()
                item = lazy()
                if item is not None and not item.finished:
                    entry = [lazy.when, next(self._order), item]
                    self._entries[id(item)] = entry
                    heapq.heappush(self._heap, entry)
        finally:
            self._draining = False

    def _run(self) -> None:
        while True:
            due = self._due()
            if due is None:
                return
            for item in due:
                if self._closed:  # stop() came: the rest need no judging any more
                    return
                try:
                    again = item.inspect(self._clock())
                except Exception:  # never let one operation kill the thread
                    log.exception("watchdog: inspecting an operation failed")
                    continue
                self.watch(item, again)
