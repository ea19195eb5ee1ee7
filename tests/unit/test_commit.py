"""TaskContext.commit(): after a task commits, a cancel no longer wins."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpops
from httpops import State
from httpops._transfer import Outcome
from httpops._worker import TaskContext


def test_cancel_after_commit_loses_and_the_outcome_stands(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    committed, go_on = threading.Event(), threading.Event()

    def work(ctx: TaskContext) -> Outcome:
        assert ctx.commit() is True
        committed.set()
        go_on.wait(5)  # the irreversible step happens here
        return Outcome(value="installed")

    op = engine._start("download", "GET", "http://127.0.0.1/f", work)
    assert committed.wait(5)
    assert engine.cancel(op) is False  # too late: the task owns the completion
    go_on.set()
    assert op.result(timeout=5) == "installed"
    assert op.state is State.DONE


def test_commit_after_cancel_reports_false(make_engine: Callable[..., httpops.Engine]) -> None:
    engine = make_engine()
    started, canceled, answered = threading.Event(), threading.Event(), threading.Event()
    answers: list[bool] = []

    def work(ctx: TaskContext) -> Outcome:
        started.set()
        canceled.wait(5)
        answers.append(ctx.commit())
        answered.set()
        ctx.check()  # raises Canceled: the cancel came first
        return Outcome(value="never")

    op = engine._start("download", "GET", "http://127.0.0.1/f", work)
    assert started.wait(5)
    assert engine.cancel(op) is True
    canceled.set()
    assert engine.wait(op, timeout=5)
    assert op.state is State.CANCELED
    assert answered.wait(5)
    assert answers == [False]
