"""Where a download may write: target resolution, confinement, and temporary names.

A relative ``file`` is resolved under ``Config.downloads_dir`` and must stay
there: ``..`` components, a relative path that turns absolute, or a symlink
(of the directory chain or of the target itself) that points outside are
rejected at the call with :class:`~httpops.InvalidArgument`. An absolute
path is the caller's explicit choice and is taken as given.

The check runs twice: at the call (so the mistake is raised where it was
made) and again on the worker after the directories were created, just
before the file is renamed into place (so a symlink planted in between is
caught too).

The temporary file of a download lives in the same directory as its target
(so the final rename is atomic on one file system) and has a stable name, so
a later download of the same target can resume it. Because the name is
predictable, it is never opened through a link: see :mod:`httpops._safe_files`.

Pure functions plus a small process-wide registry of temporary files in use;
any thread may call them.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import InvalidArgument

__all__ = ["Target", "claim_part", "release_part", "resolve_target", "verify_confined"]

PART_SUFFIX = ".httpops-part"
META_SUFFIX = ".httpops-part.json"
# Longest file name we build a temporary name from; longer ones are hashed so
# the temporary name stays under the usual 255-byte limit.
_MAX_NAME = 180

# Guards _parts_in_use: temporary files being written by some download right now;
# notified when one is released.
_parts_lock = threading.Condition(threading.Lock())
_parts_in_use: set[str] = set()
# How long a download waits for another one's temporary file, in slices.
_CLAIM_SLICE = 0.05


@dataclass(frozen=True)
class Target:
    """A resolved download destination.

    Attributes:
        path: Absolute, normalised path of the final file.
        root: The downloads directory it must stay in, or None for an
            absolute path given by the caller.
    """

    path: str
    root: str | None

    @property
    def directory(self) -> str:
        """The directory the file (and its temporary file) lives in."""
        return os.path.dirname(self.path)

    def part_path(self) -> str:
        """The stable temporary file beside the target (used for resume)."""
        name = os.path.basename(self.path)
        if len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME:
            name = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return os.path.join(self.directory, f".{name}{PART_SUFFIX}")

    def meta_path(self, part: str) -> str:
        """The resume metadata file that belongs to temporary file ``part``."""
        return part[: -len(PART_SUFFIX)] + META_SUFFIX if part.endswith(PART_SUFFIX) else ""


def _escape(file: object, root: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"download path {file!r} escapes the downloads directory {root!r}: {why}"
    )


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


def resolve_target(file: object, downloads_dir: str) -> Target:
    """Resolve ``file`` to a :class:`Target`, checking it at the call.

    Args:
        file: ``str`` or ``os.PathLike``; relative paths resolve under
            ``downloads_dir``.
        downloads_dir: ``Config.downloads_dir`` (it need not exist yet).

    Raises:
        InvalidArgument: Wrong type, empty, NUL byte, names a directory, or a
            relative path that escapes ``downloads_dir``.

    Thread-safety: any thread.
    """
    if not isinstance(file, (str, os.PathLike)):
        raise InvalidArgument(f"file must be a str or os.PathLike, got {type(file).__name__}")
    raw = os.fspath(file)
    if not isinstance(raw, str):
        raise InvalidArgument(f"file must be a text path, got {raw!r}")
    if not raw or "\0" in raw:
        raise InvalidArgument(f"file must be a non-empty path without NUL bytes, got {raw!r}")
    if raw.endswith(("/", os.sep)) or os.path.basename(raw) in ("", ".", ".."):
        raise InvalidArgument(f"file must name a file, not a directory: {raw!r}")
    if os.path.isabs(raw):
        path = os.path.abspath(raw)
        if os.path.isdir(path):
            raise InvalidArgument(f"file names an existing directory: {raw!r}")
        return Target(path, None)
    root = os.path.realpath(os.path.abspath(downloads_dir))
    if os.path.splitdrive(raw)[0]:
        raise _escape(raw, root, "a drive-relative path")
    path = os.path.normpath(os.path.join(root, raw))
    if not _inside(path, root):
        raise _escape(raw, root, "'..' leads outside")
    target = Target(path, root)
    verify_confined(target, raw)
    if os.path.isdir(path):
        raise InvalidArgument(f"file names an existing directory: {raw!r}")
    return target


def verify_confined(target: Target, shown: object = None) -> None:
    """Raise if symlinks make a confined target resolve outside its root.

    Runs at the call and again on the worker right before the rename.

    Raises:
        InvalidArgument: The real path of the target is outside its root.

    Thread-safety: any thread.
    """
    if target.root is None:
        return
    real = os.path.realpath(target.path)
    if not _inside(real, target.root):
        raise _escape(shown or target.path, target.root, f"a symlink leads to {real!r}")


def claim_part(part: str, wait: float = 0.0, check: Callable[[], None] | None = None) -> bool:
    """Mark temporary file ``part`` as being written; False if another download keeps it.

    Args:
        part: The temporary file's path.
        wait: Seconds to wait for another download to release it (a canceled
            one is still cleaning up), in short slices.
        check: Called between slices; raises to stop waiting (cancel).

    Thread-safety: any thread.
    """
    deadline = time.monotonic() + wait
    with _parts_lock:
        while part in _parts_in_use:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _parts_lock.wait(min(remaining, _CLAIM_SLICE))
            if check is not None:
                check()  # no user code: the task context's cancel/deadline check
        _parts_in_use.add(part)
        return True


def release_part(part: str) -> None:
    """Forget a temporary file claimed with :func:`claim_part`. Thread-safety: any thread."""
    with _parts_lock:
        _parts_in_use.discard(part)
        _parts_lock.notify_all()
