"""The default engine: created lazily, polled by httpops.poll(), used by httpops.HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer


@pytest.fixture
def fresh_default() -> Iterator[None]:
    httpops.close_default_engine()
    yield
    httpops.close_default_engine()
    assert wait_for(lambda: not any(t.name.startswith("httpops-") for t in threading.enumerate()))


def test_default_engine_is_lazy_and_shared(fresh_default: None) -> None:
    import httpops._default as default_module

    assert default_module._engine is None
    engine = httpops.default_engine()
    assert engine is httpops.default_engine()
    assert httpops.poll() == 0


def test_module_poll_dispatches_the_default_engines_events(
    fresh_default: None, server: HTTPTestServer
) -> None:
    done: list[httpops.Operation] = []
    op = httpops.default_engine().get(server.url("/text"), done.append)
    assert wait_for(lambda: (httpops.poll(), op.done())[1], timeout=10)
    assert done == [op]


def test_http_facade_uses_the_default_engine(fresh_default: None, server: HTTPTestServer) -> None:
    results: list[tuple[Any, Any]] = []
    httpops.HTTP.getJSON(server.url("/json"), lambda data, err: results.append((data, err)))
    assert wait_for(lambda: (httpops.poll(), bool(results))[1], timeout=10)
    assert results == [({"hello": "world", "n": 1}, None)]


def test_closed_default_engine_is_replaced(fresh_default: None, server: HTTPTestServer) -> None:
    first = httpops.default_engine()
    httpops.close_default_engine()
    assert first.closed
    second = httpops.default_engine()
    assert second is not first and not second.closed
    # The facade rebinds to the new engine, global handlers included.
    seen: list[int] = []
    httpops.HTTP.onGet = lambda op_id, *_: seen.append(op_id)
    try:
        op_id = httpops.HTTP.get(server.url("/text"))
        assert wait_for(lambda: (httpops.poll(), bool(seen))[1], timeout=10)
        assert seen == [op_id]
    finally:
        httpops.HTTP.onGet = None
