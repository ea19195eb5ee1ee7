"""An engine never closed stops every thread it started, the watchdog included.

``Engine.__del__`` cannot wait for threads (the collector may run it on any
thread), but it must still tell each one to stop: the deadline watchdog
would otherwise idle on forever, and the curl network thread's wake-up
sockets would be left for the collector (a ResourceWarning later, in
whatever code happens to run then).
"""

from __future__ import annotations

import gc
import threading
import warnings
import weakref
from collections.abc import Iterator

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as http_server:
        yield http_server


def _watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "httpops-watchdog"]


def test_an_abandoned_engine_stops_its_watchdog(server: HTTPTestServer) -> None:
    before = set(_watchdogs())
    engine = httpops.Engine(httpops.Config(deadline=30.0))
    assert engine.get(server.url("/text")).result(timeout=10).status == 200
    started = [t for t in _watchdogs() if t not in before]
    assert len(started) == 1  # the deadline made the engine watch the request
    gone = weakref.ref(engine)
    with pytest.warns(ResourceWarning, match="never closed"):
        del engine
        # The worker that ran the GET lets go of its job a moment after result().
        assert wait_for(lambda: gc.collect() >= 0 and gone() is None)
    assert wait_for(lambda: not started[0].is_alive(), timeout=5.0)


def test_an_abandoned_engine_leaves_no_socket_for_the_collector(server: HTTPTestServer) -> None:
    engine = httpops.Engine()
    threads_before = set(threading.enumerate())
    assert engine.get(server.url("/text")).result(timeout=10).status == 200
    mine = [t for t in threading.enumerate() if t not in threads_before]
    gone = weakref.ref(engine)
    with pytest.warns(ResourceWarning, match="never closed"):
        del engine
        # The worker that ran the GET lets go of its job a moment after result().
        assert wait_for(lambda: gc.collect() >= 0 and gone() is None)
    assert wait_for(lambda: not any(t.is_alive() for t in mine), timeout=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        gc.collect()  # an unclosed socket found here would raise (filterwarnings = error)
