"""Transfer speed: bytes over a sliding window of real elapsed time (pure).

The old estimate seeded an exponential average with its first sample, taken
one chunk after the body started: a few kilobytes over a millisecond showed
15 MiB/s for a 195 KiB/s transfer and took seconds to settle. Here the
speed is always *bytes moved over the time it took to move them*, measured
over the last ~``window`` seconds of samples, so it is right as soon as a
fraction of a second of body has been seen, and follows a change of rate
within one window.

Pure: no clock of its own (every call takes ``now``), no threads; one meter
belongs to one task and is used on its worker.
"""

from __future__ import annotations

from collections import deque

__all__ = ["SpeedMeter"]

#: Seconds of history the estimate covers (about one; see SpeedMeter).
WINDOW = 1.0
#: Shortest span the estimate divides by: the first chunk often arrives a
#: fraction of a millisecond after the body started (it was buffered).
MIN_SPAN = 0.05


class SpeedMeter:
    """Bytes per second over a sliding window of (time, bytes) samples.

    The window keeps one sample at or before ``now - window`` as its anchor,
    so the estimate spans between ``window`` and ``window`` plus one sample
    interval of real time; until a window has passed it spans everything
    since :meth:`restart`.

    Args:
        window: Seconds of history the estimate covers.
        min_span: The smallest time span divided by (caps early spikes).
    """

    def __init__(self, window: float = WINDOW, min_span: float = MIN_SPAN) -> None:
        if not window > 0 or not min_span > 0:
            raise ValueError(f"window and min_span must be > 0, got {window}, {min_span}")
        self._window = window
        self._min_span = min_span
        self._samples: deque[tuple[float, int]] = deque()
        self.speed = 0.0

    def restart(self, now: float, position: int = 0) -> None:
        """Start afresh at ``now`` with ``position`` bytes already held (not counted)."""
        self._samples.clear()
        self._samples.append((now, position))
        self.speed = 0.0

    def sample(self, now: float, position: int) -> float:
        """Record that ``position`` bytes were held at ``now``; returns the speed.

        ``position`` counts bytes of the same body as :meth:`restart`'s; a
        smaller one than before (a new attempt) restarts the meter.
        """
        samples = self._samples
        if not samples or position < samples[-1][1] or now < samples[-1][0]:
            self.restart(now, position)
            return self.speed
        samples.append((now, position))
        horizon = now - self._window
        # Keep exactly one sample at or before the horizon: the window's anchor.
        while len(samples) > 2 and samples[1][0] <= horizon:
            samples.popleft()
        start_time, start_position = samples[0]
        span = max(now - start_time, self._min_span)
        self.speed = (position - start_position) / span
        return self.speed
