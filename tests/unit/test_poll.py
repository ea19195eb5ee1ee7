"""poll(): budget and max_events on an injected clock, re-entrancy, callback errors, listeners.

No network: operations are registered and completed directly, as a WebSocket
session would, so poll() sees exactly the events the test put there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops import State
from httpops._events import Progress

EngineFactory = Callable[..., httpops.Engine]
URL = "http://127.0.0.1:9/x"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def finished_ops(
    engine: httpops.Engine, n: int, callback: Callable[[httpops.Operation], Any] | None = None
) -> list[httpops.Operation]:
    """Register ``n`` operations and queue a done completion for each."""
    ops = []
    for i in range(n):
        op = engine._register("get", "GET", URL, callback)
        assert engine._mark_running(op)
        assert engine._complete(op, State.DONE, value=i)
        ops.append(op)
    return ops


def test_idle_poll_dispatches_nothing(make_engine: EngineFactory) -> None:
    engine = make_engine()
    assert engine.poll() == 0
    assert engine.poll(max_events=1, budget=0.0) == 0


def test_poll_dispatches_in_order_and_sets_results(make_engine: EngineFactory) -> None:
    engine = make_engine()
    order: list[int] = []
    ops = finished_ops(engine, 3, lambda op: order.append(op.value))
    assert not any(op.done() for op in ops)  # nothing changes before the host polls
    assert engine.poll() == 3
    assert order == [0, 1, 2]
    assert [op.state for op in ops] == [State.DONE] * 3 and all(op.done() for op in ops)
    assert engine.poll() == 0


def test_complete_is_exactly_once(make_engine: EngineFactory) -> None:
    engine = make_engine()
    calls: list[State] = []
    op = engine._register("get", "GET", URL, lambda o: calls.append(o.state))
    assert engine._mark_running(op)
    assert engine._complete(op, State.FAILED, error=httpops.ConnectError("GET", URL, "x"))
    assert engine._complete(op, State.DONE) is False
    assert engine.cancel(op) is False
    assert engine._mark_running(op) is False
    engine.poll()
    assert calls == [State.FAILED] and isinstance(op.error, httpops.ConnectError)


def test_budget_stops_after_the_spent_time(make_engine: EngineFactory) -> None:
    clock = FakeClock()
    engine = make_engine(clock=clock)
    calls: list[int] = []

    def costly(op: httpops.Operation) -> None:
        calls.append(op.value)
        clock.now += 0.004  # 4 ms per callback

    finished_ops(engine, 10, costly)
    assert engine.poll(budget=0.010) == 3  # 4 + 4 + 4 ms >= 10 ms
    assert calls == [0, 1, 2]
    assert engine.poll(budget=0.0) == 1  # at least one event, even with no budget
    assert engine.poll(budget=1.0) == 6
    assert calls == list(range(10))


def test_budget_ignores_time_spent_before_the_poll(make_engine: EngineFactory) -> None:
    clock = FakeClock()
    engine = make_engine(clock=clock)
    finished_ops(engine, 4)
    clock.now += 50  # a long frame elsewhere must not eat this poll's budget
    assert engine.poll(budget=0.001) == 4  # free callbacks: the clock never moves


def test_max_events(make_engine: EngineFactory) -> None:
    engine = make_engine()
    finished_ops(engine, 5)
    assert engine.poll(max_events=2) == 2
    assert engine.poll(max_events=10) == 3


@pytest.mark.parametrize(
    "kwargs", [{"max_events": 0}, {"max_events": 1.5}, {"max_events": True}, {"budget": -1}]
)
def test_bad_poll_arguments(make_engine: EngineFactory, kwargs: dict[str, Any]) -> None:
    engine = make_engine()
    with pytest.raises(httpops.InvalidArgument):
        engine.poll(**kwargs)
    finished_ops(engine, 1)
    with pytest.raises(httpops.InvalidArgument):
        engine.poll(**kwargs)


def test_events_queued_by_callbacks_wait_for_the_next_poll(make_engine: EngineFactory) -> None:
    engine = make_engine()
    later: list[httpops.Operation] = []

    def chain(op: httpops.Operation) -> None:
        later.extend(finished_ops(engine, 1))

    finished_ops(engine, 1, chain)
    assert engine.poll() == 1
    assert later and not later[0].done()
    assert engine.poll() == 1 and later[0].done()


def test_reentrant_poll_and_wait_raise(make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(raise_callback_errors=True))
    pending = engine._register("get", "GET", URL)  # never completes until the end
    raised: list[BaseException] = []

    def callback(op: httpops.Operation) -> None:
        attempts: list[Callable[[], Any]] = [
            engine.poll,
            lambda: engine.wait(pending, timeout=1),
            engine.run_until_idle,
            lambda: pending.result(timeout=1),
        ]
        for attempt in attempts:
            try:
                attempt()
            except httpops.ReentrantPollError as exc:
                raised.append(exc)

    finished_ops(engine, 1, callback)
    engine.poll()
    assert len(raised) == 4
    assert all(isinstance(exc, RuntimeError) for exc in raised)
    assert "inside a callback" in str(raised[0])
    assert engine.poll() == 0  # the engine is usable again afterwards
    assert engine.cancel(pending)
    assert engine.poll() == 1


def test_raising_callback_is_logged_and_the_rest_still_run(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    ran: list[int] = []

    def callback(op: httpops.Operation) -> None:
        ran.append(op.value)
        if op.value == 1:
            raise ZeroDivisionError("user bug")

    finished_ops(engine, 3, callback)
    with caplog.at_level(logging.ERROR, logger="httpops"):
        assert engine.poll() == 3
    assert ran == [0, 1, 2]
    [record] = [r for r in caplog.records if r.name == "httpops"]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert "callback" in record.getMessage()


def test_raising_listener_is_logged_and_the_callback_still_runs(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    ran: list[int] = []

    def listener(*args: Any) -> None:
        raise ValueError("listener bug")

    engine.connect(on_get=listener)
    finished_ops(engine, 2, lambda op: ran.append(op.value))
    with caplog.at_level(logging.ERROR, logger="httpops"):
        assert engine.poll() == 2
    assert ran == [0, 1]
    assert len([r for r in caplog.records if r.name == "httpops"]) == 2


def test_raise_callback_errors_re_raises(make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(raise_callback_errors=True))

    def callback(op: httpops.Operation) -> None:
        raise ZeroDivisionError("user bug")

    ops = finished_ops(engine, 2, callback)
    with pytest.raises(ZeroDivisionError):
        engine.poll()
    assert ops[0].done() and not ops[1].done()
    with pytest.raises(ZeroDivisionError):
        engine.poll()  # the rest is still there for the next poll
    assert ops[1].done()


def test_listeners_connect_and_disconnect(make_engine: EngineFactory) -> None:
    engine = make_engine()
    got: list[tuple[Any, ...]] = []
    posted: list[tuple[Any, ...]] = []
    disconnect = engine.connect(
        on_get=lambda *a: got.append(a), on_post=lambda *a: posted.append(a)
    )
    [op] = finished_ops(engine, 1)
    engine.poll()
    assert got == [(op.id, URL, None, 0)] and posted == []
    disconnect()
    finished_ops(engine, 1)
    engine.poll()
    assert len(got) == 1
    disconnect()  # twice is harmless


def test_listener_signatures(make_engine: EngineFactory) -> None:
    engine = make_engine()
    seen: dict[str, list[tuple[Any, ...]]] = {}

    def rec(name: str) -> Callable[..., None]:
        return lambda *a: seen.setdefault(name, []).append(a)

    engine.connect(**{n: rec(n) for n in ("on_post", "on_post_progress", "on_get_progress")})
    op = engine._register("post", "POST", URL)
    engine._mark_running(op)
    engine.events.put(Progress(op, 50, 200, 10.0))
    err = httpops.HTTPStatusError("POST", URL, 500)
    engine._complete(op, State.FAILED, error=err)
    engine.poll()
    assert seen == {
        "on_post_progress": [(op.id, URL, 25.0)],
        "on_post": [(op.id, URL, err, None)],
    }
    assert (op.received, op.total, op.speed) == (50, 200, 10.0)


def test_unknown_listener_name_is_rejected(make_engine: EngineFactory) -> None:
    engine = make_engine()
    with pytest.raises(httpops.InvalidArgument, match="unknown listener 'onGet'"):
        engine.connect(onGet=print)
    with pytest.raises(httpops.InvalidCallback, match="on_get"):
        engine.connect(on_get=None)  # type: ignore[arg-type]


def test_progress_of_a_canceled_op_is_not_dispatched(make_engine: EngineFactory) -> None:
    engine = make_engine()
    progress: list[int] = []
    done: list[State] = []
    op = engine._register("get", "GET", URL, lambda o: done.append(o.state))
    op.on_progress = lambda o: progress.append(o.received)
    engine._mark_running(op)
    engine.events.put(Progress(op, 10, None, 0.0))
    assert engine.cancel(op.id)
    engine.poll()
    assert progress == [] and done == [State.CANCELED]
    assert isinstance(op.error, httpops.Canceled)


def test_progress_with_unknown_total_is_none(make_engine: EngineFactory) -> None:
    engine = make_engine()
    seen: list[tuple[Any, ...]] = []
    op = engine._register("get", "GET", URL)
    op.on_progress = lambda o: seen.append((o.progress, o.received, o.total))
    engine._mark_running(op)
    engine.events.put(Progress(op, 10, None, 0.0))
    engine.poll()
    engine.events.put(Progress(op, 0, 0, 0.0))
    engine.poll()
    assert seen == [(None, 10, None), (100.0, 0, 0)]
    engine.cancel(op)
    engine.poll()


def test_poll_from_another_thread_waits_its_turn(make_engine: EngineFactory) -> None:
    """Two pollers never dispatch at once; each event runs once."""
    engine = make_engine()
    inside = threading.Event()
    release = threading.Event()
    ran: list[int] = []

    def callback(op: httpops.Operation) -> None:
        ran.append(op.value)
        if op.value == 0:
            inside.set()
            release.wait(5)

    finished_ops(engine, 2, callback)
    first = threading.Thread(target=lambda: engine.poll(max_events=1))
    first.start()
    assert inside.wait(5)
    second_result: list[int] = []
    second = threading.Thread(target=lambda: second_result.append(engine.poll()))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert ran == [0, 1] and second_result == [1]
