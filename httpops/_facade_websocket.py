"""Facade members for WebSockets (``HTTP.webSocket``, ``HTTP.webSocketJSON``)."""

from __future__ import annotations

__all__ = ["WebSocketFacadeMixin"]


class WebSocketFacadeMixin:
    """Filled in by the WebSocket work; mixed into :class:`httpops.HTTPFacade`."""
