"""What the soak measures about the process: threads, descriptors, memory.

Linux-only figures (``/proc``), like the reliability tests' leak checks.
"""

from __future__ import annotations

import gc
import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Snapshot", "fd_count", "peak_rss_mib", "rss_mib", "settle"]


def fd_count() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    """Resident set size now, in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mib() -> float:
    """Peak resident set size of the process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Snapshot:
    """Thread and descriptor counts at one moment."""

    threads: int
    fds: int
    names: frozenset[str]

    @classmethod
    def take(cls) -> Snapshot:
        threads = threading.enumerate()
        return cls(len(threads), fd_count(), frozenset(t.name for t in threads))


def settle(baseline: Snapshot, timeout: float) -> Snapshot:
    """Wait (on an Event, not a bare sleep) for counts to come back to ``baseline``.

    Sockets close in the kernel and server threads end a moment after the
    client hangs up; the cycle collector frees selectors some libraries leave
    in reference cycles.

    Returns:
        The last snapshot taken (at or under the baseline if it settled).
    """
    tick = threading.Event()
    end = time.monotonic() + timeout
    gc.collect()
    done: Callable[[Snapshot], bool] = lambda s: (  # noqa: E731
        s.threads <= baseline.threads and s.fds <= baseline.fds
    )
    snap = Snapshot.take()
    while not done(snap) and time.monotonic() < end:
        tick.wait(0.05)
        snap = Snapshot.take()
    return snap
