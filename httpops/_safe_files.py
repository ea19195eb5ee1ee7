"""Files that downloads and the image cache write, opened so a planted link cannot redirect them.

The threat: someone who can create entries in the downloads directory (or
the image cache) plants a symlink or a hard link at the predictable name of
a temporary file, swaps one in while a download runs, or replaces a
directory on the way with a symlink -- so that the write lands outside the
directory, or the final rename installs a link to a foreign file.

The rules, all in :class:`SafeDir`:

* **The directory is pinned.** It is opened once; with a confined root, by
  walking from the root one component at a time with ``O_NOFOLLOW |
  O_DIRECTORY`` (symlinks inside the root that stay inside are resolved
  first, as :mod:`httpops._download_paths` allows them). Every later
  operation is relative to that open directory (``dir_fd``), so a directory
  swapped for a symlink afterwards redirects nothing.
* **Files are opened with ``O_NOFOLLOW``** -- fresh ones with ``O_CREAT |
  O_EXCL`` after unlinking whatever had the name -- and checked with
  ``fstat`` before the first write: a regular file with exactly one link
  (a hard link to a foreign file fails).
* **The rename installs only what was written**: before it, the temporary
  name must still be the file written (same device and inode, regular);
  after it, the target must be that file -- otherwise the operation fails
  and a foreign entry that slipped in is removed again.

Where the platform has no ``dir_fd`` support (Windows), the same checks run
on full paths; ``O_NOFOLLOW`` is then 0 and the ``fstat`` checks remain.

Everything here runs on worker threads; one :class:`SafeDir` is used by one
job at a time.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

from ._download_paths import _inside

__all__ = ["SafeDir", "UnsafeFile"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd
# Metadata files are tiny; a bigger one is not ours.
MAX_SMALL_FILE = 64 * 1024


class UnsafeFile(OSError):
    """A file or directory is not what it must be (a link, not regular, swapped)."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EPERM, message)


