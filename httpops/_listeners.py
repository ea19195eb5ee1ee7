"""Global listeners: the seed's ``on_get``/``on_download``/``on_ws_*`` events.

The registry is read on every dispatch and written rarely, so it is
copy-on-write: readers take the current tuple without a lock.
Listeners are called only from ``poll()``, on the polling thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._errors import InvalidArgument, InvalidCallback
from ._validation import check_callback

__all__ = ["LISTENER_NAMES", "ListenerRegistry"]

Listener = Callable[..., Any]

#: Every listener name ``Engine.connect`` accepts, with its call signature.
LISTENER_NAMES: dict[str, str] = {
    "on_get": "(operation_id, url, err, data)",
    "on_get_progress": "(operation_id, url, progress)",
    "on_post": "(operation_id, url, err, data)",
    "on_post_progress": "(operation_id, url, progress)",
    "on_download": "(operation_id, url, err, path, checksum)",
    "on_download_progress": "(operation_id, url, progress, speed)",
    "on_ws_open": "(operation_id, message)",
    "on_ws_message": "(operation_id, message)",
    "on_ws_close": "(operation_id, message)",
    "on_ws_error": "(operation_id, message)",
}


class ListenerRegistry:
    """Named lists of global listeners, copy-on-write."""

    def __init__(self) -> None:
        # Guards writers; readers use the current immutable tuples directly.
        self._lock = threading.Lock()
        self._by_name: dict[str, tuple[Listener, ...]] = {}

    def get(self, name: str) -> tuple[Listener, ...]:
        """The listeners registered under ``name`` (possibly empty)."""
        return self._by_name.get(name, ())

    def connect(self, listeners: dict[str, Listener]) -> Callable[[], None]:
        """Register listeners by name; return a function that removes exactly them.

        Raises:
            InvalidArgument: An unknown listener name.
            InvalidCallback: A listener that is not callable.
        """
        for name, fn in listeners.items():
            if name not in LISTENER_NAMES:
                known = ", ".join(sorted(LISTENER_NAMES))
                raise InvalidArgument(f"unknown listener {name!r}; known: {known}")
            check_callback(name, fn)
            if fn is None:
                raise InvalidCallback(f"listener {name} must be callable, got None")
        with self._lock:
            updated = dict(self._by_name)
            for name, fn in listeners.items():
                updated[name] = (*updated.get(name, ()), fn)
            self._by_name = updated

        def disconnect() -> None:
            with self._lock:
                updated = dict(self._by_name)
                for name, fn in listeners.items():
                    current = list(updated.get(name, ()))
                    if fn in current:
                        current.remove(fn)
                    updated[name] = tuple(current)
                self._by_name = updated

        return disconnect
