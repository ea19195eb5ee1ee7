"""Frame-time statistics for the demo: samples, percentiles and a one-line summary (pure)."""

from __future__ import annotations

import math

__all__ = ["Samples", "percentile"]


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; 0.0 when empty.

    Nearest rank returns a value that was actually measured, which is what a
    frame-time report should show (an interpolated p99 can be a frame that
    never happened).
    """
    if not sorted_values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q!r}")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class Samples:
    """Durations in seconds, summarised as p50/p99/max.

    Thread-safety: one thread (the demo loop's).
    """

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, seconds: float) -> None:
        """Record one duration."""
        self.values.append(seconds)

    def __len__(self) -> int:
        return len(self.values)

    def summary(self) -> tuple[float, float, float]:
        """``(p50, p99, max)`` in seconds (zeros when nothing was recorded)."""
        ordered = sorted(self.values)
        return percentile(ordered, 50), percentile(ordered, 99), ordered[-1] if ordered else 0.0

    def over(self, limit: float) -> int:
        """How many samples exceeded ``limit`` seconds."""
        return sum(1 for v in self.values if v > limit)

    def describe(self, decimals: int = 2) -> str:
        """``"p50 16.67 ms  p99 17.02 ms  max 17.90 ms"``."""
        p50, p99, top = self.summary()
        fmt = f"{{:.{decimals}f}}"
        return "  ".join(
            f"{name} {fmt.format(value * 1000)} ms"
            for name, value in (("p50", p50), ("p99", p99), ("max", top))
        )
