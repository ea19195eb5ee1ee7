"""pygame (and pygame-ce): poll every frame; a custom event is only a wake-up hint.

A pygame game polls once per frame::

    from httpops.integrations.pygame import PygameWakeup

    wakeup = PygameWakeup(engine)          # after pygame.init()
    while running:
        for event in pygame.event.get():
            ...                            # event.type == wakeup.event_type: ignore it
        wakeup.poll(budget=0.002)          # callbacks run here, on this thread
        ...

A game that blocks in ``pygame.event.wait()`` (a menu, a turn-based game)
wakes up when a worker has something for it: the engine's wake-up hook
posts one ``wakeup.event_type`` event when its queue goes from empty to
non-empty. That event is a hint only. pygame drops events when its queue is
full (and refuses them before the display is initialised), so nothing may
depend on it: results are delivered by ``poll()``, which the game calls
every frame (or after every ``event.wait`` with a timeout) anyway.

Threads: the hook runs on a worker thread; ``pygame.event.post`` is
thread-safe (SDL's ``SDL_PushEvent``). `PygameWakeup.poll` runs on the
game's thread.
"""

from __future__ import annotations

import threading

try:
    import pygame
except ImportError as exc:
    raise ImportError(
        "httpops.integrations.pygame needs pygame-ce (or pygame): pip install 'httpops[demo]'"
    ) from exc

from .._engine import Engine

__all__ = ["PygameWakeup"]


class PygameWakeup:
    """Posts a wake-up hint event for ``engine``; `poll` delivers the results.

    Args:
        engine: The engine to watch. Its wake-up hook is replaced.
        event_type: The event type to post (default: a new
            ``pygame.event.custom_type()``).

    Attributes:
        event_type: The type of the hint events.
        posted: Hints pygame accepted.
        dropped: Hints pygame refused (full queue, blocked type, no display).
    """

    def __init__(self, engine: Engine, event_type: int | None = None) -> None:
        self.engine = engine
        self.event_type = pygame.event.custom_type() if event_type is None else event_type
        # Set while a hint sits in pygame's queue unseen: one is enough.
        self._hinted = threading.Event()
        # Guards posted and dropped (workers update them concurrently).
        self._lock = threading.Lock()
        self.posted = 0
        self.dropped = 0
        engine.set_wakeup(self._wake)

    def _wake(self) -> None:
        """The engine's wake-up hook (a worker thread): post one hint, never raise."""
        if self._hinted.is_set():
            return
        self._hinted.set()
        try:
            accepted = pygame.event.post(pygame.event.Event(self.event_type))
        except pygame.error:  # video system not initialised, or the queue is full
            accepted = False
        with self._lock:
            if accepted:
                self.posted += 1
            else:
                self.dropped += 1
        if not accepted:
            self._hinted.clear()

    def poll(self, max_events: int | None = None, budget: float | None = None) -> int:
        """``engine.poll(...)``: run the ready callbacks here. Call it every frame.

        Returns:
            How many events were dispatched.

        Thread-safety: the game's thread (the one that should run callbacks).
        """
        # Cleared first: an event queued during this poll posts a fresh hint.
        self._hinted.clear()
        return self.engine.poll(max_events, budget)

    def close(self) -> None:
        """Remove the wake-up hook. Thread-safety: any thread."""
        self.engine.set_wakeup(None)

    def __enter__(self) -> PygameWakeup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
