"""The image cache on disk: one file per URL plus a JSON metadata file, and image sniffing.

Layout of ``Config.image_cache_dir`` (default ``images`` in the user cache dir)::

    <sha256 of the URL>.png     the image, with the extension of its real type
    <sha256 of the URL>.json    {"url", "file", "etag", "last_modified", "crc32", "size"}

Files are written to a temporary name in the same directory and renamed
into place, then the metadata is replaced the same way, so a crash leaves
either the old entry or the new one. An entry whose file is missing or has
the wrong size is treated as absent. Several engines (or processes) may
share a directory: the worst case is that two of them fetch the same image.

Everything here is file-system work and runs on worker threads, except
:func:`sniff`, which is pure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass

from ._resume import remove_quietly

__all__ = ["CacheEntry", "ImageStore", "sniff"]

log = logging.getLogger("httpops")

#: Bytes needed to recognise every supported format (WebP's is the longest).
SNIFF_BYTES = 12
_FORMAT = 1


def sniff(head: bytes) -> str | None:
    """The image type of a body from its first bytes: a file extension, or None.

    Recognises PNG, JPEG, GIF, WebP and BMP by their signatures.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM") and len(head) >= 6:
        return "bmp"
    return None


def describe(head: bytes) -> str:
    """A short, safe description of a body that is not an image, for error messages."""
    text = head[:32]
    if text.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return f"looks like HTML/XML: {text!r}"
    return f"starts with {text!r}"


@dataclass(frozen=True)
class CacheEntry:
    """One cached image as its metadata file describes it."""

    url: str
    path: str
    etag: str | None
    last_modified: str | None
    crc32: str
    size: int


class ImageStore:
    """Reads and writes cache entries in one directory.

    Args:
        directory: The cache directory (created on first write).
    """

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)

    def _key(self, url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()

    def _meta_path(self, url: str) -> str:
        return os.path.join(self.directory, self._key(url) + ".json")

    def _read_meta(self, url: str) -> tuple[dict[str, object], str] | None:
        """The metadata of ``url`` and the path of its file, if the metadata is sound."""
        try:
            with open(self._meta_path(url), encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("url") != url:
            return None
        name = data.get("file")
        if not isinstance(name, str) or os.path.basename(name) != name or not name:
            return None  # never follow a name out of the cache directory
        return data, os.path.join(self.directory, name)

    def load(self, url: str) -> CacheEntry | None:
        """The entry for ``url`` if its metadata and file are intact, else None.

        Thread-safety: any thread (workers, in practice).
        """
        found = self._read_meta(url)
        if found is None:
            return None
        data, path = found
        try:
            size = os.path.getsize(path)
        except OSError:
            return None
        crc32, etag, modified = data.get("crc32"), data.get("etag"), data.get("last_modified")
        if size != data.get("size") or not isinstance(crc32, str):
            return None
        return CacheEntry(
            url,
            path,
            etag if isinstance(etag, str) else None,
            modified if isinstance(modified, str) else None,
            crc32,
            size,
        )

    def new_temp(self) -> str:
        """A new empty temporary file in the cache directory (created if needed).

        Thread-safety: any thread (workers, in practice).
        """
        os.makedirs(self.directory, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=".img-", suffix=".httpops-tmp", dir=self.directory)
        os.close(fd)
        return path

    def save(
        self,
        url: str,
        temp: str,
        ext: str,
        etag: str | None,
        last_modified: str | None,
        crc32: str,
        size: int,
    ) -> CacheEntry:
        """Move a verified temporary file into place and record it; returns the entry.

        Thread-safety: any thread (workers, in practice); concurrent saves of
        one URL leave one complete entry.
        """
        old = self.load(url)
        name = f"{self._key(url)}.{ext}"
        path = os.path.join(self.directory, name)
        os.replace(temp, path)
        entry = CacheEntry(url, path, etag, last_modified, crc32, size)
        data = {
            "format": _FORMAT,
            "url": url,
            "file": name,
            "etag": etag,
            "last_modified": last_modified,
            "crc32": crc32,
            "size": size,
        }
        meta = self._meta_path(url)
        fd, tmp_meta = tempfile.mkstemp(prefix=".meta-", suffix=".httpops-tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp_meta, meta)
        except BaseException:
            remove_quietly(tmp_meta)
            raise
        if old is not None and old.path != path:
            remove_quietly(old.path)  # the image changed type; drop the old file
        return entry

    def forget(self, url: str) -> None:
        """Remove the entry of ``url`` (its metadata, then its file).

        Thread-safety: any thread (workers, in practice).
        """
        found = self._read_meta(url)
        remove_quietly(self._meta_path(url))
        if found is not None:
            remove_quietly(found[1])
