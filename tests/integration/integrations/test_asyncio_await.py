"""``await op`` under the asyncio adapter; canceling the awaiting task cancels the operation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops.integrations.asyncio import AsyncioAdapter
from tests.conftest import wait_for
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


def test_await_returns_the_value(make_engine: EngineFactory, http_server: HTTPTestServer) -> None:
    engine = make_engine()

    async def main() -> tuple[Any, httpops.Response]:
        with AsyncioAdapter(engine):
            data = await engine.get_json(http_server.url("/json"))
            response = await engine.get(http_server.url("/text"))
            return data, response

    data, response = asyncio.run(main())
    assert data == {"hello": "world", "n": 1}
    assert response.status == 200 and response.text == "hello text"


def test_await_raises_the_operation_error(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()

    async def main() -> None:
        with AsyncioAdapter(engine):
            with pytest.raises(httpops.HTTPStatusError) as caught:
                await engine.get(http_server.url("/status/404"))
            assert caught.value.status == 404

    asyncio.run(main())


def test_gather_awaits_many(make_engine: EngineFactory, http_server: HTTPTestServer) -> None:
    engine = make_engine()

    async def main() -> list[Any]:
        with AsyncioAdapter(engine):
            return await asyncio.gather(
                *(engine.get_json(http_server.url("/json")) for _ in range(8))
            )

    assert asyncio.run(main()) == [{"hello": "world", "n": 1}] * 8


def test_canceling_the_awaiting_task_cancels_the_operation(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()

    async def main() -> httpops.Operation:
        with AsyncioAdapter(engine) as adapter:
            op = engine.get(http_server.url("/slow?delay=5"))

            async def awaiter() -> object:
                return await op

            task = asyncio.get_running_loop().create_task(awaiter())
            while not op.running():
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The canceled completion is dispatched by the adapter's next drain.
            with pytest.raises(httpops.Canceled):
                await adapter.wait(op, timeout=5)
            return op

    op = asyncio.run(main())
    assert op.cancelled()
    assert isinstance(op.error, httpops.Canceled)


def test_wait_for_timeout_cancels_an_awaited_operation(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()

    async def main() -> httpops.Operation:
        with AsyncioAdapter(engine):
            op = engine.get(http_server.url("/slow?delay=5"))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(op, 0.1)  # asyncio cancels what it gave up on
            return op

    op = asyncio.run(main())
    assert wait_for(lambda: (engine.poll(), op.done())[1], timeout=5)
    assert op.cancelled()


def test_await_without_an_adapter_says_what_is_missing(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()
    op = engine.get_json(http_server.url("/json"))

    async def main() -> None:
        with pytest.raises(httpops.UsageError, match=r"needs an open .*AsyncioAdapter"):
            await op

    asyncio.run(main())
    adapter_loop = asyncio.new_event_loop()
    adapter = AsyncioAdapter(engine, loop=adapter_loop)
    try:
        asyncio.run(main())  # an adapter on another loop cannot finish this await either
    finally:
        adapter.close()
        adapter_loop.close()
    assert op.result(timeout=10) == {"hello": "world", "n": 1}  # it ran on regardless


def test_awaiting_a_finished_operation_needs_no_adapter(
    make_engine: EngineFactory, http_server: HTTPTestServer
) -> None:
    engine = make_engine()
    op = engine.get_json(http_server.url("/json"))
    assert engine.wait(op, timeout=10)

    async def main() -> Any:
        return await op

    assert asyncio.run(main()) == {"hello": "world", "n": 1}
