"""Reconnect: the opt-in policy a WebSocket session follows when its connection is lost (pure).

Also here, `PingClock`: the keep-alive arithmetic of one connection,
`PauseClock`: how long the reader stood paused for backpressure, and
`ControlBudget`: how many control frames the reader handles per second.

The session thread asks the reconnect policy two questions and nothing else: *may I
try again after this failure?* (`Reconnect.should_retry`) and *how long
do I wait first?* ([`Reconnect.delay`][httpops.Reconnect.delay]). Keeping the arithmetic here,
without sockets, lets it be tested with a table of inputs.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._config import backoff_delay
from ._errors import HTTPStatusError, InvalidArgument, OperationError, TLSError, TransportError

__all__ = [
    "CONTROL_BUDGET",
    "DEAD",
    "MIN_BACKOFF",
    "PING",
    "ControlBudget",
    "PauseClock",
    "PingClock",
    "Reconnect",
]

#: PingClock verdicts: send a ping now; the peer missed its pong.
PING = object()
DEAD = object()

#: Smallest first delay (and smallest delay after jitter) in seconds: a policy
#: that could reconnect in a tight loop would hammer the server and pin a core.
MIN_BACKOFF = 0.1

#: Control frames (pings, pongs) a reader handles in one second; past it, it stops
#: reading until the second is over. No honest peer sends that many.
CONTROL_BUDGET = 100

#: Handshake statuses that say "try again later" rather than "go away".
_RETRIABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Reconnect:
    """When and how often a lost WebSocket connects again (off unless given).

    Delays grow exponentially: ``backoff * 2**n`` seconds for the n-th
    consecutive failed attempt (0-based), capped at ``max_backoff``, each
    multiplied by a random factor in ``[1 - jitter, 1 + jitter]`` so that many
    clients dropped together do not come back together; no delay is shorter
    than 0.1 s (``backoff`` and ``max_backoff`` below it are refused). A connection that
    stayed open for 2 seconds resets the count; one the server drops sooner
    does not, so a server that accepts and drops at once is not retried forever.

    What is retried: connections that drop or time out (``connection error``,
    ``resolve error``, ``timeout``, including a ping that got no pong) and
    handshakes answered with 408, 429 or 5xx. Not retried: certificate
    failures, other handshake statuses (a 404 will not fix itself), a close
    asked for by the host, and -- unless ``on_server_close`` -- a clean close
    sent by the server.

    Attributes:
        attempts: Reconnect attempts after a loss (or a failed first
            connect) before giving up; None for no limit.
        backoff: First delay in seconds, at least 0.1.
        max_backoff: Cap on any one delay, in seconds, at least ``backoff``.
        jitter: Relative jitter, 0 to 1.
        on_server_close: Also reconnect after the server closed cleanly.
    """

    attempts: int | None = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.3
    on_server_close: bool = False

    def __post_init__(self) -> None:
        if self.attempts is not None and (
            isinstance(self.attempts, bool) or not isinstance(self.attempts, int)
        ):
            raise InvalidArgument(
                f"Reconnect.attempts must be an int or None, got {self.attempts!r}"
            )
        if self.attempts is not None and self.attempts < 1:
            raise InvalidArgument(f"Reconnect.attempts must be >= 1, got {self.attempts!r}")
        for name in ("backoff", "max_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidArgument(f"Reconnect.{name} must be a number, got {value!r}")
            if not (0 <= value < math.inf):
                raise InvalidArgument(f"Reconnect.{name} must be >= 0 and finite, got {value!r}")
            if value < MIN_BACKOFF:
                raise InvalidArgument(
                    f"Reconnect.{name} must be >= {MIN_BACKOFF} s (a zero backoff reconnects"
                    f" in a tight loop), got {value!r}"
                )
        if self.max_backoff < self.backoff:
            raise InvalidArgument(
                f"Reconnect.max_backoff ({self.max_backoff!r}) must be >= backoff"
                f" ({self.backoff!r})"
            )
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, (int, float)):
            raise InvalidArgument(f"Reconnect.jitter must be a number, got {self.jitter!r}")
        if not 0 <= self.jitter <= 1:
            raise InvalidArgument(f"Reconnect.jitter must be between 0 and 1, got {self.jitter!r}")
        if not isinstance(self.on_server_close, bool):
            raise InvalidArgument(
                f"Reconnect.on_server_close must be a bool, got {self.on_server_close!r}"
            )

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait before attempt number ``attempt`` (0-based); ``rand`` in [0, 1)."""
        delay = backoff_delay(self.backoff, self.max_backoff, self.jitter, attempt, rand)
        return max(MIN_BACKOFF, delay)  # jitter near 1 could otherwise bring it to ~0

    def should_retry(self, retries: int, error: OperationError | None) -> bool:
        """Whether to connect again after a connection ended or an attempt failed.

        Args:
            retries: Reconnect attempts already made since the last
                connection that stayed open (0 right after such a drop).
            error: Why the connection ended; None for a clean server close.
        """
        if self.attempts is not None and retries >= self.attempts:
            return False
        if error is None:
            return self.on_server_close
        if isinstance(error, HTTPStatusError):
            return error.status in _RETRIABLE_STATUSES
        return isinstance(error, TransportError) and not isinstance(error, TLSError)


