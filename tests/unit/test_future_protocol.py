"""The concurrent.futures.Future protocol on Operation: done/cancelled/running, result,
exception, add_done_callback (inside poll(), never re-entrantly), as_completed.

No network: operations are registered and completed directly, as a WebSocket
session would, so poll() sees exactly the events the test put there.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops import State

EngineFactory = Callable[..., httpops.Engine]
URL = "http://127.0.0.1:9/x"


def running_op(engine: httpops.Engine, callback: Callable[..., Any] | None = None) -> Any:
    op = engine._register("get", "GET", URL, callback)
    assert engine._mark_running(op)
    return op


def failure() -> httpops.OperationError:
    return httpops.ConnectError("GET", URL, "connection refused")


# -- done(), running(), cancelled() -----------------------------------------------------------


def test_state_queries_follow_the_dispatched_state(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = engine._register("get", "GET", URL)
    assert (op.done(), op.running(), op.cancelled()) == (False, False, False)
    assert engine._mark_running(op)
    assert (op.done(), op.running(), op.cancelled()) == (False, True, False)
    assert engine._complete(op, State.DONE, value=42)
    assert (op.done(), op.running()) == (False, True)  # only poll() changes what the host sees
    assert engine.poll() == 1
    assert (op.done(), op.running(), op.cancelled()) == (True, False, False)


def test_cancel_then_cancelled_at_the_next_poll(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    assert op.cancel() is True
    assert not op.cancelled() and not op.done()
    engine.poll()
    assert op.cancelled() and op.done() and not op.running()
    assert op.cancel() is False  # already finished


def test_a_failed_operation_is_done_not_cancelled(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    engine._complete(op, State.FAILED, error=failure())
    engine.poll()
    assert op.done() and not op.cancelled()


# -- result() and exception() ----------------------------------------------------------------


def test_result_and_exception_of_a_success(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    engine._complete(op, State.DONE, value={"score": 7})
    assert op.exception(timeout=5) is None  # pumps the queue itself
    assert op.result(timeout=5) == {"score": 7}


def test_exception_returns_the_error_and_result_raises_it(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    err = failure()
    engine._complete(op, State.FAILED, error=err)
    assert op.exception(timeout=5) is err
    with pytest.raises(httpops.ConnectError) as caught:
        op.result(timeout=5)
    assert caught.value is err


def test_canceled_raises_a_futures_cancelled_error_from_both(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    op.cancel()
    with pytest.raises(concurrent.futures.CancelledError) as caught:
        op.exception(timeout=5)
    assert isinstance(caught.value, httpops.Canceled)
    with pytest.raises(concurrent.futures.CancelledError):
        op.result(timeout=5)


def test_result_and_exception_time_out_with_wait_timeout(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    for call in (op.result, op.exception):
        with pytest.raises(TimeoutError) as caught:  # as Future.result(timeout) raises
            call(0.01)
        assert isinstance(caught.value, httpops.WaitTimeout)
    assert op.running()  # the operation goes on


def test_result_of_a_done_operation_works_inside_its_callback(make_engine: EngineFactory) -> None:
    engine = make_engine()
    got: list[object] = []
    op = running_op(engine, lambda op: got.append(op.result()))
    engine._complete(op, State.DONE, value="v")
    engine.poll()
    assert got == ["v"]


# -- add_done_callback() ----------------------------------------------------------------------


def test_done_callbacks_run_in_poll_after_listeners_and_the_callback(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine()
    order: list[str] = []
    threads: list[int] = []
    engine.connect(on_get=lambda *args: order.append("listener"))
    op = running_op(engine, lambda op: order.append("callback"))
    op.add_done_callback(lambda op: order.append("first"))
    op.add_done_callback(lambda op: (order.append("second"), threads.append(threading.get_ident())))
    engine._complete(op, State.DONE, value=1)
    assert order == []
    assert engine.poll() == 1
    assert order == ["listener", "callback", "first", "second"]
    assert threads == [threading.get_ident()]
    engine.poll()
    assert order == ["listener", "callback", "first", "second"]  # exactly once


def test_done_callback_on_a_finished_operation_waits_for_the_next_poll(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine()
    op = running_op(engine)
    engine._complete(op, State.DONE, value=1)
    engine.poll()
    calls: list[httpops.Operation] = []
    op.add_done_callback(calls.append)
    assert calls == []  # never inside the call that added it
    assert engine.poll() == 1
    assert calls == [op]
    assert engine.poll() == 0 and calls == [op]


def test_done_callback_added_inside_a_callback_is_not_run_reentrantly(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine()
    calls: list[str] = []

    def callback(op: httpops.Operation) -> None:
        op.add_done_callback(lambda op: calls.append("late"))
        calls.append("callback done")

    op = running_op(engine, callback)
    engine._complete(op, State.DONE)
    assert engine.poll() == 1
    assert calls == ["callback done"]  # queued behind this poll's snapshot
    assert engine.poll() == 1
    assert calls == ["callback done", "late"]


def test_done_callbacks_of_a_canceled_and_a_failed_operation_run(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine()
    states: list[State] = []
    canceled, failed = running_op(engine), running_op(engine)
    for op in (canceled, failed):
        op.add_done_callback(lambda op: states.append(op.state))
    canceled.cancel()
    engine._complete(failed, State.FAILED, error=failure())
    engine.poll()
    assert states == [State.CANCELED, State.FAILED]


def test_no_done_callback_runs_for_a_silenced_operation(make_engine: EngineFactory) -> None:
    engine = make_engine()
    calls: list[str] = []
    with engine.scope() as scope:
        op = scope.adopt(running_op(engine))
        op.add_done_callback(lambda op: calls.append("before"))
    engine.poll()
    assert op.cancelled()
    op.add_done_callback(lambda op: calls.append("after"))
    engine.poll()
    assert calls == []


def test_a_raising_done_callback_is_logged_and_the_next_still_runs(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    calls: list[str] = []

    def bad(op: httpops.Operation) -> None:
        raise RuntimeError("boom")

    op = running_op(engine)
    op.add_done_callback(bad)
    op.add_done_callback(lambda op: calls.append("next"))
    engine._complete(op, State.DONE)
    with caplog.at_level(logging.ERROR, logger="httpops"):
        engine.poll()
    assert calls == ["next"]
    assert any("boom" in (r.exc_text or "") for r in caplog.records)


def test_add_done_callback_rejects_what_is_not_callable(make_engine: EngineFactory) -> None:
    op = running_op(make_engine())
    for value in (None, 5, "print"):
        with pytest.raises(httpops.InvalidCallback, match="fn must be callable"):
            op.add_done_callback(value)


def test_done_callbacks_added_from_other_threads_during_polls_all_run_once(
    make_engine: EngineFactory,
) -> None:
    """The race between add_done_callback() and the dispatching poll() loses nothing."""
    engine = make_engine()
    counts: dict[int, int] = {}
    ops = [running_op(engine) for _ in range(200)]
    start = threading.Barrier(2)

    def adder() -> None:
        start.wait()
        for op in ops:
            op.add_done_callback(lambda op: counts.__setitem__(op.id, counts.get(op.id, 0) + 1))

    thread = threading.Thread(target=adder, name="test-adder")
    thread.start()
    start.wait()
    for op in ops:
        engine._complete(op, State.DONE)
        engine.poll()
    thread.join(10)
    assert not thread.is_alive()
    engine.poll()
    assert counts == {op.id: 1 for op in ops}


# -- the old property ----------------------------------------------------------------------


def test_bare_done_still_answers_with_a_deprecation_warning(make_engine: EngineFactory) -> None:
    engine = make_engine()
    op = running_op(engine)
    with pytest.warns(DeprecationWarning, match=r"call op.done\(\)"):
        assert not op.done
    engine._complete(op, State.DONE)
    engine.poll()
    with pytest.warns(DeprecationWarning):
        assert op.done
    assert op.done() is True  # the method itself never warns (filterwarnings=error)


# -- as_completed() ----------------------------------------------------------------------------


def test_as_completed_yields_in_the_order_they_finish(make_engine: EngineFactory) -> None:
    engine = make_engine()
    ops = [running_op(engine) for _ in range(3)]
    engine._complete(ops[2], State.DONE, value=2)
    iterator = httpops.as_completed(ops, timeout=5)
    assert next(iterator) is ops[2]
    engine._complete(ops[0], State.FAILED, error=failure())
    assert next(iterator) is ops[0]
    ops[1].cancel()
    assert next(iterator) is ops[1]
    with pytest.raises(StopIteration):
        next(iterator)


def test_as_completed_yields_finished_ones_first_and_duplicates_once(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine()
    a, b = running_op(engine), running_op(engine)
    engine._complete(b, State.DONE)
    engine._complete(a, State.DONE)
    engine.poll()
    assert list(httpops.as_completed([b, a, b, a])) == [b, a]


def test_as_completed_completed_from_a_worker_thread(make_engine: EngineFactory) -> None:
    engine = make_engine()
    ops = [running_op(engine) for _ in range(5)]
    release = threading.Event()

    def finish() -> None:
        for op in reversed(ops):
            release.wait(10)
            engine._complete(op, State.DONE, value=op.id)

    thread = threading.Thread(target=finish, name="test-finisher")
    thread.start()
    release.set()
    got = [op.result() for op in httpops.as_completed(ops, timeout=10)]
    thread.join(10)
    assert sorted(got) == sorted(op.id for op in ops)


def test_as_completed_raises_wait_timeout_and_leaves_the_rest(make_engine: EngineFactory) -> None:
    engine = make_engine()
    done, slow = running_op(engine), running_op(engine)
    engine._complete(done, State.DONE)
    seen = []
    with pytest.raises(httpops.WaitTimeout, match=r"1 of 2 operations not finished after 0\.05 s"):
        for op in httpops.as_completed([done, slow], timeout=0.05):
            seen.append(op)
    assert seen == [done] and slow.running()


def test_as_completed_checks_its_arguments_at_the_call(make_engine: EngineFactory) -> None:
    engine = make_engine()
    with pytest.raises(httpops.InvalidArgument, match="takes operations, got int"):
        httpops.as_completed([running_op(engine), 3])  # type: ignore[list-item]
    with pytest.raises(httpops.InvalidArgument, match="timeout"):
        httpops.as_completed([], timeout=0)
    orphan = httpops.Operation(None, 1, "get", "GET", URL)
    with pytest.raises(httpops.InvalidArgument, match="belongs to no engine"):
        httpops.as_completed([orphan])
    assert list(httpops.as_completed([])) == []


def test_as_completed_inside_a_callback_is_refused(make_engine: EngineFactory) -> None:
    engine = make_engine()
    other = running_op(engine)
    errors: list[BaseException] = []

    def callback(op: httpops.Operation) -> None:
        try:
            next(httpops.as_completed([other]))
        except httpops.ReentrantPollError as exc:
            errors.append(exc)

    op = running_op(engine, callback)
    engine._complete(op, State.DONE)
    engine.poll()
    assert len(errors) == 1
