"""Transfer speed: bytes over a sliding window of real elapsed time (pure).

The old estimate seeded an exponential average with its first sample, taken
one chunk after the body started: a few kilobytes over a millisecond showed
15 MiB/s for a 195 KiB/s transfer and took seconds to settle. Here the
speed is always *bytes moved over the time it took to move them*, measured
over the last ~``window`` seconds, so it is right as soon as a fraction of a
second of body has been seen, and follows a change of rate within a window.

What arrives in the first ``settle`` seconds after the first byte is the
head start a server's first write (and the socket buffers) give: it took no
measurable time, so the window starts after it instead of dividing it by
almost nothing, and until then the speed is 0.0 (not known yet).

Pure: no clock of its own (every call takes ``now``), no threads; one meter
belongs to one task and is fed on its worker, once per chunk.
"""

from __future__ import annotations

from collections import deque

__all__ = ["SpeedMeter", "average_speed"]

#: Seconds of history the estimate covers.
WINDOW = 1.0
#: Seconds after the first byte whose bytes are taken as the head start.
SETTLE = 0.05
#: Samples closer together than this are merged (bounds the window's length).
RESOLUTION = 0.02


def average_speed(start_time: float, start_position: int, now: float, position: int) -> float:
    """Bytes per second from (start_time, start_position) to (now, position):
    a finished transfer's figure when it ended within its head start."""
    return (position - start_position) / max(now - start_time, 1e-3)


class SpeedMeter:
    """Bytes per second over a sliding window of (time, position) samples.

    The window keeps one sample at or before ``now - window`` as its anchor,
    so the estimate spans between ``window`` and ``window + RESOLUTION``
    seconds of real time; until a window has passed it spans everything
    since the head start (see the module docstring).

    Args:
        window: Seconds of history the estimate covers.
        settle: Seconds after the first byte that count as the head start.
    """

    __slots__ = (
        "_first",
        "_origin",
        "_samples",
        "_settle",
        "_window",
        "speed",
    )

    def __init__(self, window: float = WINDOW, settle: float = SETTLE) -> None:
        if not window > 0 or not settle > 0:
            raise ValueError(f"window and settle must be > 0, got {window}, {settle}")
        self._window = window
        self._settle = settle
        self._samples: deque[tuple[float, int]] = deque()
        self._origin = (0.0, 0)
        self._first: float | None = None  # when the first byte came (None: not yet)
        self.speed = 0.0

    def restart(self, now: float, position: int = 0) -> None:
        """Start afresh at ``now`` with ``position`` bytes already held (not counted)."""
        self._samples.clear()
        self._samples.append((now, position))
        self._origin = (now, position)
        self._first = None
        self.speed = 0.0

    def settling(self, now: float) -> bool:
        """Whether ``now`` is still in the head start (no speed known yet)."""
        return self._first is None or now - self._first < self._settle

    def average(self, now: float, position: int) -> float:
        """Bytes per second since :meth:`restart`: a finished transfer's figure
        when it ended within its head start."""
        return average_speed(*self._origin, now, position)

    def sample(self, now: float, position: int) -> float:
        """Record that ``position`` bytes were held at ``now``; returns the speed.

        ``position`` counts bytes of the same body as :meth:`restart`'s; a
        smaller one than before (a new attempt) restarts the meter.
        """
        samples = self._samples
        if not samples or position < samples[-1][1] or now < samples[-1][0]:
            self.restart(now, position)
            return self.speed
        if self._first is None and position > self._origin[1]:
            self._first = now
        if self.settling(now):
            # The head start: the window will begin after it. Until then the
            # rate is not known (0.0): any figure would divide by almost nothing.
            samples.clear()
            samples.append((now, position))
            self.speed = 0.0
            return self.speed
        if len(samples) >= 2 and now - samples[-2][0] < RESOLUTION:
            samples[-1] = (now, position)  # merge: only the anchor and the newest matter
        else:
            samples.append((now, position))
        horizon = now - self._window
        # Keep exactly one sample at or before the horizon: the window's anchor.
        while len(samples) > 2 and samples[1][0] <= horizon:
            samples.popleft()
        start_time, start_position = samples[0]
        if now > start_time:
            self.speed = (position - start_position) / (now - start_time)
        return self.speed
