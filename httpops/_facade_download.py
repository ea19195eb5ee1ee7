"""Facade members for downloads and images (``HTTP.download``, ``HTTP.downloadImage``).

Mixed into :class:`httpops.HTTPFacade`, whose engine binding, ``operations``,
``images`` and request headers these methods use. Callback
shapes follow ``http.lua``: ``callback(path, checksum, err)`` for a file,
``callback(path, err)`` for an image, ``progressCallback(progress, speed)``.
``err`` is None or the error's text; ``path`` and ``checksum`` are None when
``err`` is set. After ``HTTP.cancel(id)`` no callback of that operation runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._operation import Operation
from ._validation import check_callback

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["DownloadFacadeMixin"]

DownloadCallback = Callable[[Any, Any, "str | None"], Any]
ImageCallback = Callable[[Any, "str | None"], Any]
ProgressCallback = Callable[[Any, float], Any]


class DownloadFacadeMixin:
    """``HTTP.download`` and ``HTTP.downloadImage``; see the module docstring."""

    # Provided by HTTPFacade.
    if TYPE_CHECKING:

        @property
        def engine(self) -> Engine: ...

    operations: dict[int, Operation]
    images: dict[str, str]
    timeout: float
    _request_headers: Callable[[], dict[str, str]]
    _track: Callable[[Operation], int]

    def _finished(self, op: Operation) -> None:
        """Forget a finished operation.

        One canceled through the facade is silenced, so the engine never
        runs its callback and this is never called for it.
        """
        self.operations.pop(op.id, None)

    def download(
        self,
        url: str,
        file: str | os.PathLike[str],
        callback: DownloadCallback | None = None,
        progressCallback: ProgressCallback | None = None,
    ) -> int:
        """Download ``url`` to ``file``; ``callback(path, checksum, err)``. Returns the id.

        A relative ``file`` resolves under ``Config.downloads_dir``; one that
        escapes it raises :class:`~httpops.InvalidArgument` here.
        ``checksum`` is the file's CRC32 as 8 lowercase hex digits.
        ``progressCallback(progress, speed)`` gets 0-100 (None while the size
        is unknown) and bytes per second.

        Thread-safety: the polling thread (like every facade member that
        touches ``operations``).
        """
        check_callback("callback", callback)
        check_callback("progressCallback", progressCallback)

        def finished(op: Operation) -> None:
            self._finished(op)
            if callback is not None:
                ok = op.error is None
                err = None if ok else str(op.error)
                callback(op.path if ok else None, op.checksum if ok else None, err)

        def progressed(op: Operation) -> None:
            if progressCallback is not None:
                progressCallback(op.progress, op.speed)

        op = self.engine.download(
            url, file, finished, progressed if progressCallback is not None else None,
            headers=self._request_headers(), timeout=self.timeout,
        )  # fmt: skip
        return self._track(op)

    def downloadImage(self, url: str, callback: ImageCallback | None = None) -> int:
        """Fetch an image into the cache; ``callback(path, err)``. Returns the id.

        On success ``HTTP.images[url]`` is the cached file. A cached URL
        completes on the next poll without a request; concurrent calls for
        one URL share one download.

        Thread-safety: the polling thread.
        """
        check_callback("callback", callback)

        def finished(op: Operation) -> None:
            self._finished(op)
            ok = op.error is None
            if ok and op.path is not None:
                self.images[op.url] = op.path
            if callback is not None:
                callback(op.path if ok else None, None if ok else str(op.error))

        op = self.engine.download_image(
            url, finished, headers=self._request_headers(), timeout=self.timeout
        )
        return self._track(op)
