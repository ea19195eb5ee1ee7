"""The workers' job queue: highest priority first, first in first out within one priority.

A plain heap under a condition, with the ``put``/``get(timeout)`` shape of
``queue.SimpleQueue`` that `httpops._worker.WorkerPool` uses. Only
*queued* jobs are ordered: a job a worker already took runs to its end (no
preemption). A larger priority runs sooner; the pool's stop markers go in
with the lowest possible priority, so they come after every queued job.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections.abc import Callable

__all__ = ["LAST", "PriorityJobs", "check_priority"]

Job = Callable[[], None] | None

#: The priority of a stop marker: after every job.
LAST = float("-inf")


def check_priority(priority: object) -> int:
    """``priority`` as an int (larger runs sooner).

    Raises:
        ValueError: Not an int (the caller turns it into its own error).
    """
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"priority must be an int (larger runs sooner), got {priority!r}")
    return priority


class PriorityJobs:
    """A thread-safe priority queue of jobs (see the module docstring).

    Thread-safety: any thread.
    """

    def __init__(self) -> None:
        # Guards _heap; notified once per job put.
        self._cond = threading.Condition(threading.Lock())
        # Entries are (-priority, order, job): order keeps one priority FIFO.
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()

    def put(self, job: Job, priority: float = 0) -> None:
        """Queue ``job`` (None: a stop marker) at ``priority``."""
        with self._cond:
            heapq.heappush(self._heap, (-priority, next(self._order), job))
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Job:
        """The next job, waiting up to ``timeout`` seconds (None: forever).

        Raises:
            queue.Empty: Nothing came within ``timeout``.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._heap), timeout):
                raise queue.Empty
            return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)
