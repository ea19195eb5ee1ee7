"""The bits of OTClient the ported modules need besides HTTP, kept as small as possible.

- :class:`Widget`: records ``setText``/``setPercent``/``setImageSource`` and
  ``show``/``hide``, so a test can see what the UI would show.
- :func:`scheduleEvent`/:func:`removeEvent`: OTClient's timers, run by
  :func:`run` on the host's thread, like ``g_dispatcher``.
- :data:`g_logger` and :func:`displayErrorBox`: what went wrong, kept.
- :func:`run`: the host's loop: ``HTTP.engine.poll()`` and due timers, until
  a condition holds.

Single-threaded, like OTClient's Lua: everything runs inside :func:`run`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import httpops

__all__ = [
    "Widget",
    "displayErrorBox",
    "g_logger",
    "removeEvent",
    "run",
    "scheduleEvent",
]


class Widget:
    """A UI widget that remembers what it was told."""

    def __init__(self, widget_id: str = "") -> None:
        self.id = widget_id
        self.text = ""
        self.percent = 0
        self.image = ""
        self.visible = True
        self.percents: list[int] = []

    def setText(self, text: Any) -> None:
        self.text = str(text)

    def setPercent(self, percent: int) -> None:
        if not isinstance(percent, int):  # OTClient's UIProgressBar takes a number
            raise TypeError(f"setPercent needs an int, got {percent!r}")
        self.percent = percent
        self.percents.append(percent)

    def setImageSource(self, path: str) -> None:
        self.image = path

    def show(self) -> None:
        self.visible = True

    def hide(self) -> None:
        self.visible = False


class _Logger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, text: str) -> None:
        self.lines.append(("info", text))

    def warning(self, text: str) -> None:
        self.lines.append(("warning", text))

    def error(self, text: str) -> None:
        self.lines.append(("error", text))


g_logger = _Logger()
#: Error boxes shown: (title, message).
error_boxes: list[tuple[str, str]] = []


def displayErrorBox(title: str, message: str) -> None:
    error_boxes.append((title, message))


_order = itertools.count()
_timers: list[tuple[float, int, Callable[[], Any]]] = []
_removed: set[int] = set()


def scheduleEvent(callback: Callable[[], Any], delay_ms: float) -> int:
    """Run ``callback`` after ``delay_ms`` milliseconds, inside :func:`run`."""
    event = next(_order)
    heapq.heappush(_timers, (time.monotonic() + delay_ms / 1000, event, callback))
    return event


def removeEvent(event: int | None) -> None:
    if event is not None:
        _removed.add(event)


def _run_due_timers() -> None:
    now = time.monotonic()
    while _timers and _timers[0][0] <= now:
        _, event, callback = heapq.heappop(_timers)
        if event in _removed:
            _removed.discard(event)
            continue
        callback()


def run(http: httpops.HTTPFacade, until: Callable[[], bool], timeout: float = 10.0) -> bool:
    """The host's loop: poll the facade's engine and run due timers until ``until()``.

    Returns:
        Whether ``until()`` became true before ``timeout`` seconds.
    """
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        http.engine.poll()
        _run_due_timers()
        if until():
            return True
        tick.wait(0.005)  # a 200 Hz "frame"
    return until()


def reset() -> None:
    """Forget timers, log lines and error boxes (between tests)."""
    _timers.clear()
    _removed.clear()
    g_logger.lines.clear()
    error_boxes.clear()
