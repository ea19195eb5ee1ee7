"""Image downloads and the image cache (being written; see issue 3)."""

from __future__ import annotations

from typing import Any

from ._operation import Operation

__all__ = ["start_image"]


def start_image(engine: Any, url: str, *args: Any, **kwargs: Any) -> Operation:
    """Start an image download (not written yet)."""
    raise NotImplementedError("image downloads are not implemented yet")
