"""Owner scopes: operations that belong to one scene, canceled and silenced together.

A game scene starts requests, then the player leaves the scene. Whatever is
still in flight must not call back into a scene that no longer exists.
``with engine.scope() as scope:`` (or ``scope.close()``) cancels every
operation started through the scope and guarantees that none of their
callbacks or listeners runs afterwards, even if a completion is already
waiting in the queue.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ._errors import EngineClosed
from ._operation import Operation

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Scope"]


class Scope:
    """Starts operations on an engine and owns them until they finish or it closes.

    It has the engine's starting methods (``get``, ``get_json``, ``post``,
    ``post_json``, ``download``, ``download_image``, ``websocket``,
    ``websocket_json``) with the same arguments.
    """

    _STARTERS = frozenset(
        {
            "get",
            "get_json",
            "post",
            "post_json",
            "download",
            "download_image",
            "websocket",
            "websocket_json",
        }
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Guards _owned and _closed.
        self._lock = threading.Lock()
        self._owned: dict[int, Any] = {}
        self._closed = False
        # Finished operations are forgotten when the table reaches this size
        # (then twice what is left), so a long scene holds no dead bodies.
        self._prune_at = 64

    def __getattr__(self, name: str) -> Any:
        if name not in self._STARTERS:
            raise AttributeError(name)
        start = getattr(self.engine, name)

        def start_owned(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if self._closed:
                    raise EngineClosed(f"scope is closed; cannot start {name}()")
            handle = start(*args, **kwargs)
            return self.adopt(handle)

        start_owned.__name__ = name
        start_owned.__doc__ = start.__doc__
        return start_owned

    def adopt(self, handle: Any) -> Any:
        """Make an already started operation (or WebSocket handle) belong to this scope.

        Thread-safety: any thread.
        """
        op = self._op(handle)
        with self._lock:
            closed = self._closed
            if not closed:
                self._owned[op.id] = handle
                if len(self._owned) >= self._prune_at:
                    self._owned = {i: h for i, h in self._owned.items() if not self._op(h).done()}
                    self._prune_at = max(64, 2 * len(self._owned))
        if closed:
            self._cancel(handle)
        return handle

    @property
    def operations(self) -> list[Any]:
        """Owned operations (or WebSocket handles) not yet finished. Thread-safety: any."""
        with self._lock:
            return [h for h in self._owned.values() if not self._op(h).done()]

    @staticmethod
    def _op(handle: Any) -> Operation:
        return handle if isinstance(handle, Operation) else handle.operation

    def _cancel(self, handle: Any) -> None:
        op = self._op(handle)
        op.silence()
        self.engine.cancel(op)

    def close(self) -> None:
        """Cancel every owned operation; none of their callbacks runs after this.

        Thread-safety: any thread.
        """
        with self._lock:
            self._closed = True
            owned, self._owned = list(self._owned.values()), {}
        for handle in owned:
            self._cancel(handle)

    def __enter__(self) -> Scope:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
