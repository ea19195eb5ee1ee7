"""WebSocket sessions (being written; see issue 4)."""

from __future__ import annotations

from typing import Any

__all__ = ["open_websocket"]


def open_websocket(engine: Any, url: str, **kwargs: Any) -> Any:
    """Open a WebSocket (not written yet)."""
    raise NotImplementedError("WebSockets are not implemented yet")