class PauseClock:
    """How long the reader has stood paused for backpressure (written by it, read by the writer).

    While our reader is paused, a peer that blocks sending to us stops reading
    too, and our pong waits unread: neither is a dead peer. The writer uses
    this to leave such time out of its judgements. Times are ``time.monotonic()``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the two fields below change together
        self._since: float | None = None  # start of the current pause
        self._before = 0.0  # seconds of the pauses that ended
        self.resumed_at = 0.0  # when the latest pause ended

    @property
    def paused(self) -> bool:
        """Whether the reader is paused now. Thread-safety: any thread."""
        return self._since is not None

    def pause(self, now: float) -> None:
        """The reader stops reading. Thread-safety: the reader thread."""
        with self._lock:
            self._since = now

    def resume(self, now: float) -> None:
        """The reader reads again. Thread-safety: the reader thread."""
        with self._lock:
            if self._since is not None:
                self._before += max(0.0, now - self._since)
                self._since = None
            self.resumed_at = now

    def total(self, now: float) -> float:
        """Seconds paused in all, up to ``now`` (grows while paused). Thread-safety: any."""
        with self._lock:
            since = self._since
            return self._before + (0.0 if since is None else max(0.0, now - since))


class PingClock:
    """When to ping, and when a missing pong means a dead peer (used by one writer thread)."""

    def __init__(self, interval: float | None, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        now = time.monotonic()
        self.next_ping = None if interval is None else now + interval
        self.sent_at: float | None = None
        self.paused_at_send = 0.0  # PauseClock.total() when the ping went out

    def check(
        self, now: float, last_pong: float, pauses: PauseClock | None = None
    ) -> tuple[Any, float | None]:
        """The job due now (`PING`, `DEAD` or None) and how long to sleep otherwise.

        The pong wait is extended by any time the reader was paused for
        backpressure since the ping went out (an unread pong is not a dead
        peer), and suspended while it is paused: the sleep is then None, and
        the reader wakes the writer when it resumes.

        Args:
            now: ``time.monotonic()``.
            last_pong: When the last pong arrived (0.0 for never).
            pauses: The reader's pauses for backpressure (None: never paused).
        """
        if self.next_ping is None or self.interval is None:
            return None, None
        paused_total = 0.0 if pauses is None else pauses.total(now)
        if self.sent_at is not None:
            if last_pong >= self.sent_at:
                self.sent_at = None  # answered
            elif pauses is not None and pauses.paused:
                return None, None  # not reading: judged once the reader resumes
            else:
                due = self.sent_at + self.timeout + (paused_total - self.paused_at_send)
                if now >= due:
                    return DEAD, None
                return None, due - now
        if now >= self.next_ping:
            self.sent_at, self.next_ping = now, now + self.interval
            self.paused_at_send = paused_total
            return PING, None
        return None, self.next_ping - now


class ControlBudget:
    """Bounds the CPU a ping (or pong) flood can take from a reader thread.

    A flood of tiny control frames would otherwise keep the reader busy at
    full speed. Past :data:`CONTROL_BUDGET` frames in one second the reader
    sleeps for the rest of that second -- the kernel's buffers and then TCP
    flow control hold the flood back -- through ``sleep``, which a close
    cuts short.

    Args:
        sleep: Waits up to the given seconds (the session's stop event's ``wait``).
        budget: Frames per window.
        window: Seconds.
    """

    def __init__(
        self, sleep: Callable[[float], object], budget: int = CONTROL_BUDGET, window: float = 1.0
    ) -> None:
        self.sleep = sleep
        self.budget = budget
        self.window = window
        self.window_end = 0.0
        self.spent = 0

    def spend(self) -> None:
        """Count one control frame; sleep out the window if it is over budget.

        Thread-safety: the reader thread only.
        """
        now = time.monotonic()
        if now >= self.window_end:
            self.window_end, self.spent = now + self.window, 0
        self.spent += 1
        if self.spent > self.budget:
            self.sleep(self.window_end - now)
