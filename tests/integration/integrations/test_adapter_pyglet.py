"""The pyglet/arcade adapter: pyglet's clock polls the engine with a budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import httpops
from httpops.integrations.pyglet import schedule
from tests.servers import HTTPTestServer

pyglet_clock = pytest.importorskip("pyglet.clock", reason="pyglet is not installed")

EngineFactory = Callable[..., httpops.Engine]


class FakeTime:
    """pyglet.clock.Clock's time source, advanced one frame per tick by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_scheduled_poll_delivers_on_the_clock_thread_and_unschedules(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()
    fake = FakeTime()
    clock = pyglet_clock.Clock(time_function=fake)
    stop = schedule(engine, interval=1 / 60, budget=0.002, clock=clock)
    results: list[object] = []
    op = engine.get_json(http_server.url("/json"), lambda op: results.append(op.value))
    for _ in range(600):  # at most 10 s of frames
        engine.events.wait_nonempty(0.02)  # real time passes for the worker, not a bare sleep
        fake.now += 1 / 60
        clock.tick()
        if results:
            break
    assert op.done() and results == [op.value]

    stop()
    late = engine.get(http_server.url("/json"))
    assert engine.events.wait_nonempty(10)
    fake.now += 1.0
    clock.tick()
    assert not late.done()  # nothing polls any more: the event waits in the queue
    assert engine.wait(late, timeout=10)


def test_interval_must_be_positive(make_engine: EngineFactory) -> None:
    with pytest.raises(ValueError, match="interval"):
        schedule(make_engine(), interval=0)
