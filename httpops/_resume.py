"""Resume bookkeeping for downloads: validators, metadata file, Range and Content-Range.

An interrupted download keeps its temporary file (``.<name>.httpops-part``)
and a small JSON file beside it (``.<name>.httpops-part.json``) that records
which URL the bytes came from and the validator the server gave them (a
strong ETag, else Last-Modified). The next download of the same URL to the
same target asks for the rest with ``Range: bytes=N-`` and ``If-Range:
<validator>``; the server sends ``206`` only if the resource is unchanged.
Without a validator there is no safe way to resume, so no metadata is kept.

Everything here runs on a worker thread (file reads and writes). Files are
handled by name inside a :class:`~httpops._safe_files.SafeDir`, so a link
planted at the metadata file's name is never read or written through.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import BinaryIO

from ._crc import crc32
from ._response import Headers
from ._safe_files import SafeDir

__all__ = [
    "Hashes",
    "ResumeInfo",
    "discard",
    "load_resume",
    "parse_content_range",
    "save_resume",
    "validator_of",
]

log = logging.getLogger("httpops")

_FORMAT = 1
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_READ_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ResumeInfo:
    """What the metadata file says about a kept temporary file.

    Attributes:
        url: The URL the bytes came from.
        validator: The ``If-Range`` value: a strong ETag or a Last-Modified date.
        total: The full size the server announced, if it did.
    """

    url: str
    validator: str
    total: int | None


def validator_of(headers: Headers) -> str | None:
    """The value to send as ``If-Range`` later: a strong ETag, else Last-Modified.

    Weak ETags (``W/"..."``) cannot be used with If-Range (RFC 9110 13.1.5).
    """
    etag = headers.get("ETag", "").strip()
    if etag and not etag.startswith("W/"):
        return etag
    modified = headers.get("Last-Modified", "").strip()
    return modified or None


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """Parse ``bytes first-last/total`` into (first, last, total or None)."""
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if match is None:
        return None
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if last < first or (total is not None and last >= total):
        return None
    return first, last, total


def load_resume(folder: SafeDir, meta: str, part: str, url: str) -> tuple[ResumeInfo, int] | None:
    """The kept temporary file's metadata and size, if it can be resumed for ``url``.

    ``meta`` and ``part`` are names in ``folder``; a link at either name (or
    a file with several links) is never read: nothing is resumed then.
    """
    raw = folder.read_small(meta)
    size = folder.regular_size(part)
    if raw is None or size is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("url") != url:
        return None
    validator, total = data.get("validator"), data.get("total")
    if not isinstance(validator, str) or not validator:
        return None
    if total is not None and (not isinstance(total, int) or size >= total):
        return None  # nothing left to fetch, or nonsense: start again
    if size <= 0:
        return None
    return ResumeInfo(url, validator, total), size


def save_resume(folder: SafeDir, meta: str, info: ResumeInfo) -> None:
    """Write the metadata file ``meta`` in ``folder`` atomically, never through a link."""
    data = {"format": _FORMAT, "url": info.url, "validator": info.validator, "total": info.total}
    folder.write_atomic(meta, json.dumps(data).encode("utf-8"))


class Hashes:
    """CRC32 and (optionally) SHA-256 of the bytes written so far, updated per chunk.

    Thread-safety: owned by one download job; used on its worker only.
    """

    def __init__(self, want_sha256: bool) -> None:
        self.crc = 0
        self.sha = hashlib.sha256() if want_sha256 else None
        self.length = 0

    def update(self, data: bytes | bytearray) -> None:
        """Add the next chunk (the CRC and hashlib release the GIL on big chunks)."""
        self.crc = crc32(data, self.crc)
        if self.sha is not None:
            self.sha.update(data)
        self.length += len(data)

    @property
    def crc_hex(self) -> str:
        """The CRC32 as 8 lowercase hex digits, as OTClient reports it."""
        return f"{self.crc & 0xFFFFFFFF:08x}"

    def sha_hex(self) -> str | None:
        """The SHA-256 hex digest, or None when not requested."""
        return None if self.sha is None else self.sha.hexdigest()

    @classmethod
    def of_prefix(cls, f: BinaryIO, length: int, want_sha256: bool) -> Hashes:
        """Hash the first ``length`` bytes of open file ``f`` (the part a resume keeps)."""
        hashes = cls(want_sha256)
        f.seek(0)
        remaining = length
        while remaining > 0:
            block = f.read(min(_READ_BLOCK, remaining))
            if not block:
                raise OSError(f"the kept temporary file is shorter than {length} bytes")
            hashes.update(block)
            remaining -= len(block)
        return hashes


def discard(folder: SafeDir, *names: str) -> None:
    """Remove files ``names`` of ``folder`` (links themselves, never their targets).

    Never raises: a failure is logged.
    """
    for name in names:
        if not name:
            continue
        try:
            folder.unlink(name)
        except OSError:
            log.warning("could not remove %s", folder.shown(name), exc_info=True)
