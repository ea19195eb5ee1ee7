"""Downloads streamed to disk (being written; see issue 3)."""

from __future__ import annotations

from typing import Any

from ._operation import Operation

__all__ = ["start_download"]


def start_download(engine: Any, url: str, file: Any, *args: Any, **kwargs: Any) -> Operation:
    """Start a download (not written yet)."""
    raise NotImplementedError("downloads are not implemented yet")
