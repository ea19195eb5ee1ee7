"""One cookie jar shared by every worker's session; keep-alive connections are reused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def record_threads(engine: httpops.Engine) -> dict[str, str]:
    """Map each request URL to the name of the worker thread that sent it."""
    seen: dict[str, str] = {}
    original = engine.transport.open

    def open_(request: Any, on_upload: Any = None, **kwargs: Any) -> Any:
        seen[request.url] = threading.current_thread().name
        return original(request, on_upload, **kwargs)

    engine.transport.open = open_  # type: ignore[method-assign]
    return seen


@pytest.mark.requests_transport
def test_cookie_set_on_one_worker_is_sent_by_another(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    # A fixed pool: the test steers requests onto particular workers.
    engine = make_engine(httpops.Config(max_workers=2, max_elastic_workers=0))
    threads = record_threads(engine)
    slow_a = engine.get(server.url("/slow?delay=0.3&a=1"))  # worker 1 busy
    setter = engine.get(server.url("/cookies/set?flavour=oat"))  # so worker 2 takes this
    assert engine.wait(setter, timeout=10)
    # Worker 2 stays busy until the reader is done, so the reader must run on worker 1.
    slow_b = engine.get(server.url("/slow?delay=20&b=1"))
    reader = engine.get_json(server.url("/cookies"))
    assert engine.wait(slow_a, reader, timeout=10)
    assert slow_b.cancel()
    assert threads[setter.url] != threads[reader.url], threads
    assert reader.value == {"flavour": "oat"}
    assert reader.state is httpops.State.DONE


def test_cookies_are_per_engine(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    first, second = make_engine(), make_engine()
    assert first.get(server.url("/cookies/set?who=first")).result(timeout=10).status == 200
    assert first.get_json(server.url("/cookies")).result(timeout=10) == {"who": "first"}
    assert second.get_json(server.url("/cookies")).result(timeout=10) == {}


def test_sequential_requests_reuse_the_connection(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(max_workers=4))
    for i in range(20):
        op = engine.get(server.url(f"/json?i={i}"))
        assert engine.wait(op, timeout=10) and op.state is httpops.State.DONE
    assert len(server.requests) == 20
    # One connection per worker at most (sequential work keeps to one worker anyway).
    assert len(server.peer_ports()) <= 2, server.peer_ports()


@pytest.mark.requests_transport
def test_concurrent_requests_reuse_pooled_connections(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    # A fixed pool: each elastic worker would bring a connection of its own.
    engine = make_engine(httpops.Config(max_workers=3, max_elastic_workers=0))
    for _ in range(4):
        ops = [engine.get(server.url("/bytes/5000")) for _ in range(15)]
        assert engine.wait(*ops, timeout=10)
        assert all(op.state is httpops.State.DONE for op in ops)
    assert len(server.requests) == 60
    assert len(server.peer_ports()) <= 6, server.peer_ports()


def test_a_fully_read_response_is_released_without_error(
    make_engine: EngineFactory, server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Closing the stream of a body read to its end hands the connection back;
    # it must not fail (and be logged) on the way.
    engine = make_engine()
    with caplog.at_level("DEBUG", logger="httpops"):
        op = engine.get(server.url("/json"))
        assert engine.wait(op, timeout=10) and op.state is httpops.State.DONE
    failures = [r for r in caplog.records if "closing response" in r.getMessage()]
    assert failures == []
