"""Facade members for downloads and images (``HTTP.download``, ``HTTP.downloadImage``).

Mixed into `httpops.HTTPFacade`, whose engine binding, ``operations``,
``images`` and request headers these methods use. Callback shapes follow
``http.lua``: ``callback(path, checksum, err)`` for a file,
``callback(path, err)`` for an image, ``progressCallback(progress, speed)``.

Paths are OTCv8 paths: OTCv8 keeps downloads in memory under a virtual
``/downloads/`` directory and strips a leading ``/`` from ``file``, so the
updater's server keys (``/init.lua``, ``/data/things/1098/Tibia.spr``) are
used as they are. Here every ``file`` is relative to `downloadsDir`
(``Config.downloads_dir``): leading slashes stripped, ``..`` refused,
folders created. ``path`` in the callback is exactly the ``file`` given, on
success and on error (``checksum`` is then ``"00000000"``, the CRC of
nothing, as OTCv8 passes). ``HTTP.getFile``/``clearDownloads``/``downloads``
mirror ``g_http``'s. After ``HTTP.cancel(id)`` no callback of that operation
runs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import InvalidArgument, InvalidURL
from ._facade_calls import error_message, lua_callable, with_scheme
from ._operation import Operation
from ._validation import check_callback

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["DownloadFacadeMixin", "otc_path", "read_regular"]

DownloadCallback = Callable[[Any, Any, "str | None"], Any]
ImageCallback = Callable[[Any, "str | None"], Any]
ProgressCallback = Callable[[int, float], Any]

# No symlink, no wait (a FIFO), not inherited; 0 where the platform lacks a flag.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)

_READ_CHUNK = 1024 * 1024

#: The checksum OTCv8 passes with a failed download: the CRC32 of an empty body.
EMPTY_CHECKSUM = "00000000"


def read_regular(path: str, limit: int) -> bytes | None:
    """The content of regular file ``path`` if it has at most ``limit`` bytes, else None.

    Opened with ``O_NOFOLLOW | O_NONBLOCK``: a symlink (to ``/dev/zero``, say)
    is refused, and opening a FIFO returns at once; ``fstat`` then refuses
    anything but a regular file. At most ``limit + 1`` bytes are read, so a
    file that grows meanwhile cannot take more memory than that.

    Thread-safety: any thread.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:  # absent, a symlink (ELOOP), or refused
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _READ_CHUNK))  # os.read allocates what it is asked
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if left <= 0 else b"".join(chunks)


def otc_path(file: object) -> str:
    """The downloads-relative path of an OTCv8 ``file``: ``"/data/a.spr"`` -> ``"data/a.spr"``.

    Raises:
        InvalidArgument: Not a text path, empty once stripped, or with a
            ``..`` component.

    Thread-safety: any thread (pure).
    """
    if not isinstance(file, (str, os.PathLike)):
        raise InvalidArgument(f"file must be a str or os.PathLike, got {type(file).__name__}")
    raw = os.fspath(file)
    if not isinstance(raw, str):
        raise InvalidArgument(f"file must be a text path, got {raw!r}")
    relative = raw.replace("\\", "/").lstrip("/")
    if not relative:
        raise InvalidArgument(f"file must name a file under the downloads directory, got {raw!r}")
    if ".." in relative.split("/"):
        raise InvalidArgument(f"file must not contain '..': {raw!r}")
    return relative


