"""Helpers shared by the reliability tests (not fixtures): leak figures and completion checks."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpops


def fd_count() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def thread_set() -> set[threading.Thread]:
    return set(threading.enumerate())


class Ending:
    """Records every completion of one operation: how many, when, and on which thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.started = time.monotonic()
        self.ended: float | None = None

    def __call__(self, *args: Any) -> None:
        op = args[0]
        self.calls.append((getattr(op, "id", -1), threading.current_thread().name))
        if self.ended is None:
            self.ended = time.monotonic()

    @property
    def elapsed(self) -> float:
        assert self.ended is not None, "the operation never completed"
        return self.ended - self.started


def finish(engine: httpops.Engine, op: httpops.Operation, ending: Ending, limit: float) -> None:
    """Pump until ``op`` completes (failing after ``limit`` + slack), then check it did so once.

    After the completion the queue is drained and the engine must be idle, so a
    second completion -- had one been queued -- would have been dispatched and counted.
    """
    assert engine.wait(op, timeout=limit + 3.0), f"{op!r} did not complete within {limit}s"
    assert engine.run_until_idle(timeout=2.0)
    assert len(ending.calls) == 1, ending.calls
    assert ending.calls[0][1] == threading.current_thread().name
    assert ending.elapsed <= limit, f"took {ending.elapsed:.2f}s, limit {limit}s"


def assert_error(op: httpops.Operation, phrase: str, *details: str) -> None:
    """``op`` failed with an error naming ``phrase``, its URL, and each of ``details``."""
    assert op.state is httpops.State.FAILED, (op.state, op.error, op.value)
    text = str(op.error)
    assert text.startswith(phrase), text
    assert op.url in text, text
    for detail in details:
        assert detail.lower() in text.lower(), text
