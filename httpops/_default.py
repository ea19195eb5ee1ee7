"""The process-wide default engine, created on first use and closed at exit."""

from __future__ import annotations

import atexit
import threading

from ._engine import Engine

__all__ = ["close_default_engine", "default_engine", "poll"]

# Guards _engine: two threads asking at once get the same engine.
_lock = threading.Lock()
_engine: Engine | None = None


def default_engine() -> Engine:
    """The default engine, created with ``Config()`` on first use.

    A closed default engine is replaced by a fresh one on the next call.

    Thread-safety: any thread.
    """
    global _engine
    with _lock:
        if _engine is None or _engine.closed:
            _engine = Engine()
        return _engine


def poll(max_events: int | None = None, budget: float | None = None) -> int:
    """``default_engine().poll(...)``: run ready callbacks on this thread.

    Thread-safety: the polling thread only.
    """
    return default_engine().poll(max_events, budget)


def close_default_engine(timeout: float = 2.0) -> None:
    """Close the default engine if one was created (also run at interpreter exit).

    Thread-safety: any thread.
    """
    global _engine
    with _lock:
        engine, _engine = _engine, None
    if engine is not None:
        engine.close(timeout)


atexit.register(close_default_engine)