class SafeDir:
    """One directory, opened once; files in it are handled by name (see the module docstring).

    Args:
        directory: The directory's path (for messages, and the fallback).
        fd: Its open descriptor, or None without ``dir_fd`` support.
    """

    def __init__(self, directory: str, fd: int | None) -> None:
        self.path = directory
        self._fd = fd

    # -- opening the directory ------------------------------------------------------------

    @classmethod
    def open(cls, directory: str, root: str | None = None) -> SafeDir:
        """Open (creating it if needed) ``directory``, confined to ``root`` if given.

        Raises:
            UnsafeFile: A component below ``root`` is a symlink or not a directory.
            OSError: The file system refused.
        """
        if root is None or not _DIR_FD:
            os.makedirs(directory, exist_ok=True)
            if not _DIR_FD:
                return cls(directory, None)
            return cls(directory, os.open(directory, os.O_RDONLY | _DIRECTORY | _CLOEXEC))
        real = os.path.realpath(directory)
        if real != root and not _inside(real, root):
            raise UnsafeFile(f"directory {directory} leads outside {root} (to {real})")
        os.makedirs(root, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        try:
            for part in os.path.relpath(real, root).split(os.sep):
                if part in ("", "."):
                    continue
                fd = cls._step(fd, part, os.path.join(root, part))
        except BaseException:
            os.close(fd)
            raise
        return cls(directory, fd)

    @staticmethod
    def _step(parent: int, name: str, shown: str) -> int:
        """Open (creating) directory ``name`` in ``parent``, never through a link.

        Closes ``parent``.
        """
        try:
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
            except FileExistsError:
                pass
            try:
                return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=parent)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeFile(f"{shown} is a symlink or not a directory") from None
                raise
        finally:
            os.close(parent)

    def close(self) -> None:
        """Release the directory's descriptor (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- names ----------------------------------------------------------------------------

    def _at(self, name: str) -> tuple[str, dict[str, int]]:
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise UnsafeFile(f"not a plain file name: {name!r}")
        if self._fd is None:
            return os.path.join(self.path, name), {}
        return name, {"dir_fd": self._fd}

    def shown(self, name: str) -> str:
        """The full path of ``name``, for messages."""
        return os.path.join(self.path, name)

    @staticmethod
    def unique_name(prefix: str, suffix: str) -> str:
        """An unpredictable file name (a new file is still created with O_EXCL)."""
        return f"{prefix}{secrets.token_hex(8)}{suffix}"

    # -- files ----------------------------------------------------------------------------

    def _checked(self, fd: int, name: str) -> int:
        """``fd`` if it is a regular file with one link; else close it and raise."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise UnsafeFile(f"{self.shown(name)} is not a regular file with a single link")
        return fd

    def create(self, name: str, mode: int = 0o666) -> int:
        """A new empty file ``name`` opened for writing: whatever had the name is unlinked
        first (a planted symlink is removed, never followed), then ``O_CREAT | O_EXCL``."""
        self.unlink(name)
        where, kw = self._at(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC
        try:
            fd = os.open(where, flags, mode, **kw)
        except FileExistsError:
            raise UnsafeFile(f"{self.shown(name)} appeared while it was being created") from None
        return self._checked(fd, name)

    def open_existing(self, name: str, writable: bool) -> int:
        """An existing regular file ``name``, never through a link.

        Raises:
            UnsafeFile: It is a symlink, not regular, or has other links.
            OSError: It does not exist, or the file system refused.
        """
        where, kw = self._at(name)
        flags = (os.O_RDWR if writable else os.O_RDONLY) | _NOFOLLOW | _BINARY | _CLOEXEC
        try:
            fd = os.open(where, flags, **kw)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeFile(f"{self.shown(name)} is a symlink") from None
            raise
        return self._checked(fd, name)

    def regular_size(self, name: str) -> int | None:
        """The size of ``name`` if it is a regular file with one link (not a link), else None."""
        where, kw = self._at(name)
        try:
            st = os.stat(where, follow_symlinks=False, **kw)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return None
        return st.st_size

    def read_small(self, name: str) -> bytes | None:
        """The content of small regular file ``name``; None if absent, a link, or too big."""
        try:
            fd = self.open_existing(name, writable=False)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_SMALL_FILE + 1)
        return None if len(data) > MAX_SMALL_FILE else data

    def write_atomic(self, name: str, data: bytes) -> None:
        """Replace ``name`` with ``data``: a fresh unpredictable temporary file, then a rename."""
        temp = self.unique_name(f".{name[:100]}.", ".httpops-tmp")
        fd = self.create(temp)
        try:
            with os.fdopen(fd, "wb") as f:
                ident = self.identify(f.fileno())
                f.write(data)
            self.install(temp, name, ident)
        except BaseException:
            self.unlink(temp)
            raise

    def identify(self, fd: int) -> tuple[int, int]:
        """The (device, inode) of an open file, to recognise it at :meth:`install`."""
        st = os.fstat(fd)
        return st.st_dev, st.st_ino

    def install(self, temp: str, name: str, ident: tuple[int, int]) -> None:
        """Rename ``temp`` over ``name`` if ``temp`` is still the file ``ident`` names.

        Raises:
            UnsafeFile: ``temp`` was replaced (by a link or another file) since it
                was written, or something else arrived at ``name`` with the rename.
        """
        if self._identity(temp) != ident:
            raise UnsafeFile(f"{self.shown(temp)} was replaced while it was being written")
        src, _ = self._at(temp)
        dst, _ = self._at(name)
        if self._fd is None:
            os.replace(src, dst)
        else:
            os.replace(src, dst, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        if self._identity(name) != ident:  # swapped between the check and the rename
            self.unlink(name)
            raise UnsafeFile(f"{self.shown(temp)} was replaced while it was being installed")

    def _identity(self, name: str) -> tuple[int, int] | None:
        where, kw = self._at(name)
        try:
            st = os.stat(where, follow_symlinks=False, **kw)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return st.st_dev, st.st_ino

    def unlink(self, name: str) -> None:
        """Remove ``name`` (a link itself, never its target); absent is fine."""
        where, kw = self._at(name)
        try:
            os.unlink(where, **kw)
        except FileNotFoundError:
            pass
