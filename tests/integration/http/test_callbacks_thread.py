"""Callbacks and global listeners run only on the polling thread, never on a worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpops
from httpops._events import Completion
from tests.conftest import wait_for
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_callbacks_and_listeners_run_on_the_polling_thread(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=4, progress_interval=0))
    seen: list[tuple[str, str]] = []

    def record(what: str) -> Callable[..., None]:
        def fn(*_: Any) -> None:
            seen.append((what, threading.current_thread().name))

        return fn

    engine.connect(
        on_get=record("on_get"),
        on_get_progress=record("on_get_progress"),
        on_post=record("on_post"),
        on_post_progress=record("on_post_progress"),
    )
    ops = [
        engine.get(server.url("/bytes/200000"), record("get"), on_progress=record("get-p"))
        for _ in range(4)
    ]
    ops += [
        engine.post(server.url("/echo"), b"x" * 100_000, record("post"), on_progress=record("p"))
        for _ in range(2)
    ]
    ops.append(engine.get_json(server.url("/json"), record("get_json")))
    assert engine.wait(*ops, timeout=10)
    me = threading.current_thread().name
    assert seen, "no callback ran"
    assert {name for _, name in seen} == {me}
    kinds = {what for what, _ in seen}
    assert {"on_get", "on_post", "get", "post", "get_json", "on_get_progress"} <= kinds


def test_callbacks_run_on_whichever_thread_polls(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    """A script may poll from a thread of its own; callbacks follow the poller."""
    engine = make_engine()
    threads: list[threading.Thread] = []
    op = engine.get(server.url("/text"), lambda _op: threads.append(threading.current_thread()))
    poller_done = threading.Event()

    def poller() -> None:
        engine.wait(op, timeout=10)
        poller_done.set()

    thread = threading.Thread(target=poller, name="test-poller")
    thread.start()
    assert poller_done.wait(10)
    thread.join(5)
    assert threads == [thread]


def test_no_callback_runs_without_poll(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine()
    called: list[httpops.Operation] = []
    op = engine.get(server.url("/text"), called.append)
    assert server.wait_for_requests(1)
    # The worker finishes on its own; the completion waits in the queue until polled.
    assert wait_for(lambda: any(isinstance(e, Completion) for e in list(engine.events.items)))
    assert called == [] and not op.done()
    assert engine.poll() >= 1
    assert called == [op] and op.state is httpops.State.DONE
