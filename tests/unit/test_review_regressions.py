"""Regressions from review: commit keeps the operation live; figures survive failures."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpops
from httpops import OperationError, State
from httpops._transfer import Outcome
from httpops._worker import TaskContext


def test_a_committed_operation_stays_live_until_its_completion_is_queued(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    committed, go_on = threading.Event(), threading.Event()

    def work(ctx: TaskContext) -> Outcome:
        ctx.commit()
        committed.set()
        go_on.wait(5)
        return Outcome(value="installed")

    op = engine._start("download", "GET", "http://127.0.0.1/f", work)
    assert committed.wait(5)
    assert engine.operation(op.id) is op  # still live: idle-waits must not return
    assert engine.run_until_idle(timeout=0.2) is False
    go_on.set()
    assert engine.run_until_idle(timeout=5) is True
    assert op.state is State.DONE


def test_final_figures_are_kept_when_the_operation_fails(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()

    def work(ctx: TaskContext) -> Outcome:
        ctx.progress(10, 10, final=True)  # nobody listens: rides on the completion
        raise OperationError("GET", ctx.op.url, "after the body")

    op = engine._start("get", "GET", "http://127.0.0.1/x", work)
    assert engine.wait(op, timeout=5)
    assert op.state is State.FAILED
    assert (op.received, op.total, op.progress) == (10, 10, 100.0)


def test_a_listener_connected_mid_flight_gets_the_final_progress(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    started, go_on = threading.Event(), threading.Event()
    heard: list[float | None] = []

    def work(ctx: TaskContext) -> Outcome:
        started.set()
        go_on.wait(5)
        ctx.progress(5, 5, final=True)
        return Outcome(value=b"x")

    op = engine._start("get", "GET", "http://127.0.0.1/y", work)
    assert started.wait(5)
    engine.connect(on_get_progress=lambda op_id, url, progress: heard.append(progress))
    go_on.set()
    assert engine.wait(op, timeout=5)
    assert heard == [100.0]
