"""Owner scopes: closing one cancels its operations and silences their callbacks."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import httpops
from httpops import EngineClosed, State


def test_closing_a_scope_silences_a_completion_already_queued(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    seen: list[str] = []
    engine.connect(on_get=lambda *args: seen.append("listener"))
    scope = engine.scope()
    op = scope.adopt(
        engine._register("get", "GET", "http://127.0.0.1/x", lambda op: seen.append("cb"))
    )
    engine._mark_running(op)
    engine._complete(op, State.DONE, value="late")  # already waiting in the queue
    scope.close()
    assert engine.poll() == 1
    assert op.state is State.DONE  # the state is still true to what happened
    assert seen == []


def test_scope_cancels_live_operations_and_refuses_new_ones(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    calls: list[httpops.Operation] = []
    with engine.scope() as scope:
        op = scope.adopt(engine._register("get", "GET", "http://127.0.0.1/y", calls.append))
        assert scope.operations == [op]
    engine.poll()
    assert op.state is State.CANCELED
    assert calls == []
    with pytest.raises(EngineClosed, match="scope is closed"):
        scope.get("http://127.0.0.1/z")


def test_scope_starters_mirror_the_engine(make_engine: Callable[..., httpops.Engine]) -> None:
    engine = make_engine()
    scope = engine.scope()
    assert scope.get.__doc__ == engine.get.__doc__
    with pytest.raises(AttributeError):
        _ = scope.close_everything  # type: ignore[attr-defined]
    # Argument errors surface at the call, exactly as on the engine.
    with pytest.raises(httpops.InvalidURL):
        scope.get("ftp://127.0.0.1/")
    assert scope.operations == []
    scope.close()


def test_wakeup_runs_on_the_producing_thread_when_the_queue_fills(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    woken: list[str] = []
    engine.set_wakeup(lambda: woken.append(threading.current_thread().name))
    first = engine._register("get", "GET", "http://127.0.0.1/a")
    second = engine._register("get", "GET", "http://127.0.0.1/b")
    worker = threading.Thread(
        target=lambda: [engine._complete(o, State.CANCELED) for o in (first, second)],
        name="producer",
    )
    worker.start()
    worker.join(5)
    assert woken == ["producer"]  # once: empty -> non-empty, not per event
    assert engine.poll() == 2
    with pytest.raises(httpops.InvalidCallback):
        engine.set_wakeup("not callable")  # type: ignore[arg-type]


def test_a_long_scene_forgets_finished_operations(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine()
    scope = engine.scope()
    for _ in range(500):
        op = scope.adopt(engine._register("get", "GET", "http://127.0.0.1/x"))
        engine._mark_running(op)
        engine._complete(op, State.DONE, value=b"x" * 1000)
        engine.poll()
    assert scope.operations == []
    assert len(scope._owned) < 64  # pruned as it grew, not kept for the scene's life
    scope.close()
