"""Engine.close() ends the watchdog within its own timeout, or names it as still running."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

import httpops
from httpops._watchdog import Watchdog
from tests.conftest import wait_for

EngineFactory = Callable[..., httpops.Engine]


class _Stuck:
    """A watched operation whose judgement blocks until ``gate`` opens."""

    finished = False

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.inside = threading.Event()
        self.calls = 0

    def inspect(self, now: float) -> float | None:
        self.calls += 1
        self.inside.set()
        self.gate.wait(10)
        return None


def _watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "httpops-watchdog"]


def test_close_waits_no_longer_than_its_timeout_and_names_a_stuck_watchdog(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    stuck = _Stuck()
    engine._watchdog.watch(stuck, engine.clock())  # due now: its thread enters inspect()
    assert stuck.inside.wait(5)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="httpops"):
            engine.close(timeout=0.2)
        took = time.monotonic() - started
    finally:
        stuck.gate.set()
    assert took < 0.9, f"close(timeout=0.2) took {took:.2f}s"
    assert "httpops-watchdog" in caplog.text
    assert wait_for(lambda: _watchdogs() == [], timeout=5)  # it ends once free


def test_a_stopped_watchdog_judges_nothing_more() -> None:
    dog = Watchdog(time.monotonic, name="httpops-test-watchdog")
    first, second = _Stuck(), _Stuck()
    now = time.monotonic()
    dog.watch(first, now)
    dog.watch(second, now)
    assert first.inside.wait(5)  # entries due at once are judged in order
    dog.stop()  # while the thread is inside the first judgement of the two due
    first.gate.set()
    second.gate.set()
    assert dog.close(5)
    assert first.calls + second.calls == 1
