"""Scripts: result(), wait() and run_until_idle() pump the queue on the calling thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

import httpops
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_result_returns_the_value(engine: httpops.Engine, server: HTTPTestServer) -> None:
    assert engine.get_json(server.url("/json")).result(timeout=10) == {"hello": "world", "n": 1}
    response = engine.get(server.url("/text")).result()
    assert isinstance(response, httpops.Response)
    assert (response.status, response.text, response.ok) == (200, "hello text", True)


def test_result_raises_the_operation_error(engine: httpops.Engine, server: HTTPTestServer) -> None:
    with pytest.raises(httpops.HTTPStatusError) as caught:
        engine.get(server.url("/status/418")).result(timeout=10)
    assert caught.value.status == 418


def test_result_times_out(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.get(server.url("/slow?delay=1"))
    started = time.monotonic()
    with pytest.raises(httpops.WaitTimeout) as caught:
        op.result(timeout=0.1)
    assert time.monotonic() - started < 0.8
    assert isinstance(caught.value, TimeoutError)
    assert op.url in str(caught.value)
    op.cancel()


def test_wait_returns_false_on_timeout_then_true(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    op = engine.get(server.url("/slow?delay=0.3"))
    assert engine.wait(op, timeout=0.05) is False
    assert not op.done()
    assert engine.wait(op, timeout=10) is True
    assert op.state is httpops.State.DONE


def test_wait_for_several_and_none(engine: httpops.Engine, server: HTTPTestServer) -> None:
    ops = [engine.get(server.url(f"/json?i={i}")) for i in range(5)]
    assert engine.wait(*ops, timeout=10)
    assert all(op.done() for op in ops)
    assert engine.wait(timeout=0.01) is True  # nothing to wait for


def test_run_until_idle(engine: httpops.Engine, server: HTTPTestServer) -> None:
    finished: list[int] = []
    ops = [engine.get(server.url("/text"), lambda o: finished.append(o.id)) for _ in range(4)]
    assert engine.run_until_idle(timeout=10) is True
    assert sorted(finished) == [op.id for op in ops]
    assert engine.operations == {} and len(engine.events) == 0


def test_run_until_idle_times_out(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.get(server.url("/slow?delay=1"))
    assert engine.run_until_idle(timeout=0.05) is False
    op.cancel()
    assert engine.run_until_idle(timeout=5) is True


def test_callbacks_may_start_more_work(engine: httpops.Engine, server: HTTPTestServer) -> None:
    """A callback chaining a request: run_until_idle waits for the chained one too."""
    chained: list[httpops.Operation] = []

    def then(op: httpops.Operation) -> None:
        chained.append(engine.get_json(server.url("/json")))

    engine.get(server.url("/text"), then)
    assert engine.run_until_idle(timeout=10)
    assert len(chained) == 1 and chained[0].value == {"hello": "world", "n": 1}


def test_wait_from_another_thread_while_the_host_polls(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    """wait() on a worker-less helper thread sees ops the host thread dispatches."""
    op = engine.get(server.url("/slow?delay=0.1"))
    outcome: list[bool] = []
    helper = threading.Thread(target=lambda: outcome.append(engine.wait(op, timeout=10)))
    helper.start()
    assert engine.wait(op, timeout=10)
    helper.join(10)
    assert outcome == [True]
