"""Facade members for downloads and images (``HTTP.download``, ``HTTP.downloadImage``)."""

from __future__ import annotations

__all__ = ["DownloadFacadeMixin"]


class DownloadFacadeMixin:
    """Filled in by the downloads work; mixed into :class:`httpops.HTTPFacade`."""
