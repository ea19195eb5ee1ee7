"""pyglet and arcade: poll the engine from pyglet's clock.

::

    from httpops.integrations.pyglet import schedule

    stop = schedule(engine)        # polls 60 times a second with a 2 ms budget
    pyglet.app.run()
    stop()

arcade runs on pyglet's clock (``arcade.schedule`` is
``pyglet.clock.schedule_interval``), so the same call works in an arcade
game; or poll from ``on_update``. pyglet is imported when `schedule`
is called, so importing this module never needs pyglet.

Threads: pyglet calls the scheduled function on the thread that runs its
event loop (``pyglet.app.run()`` or your own ``clock.tick()``); callbacks
run there, inside ``poll()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .._engine import Engine

__all__ = ["schedule"]


def schedule(
    engine: Engine,
    interval: float = 1 / 60,
    budget: float | None = 0.002,
    clock: Any = None,
) -> Callable[[], None]:
    """Call ``engine.poll(budget=budget)`` every ``interval`` seconds on pyglet's clock.

    Args:
        engine: The engine to poll.
        interval: Seconds between polls (a frame, by default).
        budget: Seconds each poll may spend (None: dispatch all that is ready).
        clock: A ``pyglet.clock.Clock``; default: pyglet's default clock.

    Returns:
        A function that unschedules the polling.

    Raises:
        ValueError: ``interval`` is not a positive number.
        ImportError: No ``clock`` was given and pyglet is not installed.

    Thread-safety: the thread that runs pyglet's clock.
    """
    if not isinstance(interval, (int, float)) or not interval > 0:
        raise ValueError(f"interval must be a number of seconds > 0, got {interval!r}")
    target = clock if clock is not None else _pyglet_clock()

    def tick(_dt: float) -> None:
        engine.poll(budget=budget)

    target.schedule_interval(tick, interval)

    def unschedule() -> None:
        target.unschedule(tick)

    return unschedule


def _pyglet_clock() -> Any:
    try:
        return importlib.import_module("pyglet.clock")
    except ImportError as exc:
        raise ImportError("httpops.integrations.pyglet needs pyglet: pip install pyglet") from exc
