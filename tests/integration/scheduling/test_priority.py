"""priority=: queued work runs highest priority first, FIFO within one priority.

One worker (or every worker of a capped elastic pool) is held by a request
at the server's gate; operations queued behind it with different priorities
must reach the server in priority order once the gate opens. The server's
arrival log is the proof.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import httpops
from tests.servers.paced import PacedServer

Make = Callable[..., httpops.Engine]
Conf = Callable[..., httpops.Config]

# (name, priority) queued behind the blocker(s), and the order they must run in.
QUEUED = [("a", 0), ("b", 0), ("login", 10), ("c", 5), ("d", 0), ("bg", -1)]
ORDER = ["login", "c", "a", "b", "d", "bg"]


def _start(engine: httpops.Engine, kind: str, url: str, priority: int) -> httpops.Operation:
    if kind == "download":
        return engine.download(url, url.rsplit("/", 1)[1] + ".bin", priority=priority)
    if kind == "image":
        return engine.download_image(url + ".png", priority=priority)
    if kind == "get_json":
        return engine.get_json(url, priority=priority)
    if kind == "post":
        return engine.post(url, b"x", priority=priority)
    if kind == "post_json":
        return engine.post_json(url, {"x": 1}, priority=priority)
    if kind == "put":
        return engine.put(url, b"x", priority=priority)
    if kind == "request":
        return engine.request("DELETE", url, priority=priority)
    return engine.get(url, priority=priority)


def _run_queue(engine: httpops.Engine, paced: PacedServer, kind: str, blockers: int) -> list[str]:
    ops = [_start(engine, kind, paced.url(f"/gate/block{i}"), 0) for i in range(blockers)]
    assert paced.wait_arrivals(blockers)
    for name, priority in QUEUED:
        op = _start(engine, kind, paced.url(f"/gate/{name}"), priority)
        assert op.priority == priority
        ops.append(op)
    paced.open_gate()
    assert engine.wait(*ops, timeout=10)
    assert [op.state for op in ops] == [httpops.State.DONE] * len(ops)
    return [path.rsplit("/", 1)[1].removesuffix(".png") for path in paced.arrivals[blockers:]]


@pytest.mark.parametrize("kind", ["download", "image"])
def test_download_pool_runs_queued_work_by_priority(
    make_engine: Make, config: Conf, paced: PacedServer, kind: str
) -> None:
    engine = make_engine(config(max_download_workers=1))
    assert _run_queue(engine, paced, kind, 1) == ORDER


@pytest.mark.requests_transport  # busy workers queue work; curl runs it all (test_curl_scheduling)
@pytest.mark.parametrize("kind", ["get", "get_json", "post", "post_json", "put", "request"])
def test_fixed_request_pool_runs_queued_work_by_priority(
    make_engine: Make, config: Conf, paced: PacedServer, kind: str
) -> None:
    engine = make_engine(config(max_workers=1, max_elastic_workers=0, retry=None))
    assert _run_queue(engine, paced, kind, 1) == ORDER


@pytest.mark.requests_transport  # busy workers queue work; curl runs it all (test_curl_scheduling)
def test_elastic_pool_at_its_cap_runs_queued_work_by_priority(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    # Two fixed workers plus one elastic: three held requests fill it, then work queues.
    engine = make_engine(config(max_workers=2, max_elastic_workers=3))
    blockers = [engine.get(paced.url(f"/hold/b{i}")) for i in range(3)]
    assert paced.wait_arrivals(3)
    queued = [engine.get(paced.url(f"/gate/{name}"), priority=p) for name, p in QUEUED]
    # Free one worker at a time: each takes the best queued request (held at the gate).
    for i in range(3):
        paced.release(f"b{i}")
        assert paced.wait_arrivals(4 + i)
    assert paced.arrivals[3:] == ["/gate/login", "/gate/c", "/gate/a"]
    paced.open_gate()
    assert engine.wait(*blockers, *queued, timeout=10)
    assert sorted(paced.arrivals[6:]) == ["/gate/b", "/gate/bg", "/gate/d"]


@pytest.mark.requests_transport  # busy workers queue work; curl runs it all (test_curl_scheduling)
def test_running_work_is_not_preempted(make_engine: Make, config: Conf, paced: PacedServer) -> None:
    engine = make_engine(config(max_workers=1, max_elastic_workers=0))
    blocker = engine.get(paced.url("/gate/slow"))
    assert paced.wait_arrivals(1)
    urgent = engine.get(paced.url("/gate/urgent"), priority=100)
    assert engine.wait(blocker, timeout=0.3) is False  # still running, not interrupted
    assert blocker.state is httpops.State.RUNNING
    assert urgent.state is httpops.State.QUEUED
    paced.open_gate()
    assert engine.wait(blocker, urgent, timeout=10)
    assert blocker.value.content == b'"slow"'


@pytest.mark.requests_transport  # busy workers queue work; curl runs it all (test_curl_scheduling)
def test_default_priority_is_zero_and_fifo(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    engine = make_engine(config(max_workers=1, max_elastic_workers=0))
    ops = [engine.get(paced.url(f"/gate/n{i}")) for i in range(5)]
    assert all(op.priority == 0 for op in ops)
    paced.open_gate()
    assert engine.wait(*ops, timeout=10)
    assert paced.arrivals == [f"/gate/n{i}" for i in range(5)]


METHODS = ["get", "get_json", "post", "post_json", "download", "image"]


@pytest.mark.parametrize("kind", METHODS)
@pytest.mark.parametrize("bad", ["high", 1.5, True, None])
def test_a_bad_priority_fails_at_the_call(
    make_engine: Make, config: Conf, kind: str, bad: object
) -> None:
    engine = make_engine(config())
    with pytest.raises(httpops.InvalidArgument, match="priority must be an int"):
        _start(engine, kind, "http://127.0.0.1:9/x", bad)  # type: ignore[arg-type]
    assert engine.operations == {}


@pytest.mark.requests_transport  # busy workers queue work; curl runs it all (test_curl_scheduling)
def test_scope_methods_take_priority(make_engine: Make, config: Conf, paced: PacedServer) -> None:
    engine = make_engine(config(max_workers=1, max_elastic_workers=0))
    with engine.scope() as scope:
        blocker = scope.get(paced.url("/gate/first"))
        assert paced.wait_arrivals(1)
        low = scope.get(paced.url("/gate/low"))
        high = scope.get(paced.url("/gate/high"), priority=3)
        paced.open_gate()
        assert engine.wait(blocker, low, high, timeout=10)
    assert paced.arrivals == ["/gate/first", "/gate/high", "/gate/low"]
