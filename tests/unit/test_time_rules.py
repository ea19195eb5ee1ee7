"""The deadline and low-speed rules as the watchdog judges them, on a hand-driven clock.

No sockets: the rules are plain data (TimeRules) judged by TaskContext.inspect,
so the window arithmetic is checked here exactly; the reliability suite
(tests/reliability/test_hostile_*.py) checks them against hostile servers.
"""

from __future__ import annotations

import threading

import httpops
from httpops import Operation
from httpops._queue import EventQueue
from httpops._watchdog import TimeRules, Watchdog
from httpops._worker import TaskContext
from tests.conftest import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _ctx(clock: Clock, deadline: float | None, limit: int | None, window: float) -> TaskContext:
    op = Operation(None, 1, "get", "GET", "http://127.0.0.1/x")
    rules = TimeRules(deadline, limit, window)
    return TaskContext(op, EventQueue(), clock, 0.0, deadline, rules)


def test_deadline_sets_the_stop_error_and_ends_watching() -> None:
    clock = Clock()
    ctx = _ctx(clock, 2.0, None, 60.0)
    assert ctx.first_inspection() == 102.0
    clock.now = 101.0
    assert ctx.inspect(clock.now) == 102.0 and ctx.stop_error is None
    clock.now = 102.0
    assert ctx.inspect(clock.now) is None
    assert isinstance(ctx.stop_error, httpops.DeadlineExceeded)
    assert (
        str(ctx.stop_error)
        == "timeout: GET http://127.0.0.1/x: not finished within the 2s deadline"
    )
    assert ctx.stopped()


def test_low_speed_windows_follow_one_another() -> None:
    clock = Clock()
    ctx = _ctx(clock, None, 1000, 1.0)
    assert ctx.first_inspection() == 101.0
    ctx.moved = 1500  # 1500 B in the first second: fine, a new window starts
    clock.now = 101.0
    assert ctx.inspect(clock.now) == 102.0 and ctx.stop_error is None
    ctx.moved = 2400  # 900 B in the second one: too slow
    clock.now = 102.0
    assert ctx.inspect(clock.now) is None
    assert isinstance(ctx.stop_error, httpops.ReadTimeout)
    assert "900 B/s on average over 1s, under the low-speed limit of 1000 B/s" in str(
        ctx.stop_error
    )


def test_uploaded_bytes_count_and_a_backoff_is_not_judged() -> None:
    clock = Clock()
    ctx = _ctx(clock, None, 1000, 1.0)
    ctx.upload_progress(800, 2000)
    ctx.upload_progress(2000, 2000)
    assert ctx.moved == 2000
    ctx.upload_progress(500, 2000)  # a retry sends the body again
    assert ctx.moved == 2500
    ctx.sleeping = True  # a retry backing off moves nothing, by design
    clock.now = 105.0
    assert ctx.inspect(clock.now) == 106.0 and ctx.stop_error is None


def test_the_watchdog_keeps_no_finished_operation_and_stops() -> None:
    clock = Clock()
    dog = Watchdog(clock, name="httpops-test-watchdog")
    contexts = [_ctx(clock, 50.0, None, 60.0) for _ in range(200)]
    for ctx in contexts:
        dog.watch(ctx, ctx.first_inspection())
    for ctx in contexts:
        ctx.finished = True
        dog.forget(ctx)
    assert not dog._entries and len(dog._heap) < 200  # compacted; nothing is referenced
    assert all(entry[2] is None for entry in dog._heap)
    assert dog.close(timeout=5.0)
    assert "httpops-test-watchdog" not in {t.name for t in threading.enumerate()}


def test_the_watchdog_stops_an_operation_at_its_deadline() -> None:
    clock = Clock()
    dog = Watchdog(clock, name="httpops-test-watchdog")
    ctx = _ctx(clock, 1.0, None, 60.0)
    dog.watch(ctx, ctx.first_inspection())
    clock.now = 101.5  # the watchdog re-reads the clock at least once a second
    assert wait_for(lambda: ctx.stop_error is not None, timeout=5.0)
    assert dog.close(timeout=5.0)
    assert isinstance(ctx.stop_error, httpops.DeadlineExceeded)


def test_entries_of_ended_operations_do_not_pile_up_until_the_next_wake() -> None:
    # 10,000 short GETs a second each leave a lazy entry: dropped as later ones
    # arrive, not kept (objects the collector tracks) until the thread wakes.
    clock = Clock()
    dog = Watchdog(clock, name="httpops-test-watchdog")
    first = _ctx(clock, 0.5, None, 60.0)
    dog.watch(first, first.first_inspection())  # near: the heap; starts the thread
    survivor = _ctx(clock, 30.0, None, 60.0)
    with dog._cond:  # the thread cannot take the lazy entries in meanwhile
        dog.watch(survivor, survivor.first_inspection())
        for _ in range(1000):
            ctx = _ctx(clock, 30.0, None, 60.0)
            dog.watch(ctx, ctx.first_inspection())
            ctx.finished = True
            dog.forget(ctx)
        assert len(dog._pending) <= 2  # the survivor, and at most the newest
    clock.now = 131.0  # the survivor's deadline passed: it was kept, and is judged
    assert wait_for(lambda: survivor.stop_error is not None, timeout=5.0)
    assert dog.close(timeout=5.0)
    assert isinstance(survivor.stop_error, httpops.DeadlineExceeded)
