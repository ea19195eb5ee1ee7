"""Progress: rate-limited at the source, coalesced in the queue, uploads included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops._events import Completion, Event, Progress
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, content_for

EngineFactory = Callable[..., httpops.Engine]


def record_puts(engine: httpops.Engine) -> list[tuple[str, int, int | None]]:
    """Record every progress event a worker puts, before the queue coalesces it."""
    seen: list[tuple[str, int, int | None]] = []
    original = engine.events.put

    def put(event: Event) -> None:
        if isinstance(event, Progress):
            seen.append((event.direction, event.received, event.total))
        original(event)

    engine.events.put = put  # type: ignore[method-assign]
    return seen


def test_slow_poller_gets_coalesced_progress(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=0, chunk_size=1024))
    puts = record_puts(engine)
    size = 2 * 1024 * 1024
    seen: list[tuple[float | None, int]] = []
    op = engine.get(
        server.url(f"/bytes/{size}"), on_progress=lambda o: seen.append((o.progress, o.received))
    )
    # A host that does not poll while the body arrives: the queue holds one progress slot.
    assert wait_for(lambda: any(isinstance(e, Completion) for e in list(engine.events.items)), 10)
    assert len(engine.events) == 2
    assert engine.poll() == 2
    assert op.state is httpops.State.DONE and len(op.value.content) == size
    assert len(puts) > 100  # one report per chunk at the source...
    assert len(seen) < len(puts)  # ...but far fewer dispatches
    assert seen[-1] == (100.0, size)
    assert op.progress == 100.0 and op.received == size and op.total == size


def test_progress_is_monotonic_and_ends_at_100(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=0))
    figures: list[tuple[float | None, int, int | None]] = []
    listened: list[tuple[int, str, Any]] = []
    engine.connect(on_get_progress=lambda *args: listened.append(args))
    op = engine.get(
        server.url("/drip?bytes=8&interval=0.01"),
        on_progress=lambda o: figures.append((o.progress, o.received, o.total)),
    )
    assert engine.wait(op, timeout=10)
    assert figures and figures[-1] == (100.0, 8, 8)
    received = [r for _, r, _ in figures]
    assert received == sorted(received)
    assert all(total == 8 for _, _, total in figures)
    assert listened[-1] == (op.id, op.url, 100.0)


def test_unknown_length_gives_none_progress_but_counts_bytes(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=0))
    figures: list[tuple[float | None, int, int | None]] = []
    op = engine.get(
        server.url("/drip?bytes=6&interval=0.03&chunked=1"),
        on_progress=lambda o: figures.append((o.progress, o.received, o.total)),
    )
    assert engine.wait(op, timeout=10)
    running = figures[:-1]
    assert running, f"no progress seen while the body arrived: {figures}"
    assert all(progress is None and total is None for progress, _, total in running)
    assert all(received > 0 for _, received, _ in running)
    # The final report, once the whole body is in, knows the size.
    assert figures[-1] == (100.0, 6, 6)
    assert op.value.content == content_for(6)


def test_progress_is_rate_limited_at_the_source(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=10.0, chunk_size=1024))
    puts = record_puts(engine)
    op = engine.get(server.url("/bytes/500000"), on_progress=lambda op: None)
    assert engine.wait(op, timeout=10)
    # One (the first chunk) plus the final figure: the interval holds back the rest.
    assert len(puts) == 2
    assert puts[-1] == ("down", 500000, 500000)


@pytest.mark.requests_transport
def test_with_nobody_listening_the_final_figures_ride_on_the_completion(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=10.0, chunk_size=1024))
    puts = record_puts(engine)
    op = engine.get(server.url("/bytes/500000"))
    assert engine.wait(op, timeout=10)
    assert len(puts) == 1  # the first chunk only: no event just for the final figure
    assert (op.received, op.total, op.progress) == (500000, 500000, 100.0)


def test_upload_progress_of_a_large_post(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(progress_interval=0))
    puts = record_puts(engine)
    listened: list[tuple[int, str, Any]] = []
    engine.connect(on_post_progress=lambda *args: listened.append(args))
    body = b"u" * (3 * 1024 * 1024)
    op = engine.post(server.url("/echo"), body)
    assert engine.wait(op, timeout=20)
    assert op.state is httpops.State.DONE
    assert op.value.json()["length"] == len(body)
    ups = [(received, total) for direction, received, total in puts if direction == "up"]
    assert len(ups) > 1
    assert all(total == len(body) for _, total in ups)
    assert [r for r, _ in ups] == sorted(r for r, _ in ups)
    assert ups[-1] == (len(body), len(body))
    # Every upload report comes before the first report of the response body.
    first_down = next(i for i, (d, _, _) in enumerate(puts) if d == "down")
    assert all(d == "up" for d, _, _ in puts[:first_down])
    assert listened and listened[-1][2] == 100.0
