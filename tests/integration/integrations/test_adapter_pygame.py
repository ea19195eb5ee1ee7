"""The pygame adapter: a custom event wakes a waiting game; poll() does the delivery."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

import httpops
from tests.servers import HTTPTestServer

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame", reason="pygame-ce is not installed (demo extra)")
from httpops.integrations.pygame import PygameWakeup  # noqa: E402

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pygame's display on SDL's dummy driver (no window, no X server)."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    pygame.display.set_mode((16, 16))
    pygame.event.clear()  # the window's own start-up events
    yield
    pygame.display.quit()


def test_a_game_blocked_in_event_wait_is_woken_and_poll_delivers(
    make_engine: EngineFactory, http_server: HTTPTestServer, display: None
) -> None:
    engine = make_engine()
    main = threading.get_ident()
    with PygameWakeup(engine) as wakeup:
        got: list[bool] = []
        engine.get_json(
            http_server.url("/json"), lambda op: got.append(threading.get_ident() == main)
        )
        # A game's idle loop: block in event.wait() until a hint arrives, then poll().
        hints = 0
        while not got and hints < 50:
            event = pygame.event.wait(10_000)
            if event.type == pygame.NOEVENT:
                break  # timed out
            if event.type == wakeup.event_type:
                hints += 1
                assert got == []  # the hint itself delivers nothing...
                wakeup.poll()  # ...poll() does, on this thread
        assert got == [True]
        assert hints >= 1 and wakeup.posted == hints and wakeup.dropped == 0


def test_delivery_does_not_depend_on_the_hint(
    make_engine: EngineFactory,
    http_server: HTTPTestServer,
    display: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def queue_full(_event: object) -> bool:
        raise pygame.error("event queue full")

    monkeypatch.setattr(pygame.event, "post", queue_full)
    engine = make_engine()
    with PygameWakeup(engine) as wakeup:
        ops = [engine.get(http_server.url("/json")) for _ in range(5)]
        frames = 0
        while not all(op.done() for op in ops) and frames < 600:
            engine.events.wait_nonempty(1 / 60)  # a frame's worth of waiting
            wakeup.poll(budget=0.002)
            frames += 1
        assert all(op.done() and op.error is None for op in ops)
        assert wakeup.dropped >= 1 and wakeup.posted == 0


def test_one_hint_at_a_time_until_the_game_polls(
    make_engine: EngineFactory, http_server: HTTPTestServer, display: None
) -> None:
    engine = make_engine()
    with PygameWakeup(engine) as wakeup:
        ops = [engine.get(http_server.url("/json")) for _ in range(10)]
        assert engine.wait(*ops, timeout=10) is True  # wait() polls too, but not via wakeup
        hints = [e for e in pygame.event.get() if e.type == wakeup.event_type]
        # No wakeup.poll() ran, so the first hint was never "seen": no flood of events.
        assert len(hints) == wakeup.posted == 1


def test_close_removes_the_hook(
    make_engine: EngineFactory, http_server: HTTPTestServer, display: None
) -> None:
    engine = make_engine()
    wakeup = PygameWakeup(engine)
    wakeup.close()
    op = engine.get(http_server.url("/json"))
    assert engine.wait(op, timeout=10)
    assert wakeup.posted == 0
    assert [e for e in pygame.event.get() if e.type == wakeup.event_type] == []
