"""The asyncio adapter: results arrive on the event loop's thread without a polling timer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

import httpops
from httpops.integrations.asyncio import AsyncioAdapter
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_wait_returns_the_value_and_callbacks_run_on_the_loop_thread(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()
    seen: list[tuple[int, bool]] = []

    async def main() -> tuple[object, int]:
        loop_thread = threading.get_ident()
        ticks = 0

        async def heartbeat() -> None:  # proves the loop keeps running while we wait
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        beat = asyncio.get_running_loop().create_task(heartbeat())
        with AsyncioAdapter(engine) as adapter:
            op = engine.get(
                http_server.url("/slow?delay=0.2"),
                lambda op: seen.append((op.id, threading.get_ident() == loop_thread)),
            )
            value = await adapter.wait(op, timeout=10)
        beat.cancel()
        return value, ticks

    value, ticks = asyncio.run(main())
    assert isinstance(value, httpops.Response) and value.text == "ok"
    assert len(seen) == 1 and seen[0][1], seen
    assert ticks >= 5  # the event loop ran other tasks during the 0.2 s request


def test_failure_is_raised_by_wait_and_timeout_leaves_the_operation_running(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()

    async def main() -> None:
        with AsyncioAdapter(engine) as adapter:
            with pytest.raises(httpops.HTTPStatusError) as info:
                await adapter.wait(engine.get(http_server.url("/status/500")), timeout=10)
            assert info.value.status == 500
            slow = engine.get(http_server.url("/slow?delay=0.5"))
            with pytest.raises(asyncio.TimeoutError):
                await adapter.wait(slow, timeout=0.05)
            assert not slow.done()
            response = await adapter.wait(slow, timeout=10)
            assert response.status == 200

    asyncio.run(main())


def test_many_operations_are_awaited_together(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()

    async def main() -> list[object]:
        with AsyncioAdapter(engine, budget=0.0) as adapter:  # one event per drain
            ops = [engine.get_json(http_server.url("/json")) for _ in range(20)]
            return await asyncio.gather(*(adapter.wait(op, timeout=10) for op in ops))

    results = asyncio.run(main())
    assert len(results) == 20 and all(r == results[0] for r in results)


def test_wakeup_after_the_loop_closed_is_harmless(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()
    loop = asyncio.new_event_loop()
    adapter = AsyncioAdapter(engine, loop=loop)
    loop.close()
    op = engine.get(http_server.url("/json"))  # the hook fires on a worker: must not raise
    assert engine.wait(op, timeout=10)  # delivery never depended on the hook
    assert op.error is None
    adapter.close()
