"""A one-line download progress display for the ``httpops download`` command.

On a terminal the line is redrawn in place (``\\r``); otherwise each update
is its own line, at most every ``min_interval`` seconds.
"""

from __future__ import annotations

import time
from typing import TextIO

from ._operation import Operation

__all__ = ["DownloadProgress", "human_bytes"]


def human_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"  # pragma: no cover


class DownloadProgress:
    """Redraws ``[#####.....]  42%  3.1 MiB  1.2 MiB/s`` on one terminal line.

    Its :meth:`update` is an ``on_progress`` callback, so it runs on the
    polling thread like every callback.
    """

    WIDTH = 30

    def __init__(self, out: TextIO, min_interval: float = 0.1) -> None:
        self._out = out
        self._interval = min_interval
        self._last = 0.0
        self._drawn = False
        self._line = ""
        self._tty = out.isatty()

    def update(self, op: Operation) -> None:
        """Redraw the line for ``op`` (rate-limited). Thread-safety: the polling thread."""
        now = time.monotonic()
        if now - self._last < self._interval and op.progress != 100:
            return
        self._last = now
        self._draw(op)

    def _draw(self, op: Operation) -> None:
        speed = f"{human_bytes(op.speed)}/s"
        if op.progress is None:
            line = f"{human_bytes(op.received)}  {speed}"
        else:
            filled = int(op.progress / 100 * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            line = f"[{bar}] {op.progress:5.1f}%  {human_bytes(op.received)}  {speed}"
        if line == self._line:
            return
        self._line = line
        if self._tty:
            self._out.write("\r" + line.ljust(72))
        else:
            self._out.write(line + "\n")
        self._out.flush()
        self._drawn = True

    def finish(self, op: Operation | None = None) -> None:
        """End the progress line, drawing it once more for a finished ``op``.

        Thread-safety: the polling thread.
        """
        if op is not None:
            self._draw(op)
        if self._drawn and self._tty:
            self._out.write("\n")
            self._out.flush()
