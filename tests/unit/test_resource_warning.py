"""Mistakes are loud: an engine never closed warns, and so does a host that never polls."""

from __future__ import annotations

import gc
import logging
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as http_server:
        yield http_server


def _threads_of(engine: httpops.Engine) -> list[threading.Thread]:
    return engine.threads()


def test_an_engine_never_closed_gives_a_resource_warning_and_stops_its_workers(
    server: HTTPTestServer,
) -> None:
    engine = httpops.Engine()
    assert engine.get(server.url("/text")).result(timeout=10).text == "hello text"
    threads = _threads_of(engine)
    assert threads and all(t.is_alive() for t in threads)
    gone = weakref.ref(engine)
    with pytest.warns(ResourceWarning, match=r"httpops.Engine was never closed: call engine.close"):
        del engine
        # The worker that completed the GET holds its job (and so the engine) for a
        # moment after result() returns; on a busy machine gc runs inside that window.
        assert wait_for(lambda: gc.collect() >= 0 and gone() is None)
    assert wait_for(lambda: not any(t.is_alive() for t in threads)), threads


def test_a_closed_engine_gives_no_warning(server: HTTPTestServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with httpops.Engine() as engine:
            engine.get(server.url("/text")).result(timeout=10)
        del engine
        gc.collect()


def test_an_unused_engine_never_closed_warns_too() -> None:
    engine = httpops.Engine()
    with pytest.warns(ResourceWarning, match="never closed"):
        del engine
        gc.collect()


# -- a host that never polls ---------------------------------------------------------------


def _starvation_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "waited" in r.getMessage() and "poll()" in r.getMessage()]


def _after(seconds: float) -> Callable[[], bool]:
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end


def test_completions_waiting_for_a_poll_that_never_comes_log_one_warning(
    engine: httpops.Engine, server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpops")
    engine.events.warn_after = 0.2
    engine.get(server.url("/text"))
    assert wait_for(lambda: len(engine.events) == 1)  # its completion waits: nobody polls
    assert wait_for(_after(0.3))
    assert _starvation_records(caplog) == []  # nothing is checked without a new event
    engine.get(server.url("/text"))
    assert wait_for(lambda: len(_starvation_records(caplog)) == 1)
    (record,) = _starvation_records(caplog)
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert message.startswith("2 httpops events have waited")
    assert "Engine.poll()/wait()" in message and "httpops.poll()" in message
    engine.get(server.url("/text"))
    assert wait_for(lambda: len(engine.events) == 3)
    assert len(_starvation_records(caplog)) == 1  # once per engine
    assert engine.poll() == 3


def test_a_host_that_polls_gets_no_warning(
    engine: httpops.Engine, server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="httpops")
    engine.events.warn_after = 0.2
    for _ in range(3):
        op = engine.get(server.url("/text"))
        assert engine.wait(op, timeout=10)
        assert wait_for(_after(0.25))  # longer than warn_after, but the queue is empty
    assert _starvation_records(caplog) == []


def test_completions_left_after_close_need_no_poll(
    make_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="httpops")
    engine = make_engine()
    engine.events.warn_after = 0.2
    engine.get(server.url("/slow?delay=5"))
    engine.get(server.url("/text"))
    assert wait_for(lambda: len(engine.events) == 1)
    assert wait_for(_after(0.3))
    engine.close()  # queues the slow one's cancel: no poll will come, and none is needed
    assert len(engine.events) == 2
    assert _starvation_records(caplog) == []
