"""cancel(): a queued operation never starts, a running one stops; one completion either way."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_cancel_before_start_never_reaches_the_server(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=1))
    done: list[httpops.Operation] = []
    busy = engine.get(server.url("/slow?delay=0.3"), done.append)
    assert server.wait_for_requests(1)  # the only worker is now inside /slow
    queued = engine.get(server.url("/text?queued=1"), done.append)
    assert queued.state is httpops.State.QUEUED
    assert queued.cancel() is True
    assert queued.cancel() is False
    assert engine.wait(busy, queued, timeout=10)
    assert queued.state is httpops.State.CANCELED
    assert isinstance(queued.error, httpops.Canceled)
    assert str(queued.error).startswith(f"canceled: GET {queued.url}")
    assert busy.state is httpops.State.DONE
    # The worker is free again and ran nothing for the canceled operation.
    after = engine.get(server.url("/json"))
    assert engine.wait(after, timeout=10)
    assert [r.path for r in server.requests] == ["/slow?delay=0.3", "/json"]
    assert done == [queued, busy]


def test_cancel_by_id_through_the_engine(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=1))
    busy = engine.get(server.url("/slow?delay=0.2"))
    queued = engine.get(server.url("/text"))
    assert engine.cancel(queued.id) is True
    assert engine.cancel(queued.id) is False
    assert engine.cancel(9999) is False
    assert engine.wait(busy, queued, timeout=10)
    assert queued.state is httpops.State.CANCELED
    assert engine.cancel(busy) is False  # already finished


def test_cancel_mid_body_stops_reading_and_frees_the_worker(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=1, progress_interval=0))
    calls: list[httpops.State] = []
    progress: list[int] = []
    # 2000 bytes at 10 ms each: 20 s unless cancel really stops the read.
    op = engine.get(
        server.url("/drip?bytes=2000&interval=0.01"),
        lambda o: calls.append(o.state),
        on_progress=lambda o: progress.append(o.received),
    )
    assert wait_for(lambda: (engine.poll(), bool(progress))[1], timeout=10)
    started = time.monotonic()
    assert op.cancel() is True
    assert engine.wait(op, timeout=5)
    assert op.state is httpops.State.CANCELED and calls == [httpops.State.CANCELED]
    # No progress callback runs after the cancel.
    seen = len(progress)
    follow = engine.get(server.url("/json"))  # only runs once the worker let go of the drip
    assert engine.wait(follow, timeout=5)
    assert time.monotonic() - started < 3
    assert follow.state is httpops.State.DONE
    assert len(progress) == seen
    assert op.received < 2000


def test_cancel_after_completion_is_queued_changes_nothing(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine()
    calls: list[httpops.State] = []
    op = engine.get(server.url("/text"), lambda o: calls.append(o.state))
    assert wait_for(lambda: op.claimed, timeout=10)  # the worker already queued its result
    assert op.cancel() is False
    assert engine.wait(op, timeout=5)
    assert calls == [httpops.State.DONE]


@pytest.mark.requests_transport
def test_close_cancels_in_flight_work_and_joins_quickly(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    # A fixed pool, so three requests are still queued when close() comes.
    engine = make_engine(httpops.Config(max_workers=2, max_elastic_workers=0))
    calls: list[httpops.State] = []
    running = [
        engine.get(server.url("/drip?bytes=1000&interval=0.01"), lambda o: calls.append(o.state))
        for _ in range(2)
    ]
    queued = [engine.get(server.url("/text"), lambda o: calls.append(o.state)) for _ in range(3)]
    assert server.wait_for_requests(2)
    started = time.monotonic()
    engine.close(timeout=5)
    assert time.monotonic() - started < 2
    assert not any(t.is_alive() for t in engine.threads())
    # The completions stay queued and a later poll still dispatches them, once each.
    engine.poll()
    assert calls == [httpops.State.CANCELED] * 5
    assert all(op.state is httpops.State.CANCELED for op in running + queued)
    assert server.hits("/text") == 0
    try:
        engine.get(server.url("/text"))
    except httpops.EngineClosed as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("EngineClosed not raised")


def test_cancel_while_waiting_for_headers_frees_the_worker(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=1))
    op = engine.get(server.url("/slow?delay=20"))
    assert server.wait_for_requests(1)  # connected; the worker now waits for the headers
    started = time.monotonic()
    assert op.cancel()
    follow = engine.get(server.url("/json"))
    assert engine.wait(op, follow, timeout=5)
    assert time.monotonic() - started < 2
    assert op.state is httpops.State.CANCELED and follow.state is httpops.State.DONE


def test_close_while_waiting_for_headers_joins_quickly(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=3))
    ops = [engine.get(server.url(f"/slow?delay=20&i={i}")) for i in range(3)]
    assert server.wait_for_requests(3)
    started = time.monotonic()
    engine.close(timeout=5)
    assert time.monotonic() - started < 2
    assert not any(t.is_alive() for t in engine.threads())
    engine.poll()
    assert [op.state for op in ops] == [httpops.State.CANCELED] * 3