class DownloadFacadeMixin:
    """``HTTP.download`` and ``HTTP.downloadImage``; see the module docstring."""

    # Provided by HTTPFacade.
    if TYPE_CHECKING:

        @property
        def engine(self) -> Engine: ...

        def _failed_at_once(
            self,
            kind: str,
            method: str,
            url: object,
            finished: Callable[[Operation], None],
            problem: InvalidURL,
        ) -> Operation: ...

    operations: dict[int, Operation]
    images: dict[str, str]
    timeout: float
    _request_headers: Callable[[], dict[str, str]]
    _track: Callable[[Operation], int]

    def _init_downloads(self) -> None:
        # OTCv8 path -> absolute file, for each download finished through this facade.
        self._downloads: dict[str, str] = {}

    def _finished(self, op: Operation) -> None:
        """Forget a finished operation.

        One canceled through the facade is silenced, so the engine never
        runs its callback and this is never called for it.
        """
        self.operations.pop(op.id, None)

    @property
    def downloadsDir(self) -> str:
        """The directory facade downloads go to (OTCv8's ``/downloads/``).

        Thread-safety: any thread.
        """
        return os.path.abspath(self.engine.config.downloads_dir)

    def download(
        self,
        url: str,
        file: str | os.PathLike[str],
        callback: DownloadCallback | None = None,
        progressCallback: ProgressCallback | None = None,
    ) -> int:
        """Download ``url`` to ``file`` under `downloadsDir`; returns the id.

        ``callback(path, checksum, err)``: ``path`` is ``file`` as given,
        ``checksum`` the file's CRC32 as 8 lowercase hex digits
        (``"00000000"`` on error). ``progressCallback(progress, speed)``
        gets an integer 0-100, only while the size is known, and bytes per
        second. A bad URL is reported through ``callback``.

        Raises:
            InvalidArgument: ``file`` is not a path under the downloads
                directory (``..``), at the call.

        Thread-safety: the polling thread (like every facade member that
        touches ``operations``).
        """
        check_callback("callback", callback)
        check_callback("progressCallback", progressCallback)
        relative = otc_path(file)
        done_cb, progress_cb = lua_callable(callback), lua_callable(progressCallback)

        def finished(op: Operation) -> None:
            self._finished(op)
            ok = op.error is None
            if ok and op.path is not None:
                self._downloads[relative] = op.path
            if done_cb is not None:
                err = None if ok else error_message(op.error)
                done_cb(file, op.checksum if ok else EMPTY_CHECKSUM, err)

        unknown_length: list[bool] = []  # set once a report came without a total

        def progressed(op: Operation) -> None:
            if op.progress is None:
                unknown_length.append(True)
            elif progress_cb is not None and not unknown_length:
                # Never for a body of unknown length, not even its closing 100 (OTCv8).
                progress_cb(int(op.progress), op.speed)

        try:
            op = self.engine.download(
                with_scheme(url), relative, finished,  # type: ignore[arg-type]
                progressed if progress_cb is not None else None,
                headers=self._request_headers(), timeout=self.timeout,
            )  # fmt: skip
        except InvalidURL as problem:
            op = self._failed_at_once("download", "GET", url, finished, problem)
        return self._track(op)

    def _local(self, path: str) -> str | None:
        """The file behind an OTCv8 path, if it was downloaded through this facade."""
        try:
            relative = otc_path(path.removeprefix("/downloads/"))
        except InvalidArgument:
            return None
        return self._downloads.get(relative)

    def getFile(self, path: str) -> bytes | None:
        """The bytes of a file downloaded through this facade (``g_http.getFile``).

        ``path`` is the ``file`` given to `download` (``/downloads/``
        in front is accepted). The file is read here, on the polling
        thread: meant for the small files scripts read back. So that
        whatever was put at that name later cannot hang or flood the host,
        it is opened without following a symlink and without waiting (a
        FIFO does not block), and read only if it is a regular file of at
        most ``Config.max_body_bytes``.

        Returns:
            The content, or None if no such download (or it was removed),
            or the name is now a symlink, not a regular file, or larger
            than ``Config.max_body_bytes``.

        Thread-safety: the polling thread.
        """
        local = self._local(path) if isinstance(path, str) else None
        if local is None:
            return None
        return read_regular(local, self.engine.config.max_body_bytes)

    def downloads(self) -> dict[str, int]:
        """Files downloaded through this facade: OTCv8 path -> size (``g_http.downloads``).

        Thread-safety: the polling thread.
        """
        sizes = {}
        for relative, local in self._downloads.items():
            try:
                sizes["/" + relative] = os.path.getsize(local)
            except OSError:
                continue
        return sizes

    def clearDownloads(self) -> None:
        """Delete every file downloaded through this facade (``g_http.clearDownloads``).

        Only this facade's downloads are removed, never anything else in
        the directory (OTCv8's map holds only its own downloads, too).

        Thread-safety: the polling thread.
        """
        downloads, self._downloads = self._downloads, {}
        for local in downloads.values():
            try:
                os.remove(local)
            except FileNotFoundError:
                continue

    def downloadImage(self, url: str, callback: ImageCallback | None = None) -> int:
        """Fetch an image into the cache; ``callback(path, err)``. Returns the id.

        On success ``HTTP.images[url]`` is the cached file. A cached URL
        completes on the next poll without a request; concurrent calls for
        one URL share one download. A bad URL is reported through ``callback``.

        Thread-safety: the polling thread.
        """
        check_callback("callback", callback)
        done_cb = lua_callable(callback)

        def finished(op: Operation) -> None:
            self._finished(op)
            ok = op.error is None
            if ok and op.path is not None:
                self.images[op.url] = op.path
            if done_cb is not None:
                done_cb(op.path if ok else None, None if ok else error_message(op.error))

        try:
            op = self.engine.download_image(
                with_scheme(url),  # type: ignore[arg-type]
                finished,
                headers=self._request_headers(),
                timeout=self.timeout,
            )
        except InvalidURL as problem:
            op = self._failed_at_once("image", "GET", url, finished, problem)
        return self._track(op)
