"""Backpressure: a host that stops polling bounds memory; nothing is lost when it polls again."""

from __future__ import annotations

from collections.abc import Callable

import httpops
from tests.conftest import wait_for
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import WSTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_reader_pauses_at_high_water_and_resumes_without_loss(
    make_engine: EngineFactory, ws_server: WSTestServer, rec: Recorder
) -> None:
    engine = make_engine(httpops.Config(ws_high_water=50))
    count = 3000
    ws = engine.websocket(ws_server.url(f"/burst?n={count}&size=64"), **rec.callbacks())
    ws.send("go")
    # The host does not poll: the session stops reading at the high-water mark.
    assert wait_for(lambda: ws._session.paused, timeout=5)
    assert ws.undelivered == 50
    assert len(engine.events) <= 51  # the open event and 50 messages
    # Still paused a moment later: nothing more was read.
    assert not wait_for(lambda: ws.undelivered > 50, timeout=0.2)
    # One small poll drains below half: the reader resumes, and stays bounded.
    engine.poll(max_events=30)
    assert wait_for(lambda: ws._session.paused, timeout=5)
    assert ws.undelivered <= 50
    assert pump(engine, lambda: len(rec.messages) == count, timeout=10)
    assert [m[: m.index(".")] for m in rec.messages] == [str(i) for i in range(count)]
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert rec.closes == [(1000, "")]
