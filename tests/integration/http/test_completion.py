"""Exactly one completion per operation, progress before it, and budgeted polls."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpops
from httpops._events import Completion
from tests.conftest import wait_for
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


class Recorder:
    """Records, per operation id, what the host saw: progress figures and completions."""

    def __init__(self) -> None:
        self.log: dict[int, list[tuple[str, Any]]] = {}

    def progress(self, op: httpops.Operation) -> None:
        self.log.setdefault(op.id, []).append(("progress", op.progress))

    def done(self, op: httpops.Operation) -> None:
        self.log.setdefault(op.id, []).append(("done", op.state))

    def listener(self, operation_id: int, url: str, err: Any, data: Any) -> None:
        self.log.setdefault(operation_id, []).append(("listener", err is None))


def test_each_operation_completes_once_with_progress_first(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=4, progress_interval=0))
    rec = Recorder()
    engine.connect(on_get=rec.listener, on_post=rec.listener)
    paths = ["/bytes/300000", "/bytes/50000?chunked=1", "/json", "/status/500", "/json/bad"]
    ops = [
        engine.get(server.url(random.choice(paths)), rec.done, on_progress=rec.progress)
        for _ in range(30)
    ]
    ops += [engine.post(server.url("/echo"), "a=1", rec.done, on_progress=rec.progress)]
    ops += [engine.get_json(server.url("/json/bad"), rec.done) for _ in range(3)]
    ops.append(engine.get("http://127.0.0.1:1/refused", rec.done, on_progress=rec.progress))
    # Cancel a few at arbitrary moments: a canceled one must still complete exactly once.
    canceled = {op.id for op in ops[::7] if op.cancel()}
    assert engine.wait(*ops, timeout=15)
    assert engine.run_until_idle(timeout=5)
    for op in ops:
        entries = rec.log[op.id]
        kinds = [kind for kind, _ in entries]
        assert kinds.count("done") == 1, (op, entries)
        assert kinds.count("listener") == 1, (op, entries)
        # Listener, then the op's callback, as http.lua does; nothing after them.
        assert kinds[-2:] == ["listener", "done"], (op, entries)
        assert entries[-1][1] is op.state
    # Canceled exactly when cancel() won the race with the worker's result.
    assert {op.id for op in ops if op.state is httpops.State.CANCELED} == canceled
    assert engine.operations == {}


def test_ids_count_from_one_and_are_never_reused(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine()
    first = [engine.get(server.url("/text")) for _ in range(3)]
    assert engine.wait(*first, timeout=10)
    second = engine.get(server.url("/text"))
    assert [op.id for op in first] + [second.id] == [1, 2, 3, 4]
    assert engine.wait(second, timeout=10)


def test_budgeted_poll_leaves_work_for_the_next_tick(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    ticks = [0.0]

    def clock() -> float:
        return ticks[0]

    engine = make_engine(clock=clock)
    calls: list[int] = []

    def slow_callback(op: httpops.Operation) -> None:
        calls.append(op.id)
        ticks[0] += 0.010  # each callback "costs" 10 ms of the frame

    ops = [engine.get(server.url("/text"), slow_callback) for _ in range(6)]

    def all_queued() -> bool:
        return sum(isinstance(e, Completion) for e in list(engine.events.items)) == len(ops)

    assert wait_for(all_queued, timeout=10)
    ready = len(engine.events)
    first = engine.poll(budget=0.025)
    assert len(calls) == 3 and first < ready  # 3 x 10 ms spends the 25 ms budget
    assert engine.poll(budget=0.0) >= 1  # a spent budget still dispatches one event
    assert engine.run_until_idle(timeout=5)
    assert sorted(calls) == [op.id for op in ops]


def test_max_events_caps_one_poll(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine()
    ops = [engine.get(server.url("/text")) for _ in range(5)]

    def all_queued() -> bool:
        return sum(isinstance(e, Completion) for e in list(engine.events.items)) == len(ops)

    assert wait_for(all_queued, timeout=10)
    waiting = len(engine.events)
    assert engine.poll(max_events=2) == 2
    assert len(engine.events) == waiting - 2
    assert engine.poll() == waiting - 2
    assert all(op.done() for op in ops)
