"""tkinter: poll the engine from a ``root.after`` loop.

::

    from httpops.integrations.tkinter import schedule

    root = tkinter.Tk()
    stop = schedule(engine, root)      # every 16 ms, 2 ms budget
    root.mainloop()

Tk is not thread-safe, so workers never touch it: the engine's queue is
drained by ``poll()`` inside Tk's own event loop, on its thread, where the
callbacks may update widgets freely.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable

from .._engine import Engine

__all__ = ["schedule"]


def schedule(
    engine: Engine,
    root: tkinter.Misc,
    interval_ms: int = 16,
    budget: float | None = 0.002,
) -> Callable[[], None]:
    """Call ``engine.poll(budget=budget)`` every ``interval_ms`` milliseconds via ``after``.

    The first poll runs as soon as Tk's event loop is idle. An exception from
    ``poll()`` (only with ``Config.raise_callback_errors``) propagates into
    Tk's error handler; polling goes on.

    Returns:
        A function that stops the polling (cancels the pending ``after``).

    Raises:
        ValueError: ``interval_ms`` is not a positive integer.

    Thread-safety: Tk's thread.
    """
    if isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or interval_ms < 1:
        raise ValueError(f"interval_ms must be an integer >= 1, got {interval_ms!r}")
    pending: list[str] = []  # the one scheduled `after` id (touched on Tk's thread only)
    stopped = False

    def tick() -> None:
        pending.clear()
        if stopped:
            return
        try:
            engine.poll(budget=budget)
        finally:
            pending.append(root.after(interval_ms, tick))

    pending.append(root.after_idle(tick))

    def stop() -> None:
        nonlocal stopped
        stopped = True
        for after_id in pending:
            root.after_cancel(after_id)
        pending.clear()

    return stop
