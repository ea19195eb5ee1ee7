"""Bandwidth caps: token buckets a download's worker takes from before it reads more.

Theory of operation
-------------------
A `TokenBucket` holds up to ``burst`` bytes of allowance and refills
at ``rate`` bytes per second. `TokenBucket.take` takes what a chunk
used and returns how long the caller must wait before it may read again:
the bucket may go into debt, and the debt is paid off by waiting. Several
downloads sharing one bucket (``Config.max_download_rate``) each queue
behind the debt the others ran up, so together they move ``rate`` bytes
per second; a per-download ``rate_limit=`` is a bucket of its own. The
buckets are pure (every call takes ``now``), so they are tested with a fake
clock.

`Throttle` is the worker's side: after each chunk it takes from every
bucket that applies and sleeps for the longest wait on the operation's
cancel event, so a cancel -- and ``Engine.close()``, which cancels -- wakes
it at once; it never sleeps while holding a lock. The time it spends waiting
is added up (:attr:`Throttle.waited`) so the low-speed rule can leave out
the time the download was held back by our own cap, not by the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

__all__ = ["BURST_SECONDS", "Throttle", "TokenBucket", "check_rate", "read_size"]

#: A bucket holds this many seconds of its rate (at least one read's bytes).
BURST_SECONDS = 0.1
#: A throttled read asks for about this many seconds of its rate at once,
#: so the bytes flow in small, even steps rather than one burst per second.
_READ_SECONDS = 0.05
_MIN_READ = 1024


def check_rate(name: str, value: object) -> int | None:
    """``value`` as a rate in bytes per second (None: no cap).

    Raises:
        ValueError: Not None and not an integer >= 1 (the caller's message).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer number of bytes per second >= 1 or None, "
                         f"got {value!r}")  # fmt: skip
    return value


def read_size(chunk_size: int, rates: Sequence[int]) -> int:
    """How many bytes one read may ask for under the ``rates`` that apply."""
    if not rates:
        return chunk_size
    return max(_MIN_READ, min(chunk_size, int(min(rates) * _READ_SECONDS)))


class TokenBucket:
    """``rate`` bytes per second with ``burst`` bytes of allowance; may run into debt.

    Args:
        rate: Bytes per second (>= 1).
        now: The clock's time at creation (the bucket starts full).
        burst: Most allowance held (default: ``BURST_SECONDS`` of the rate).

    Thread-safety: any thread (a shared bucket is taken from by every download).
    """

    def __init__(self, rate: int, now: float, burst: float | None = None) -> None:
        self.rate = rate
        self._burst = max(float(_MIN_READ), rate * BURST_SECONDS) if burst is None else burst
        # Guards _tokens and _stamp.
        self._lock = threading.Lock()
        self._tokens = self._burst
        self._stamp = now

    def take(self, amount: int, now: float) -> float:
        """Take ``amount`` bytes of allowance; returns seconds to wait before the next read."""
        with self._lock:
            elapsed = max(0.0, now - self._stamp)
            self._stamp = max(self._stamp, now)
            self._tokens = min(self._burst, self._tokens + elapsed * self.rate) - amount
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Throttle:
    """The buckets one download reads under, and the waiting between its reads.

    Args:
        buckets: Its own bucket (``rate_limit=``) and/or the engine's shared one.
        clock: The engine's monotonic clock.
        wait: Sleeps up to the given seconds, returning early (True) on cancel.

    Created and used on the download's worker.
    """

    def __init__(
        self,
        buckets: Sequence[TokenBucket],
        clock: Callable[[], float],
        wait: Callable[[float], bool],
    ) -> None:
        self.buckets = tuple(buckets)
        self._clock = clock
        self._wait = wait
        #: Seconds spent waiting for the buckets so far (finished waits).
        self.waited = 0.0
        #: When the wait under way began (None: not waiting); read by the watchdog.
        self.waiting_since: float | None = None

    @property
    def rates(self) -> list[int]:
        """The rates that apply, in bytes per second."""
        return [bucket.rate for bucket in self.buckets]

    def held_back(self, now: float) -> float:
        """Seconds spent waiting for the buckets up to ``now`` (the running wait too).

        Thread-safety: any thread (the watchdog reads it while the worker waits).
        """
        since = self.waiting_since
        return self.waited + (max(0.0, now - since) if since is not None else 0.0)

    def pace(self, amount: int) -> None:
        """Account ``amount`` bytes just read and wait until the buckets allow more.

        Returns early when the operation is canceled (the caller's next check
        raises). Thread-safety: the download's worker.
        """
        now = self._clock()
        delay = max(bucket.take(amount, now) for bucket in self.buckets)
        if delay <= 0:
            return
        self.waiting_since = now
        try:
            self._wait(delay)
        finally:
            self.waited += max(0.0, self._clock() - now)
            self.waiting_since = None
