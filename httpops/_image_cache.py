"""The image cache on disk: one file per URL plus a JSON metadata file, and image sniffing.

Layout of ``Config.image_cache_dir`` (default ``images`` in the user cache dir)::

    <key>.png     the image, with the extension of its real type
    <key>.json    {"url", "file", "etag", "last_modified", "crc32", "size"}

where ``<key>`` is the SHA-256 of the URL -- or, for a request with
per-call headers (credentials), of the URL and those headers
(:func:`cache_key`), so such an image is only ever served to a request with
the same headers.

Files are written to a fresh, unpredictable temporary name in the same
directory (opened ``O_EXCL | O_NOFOLLOW``, see :mod:`httpops._safe_files`)
and renamed into place, then the metadata is replaced the same way, so a crash leaves
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from ._resume import discard
from ._safe_files import SafeDir

__all__ = ["CacheEntry", "ImageStore", "TempImage", "cache_key", "sniff"]

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


def cache_key(url: str, headers: Mapping[str, str] | None = None) -> str:
    """The cache key of an image request: the URL, plus the per-call headers if any.

    A request with per-call headers (``Authorization``, ``Cookie``, anything)
    may get a different image than an anonymous one, so it has its own key:
    it never shares a fetch or an entry with a caller whose headers differ.
    The key is a SHA-256; the headers themselves are never written to disk.
    """
    if not headers:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()
    canonical = sorted((name.lower(), value) for name, value in headers.items())
    material = json.dumps([url, canonical], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class TempImage:
    """A fresh temporary file in the cache directory, written through ``file``.

    Created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under an unpredictable
    name; :meth:`ImageStore.save` installs it only if that name still is the
    file written. Owned by one fetch on its worker.
    """

    def __init__(self, folder: SafeDir) -> None:
        self.folder = folder
        self.name = folder.unique_name(".img-", ".httpops-tmp")
        self.file: BinaryIO = os.fdopen(folder.create(self.name, 0o600), "wb")
        self.ident = folder.identify(self.file.fileno())

    def discard(self) -> None:
        """Close and remove it (never raises); after a failure."""
        self.file.close()
        discard(self.folder, self.name)

    def close(self) -> None:
        """Release the file and the directory (idempotent)."""
        self.file.close()
        self.folder.close()


class ImageStore:
    """Reads and writes cache entries in one directory.

    Entries are found by a key from :func:`cache_key`. Every file is opened
    in the directory's pinned descriptor, never through a link
    (:class:`~httpops._safe_files.SafeDir`).

    Args:
        directory: The cache directory (created on first write).
    """

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)

    def _folder(self) -> SafeDir:
        return SafeDir.open(self.directory)

    def _read_meta(
        self, folder: SafeDir, key: str, url: str
    ) -> tuple[dict[str, object], str] | None:
        """The metadata of an entry and the name of its file, if the metadata is sound."""
        raw = folder.read_small(key + ".json")
        if raw is None:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("url") != url:
            return None
        name = data.get("file")
        if not isinstance(name, str) or os.path.basename(name) != name or not name:
            return None  # never follow a name out of the cache directory
        if name in (".", ".."):
            return None
        return data, name

    def load(self, key: str, url: str) -> CacheEntry | None:
        """The entry ``key`` of ``url`` if its metadata and file are intact, else None.

        A file that is a link (or has several links) counts as absent.

        Thread-safety: any thread (workers, in practice).
        """
        with self._folder() as folder:
            found = self._read_meta(folder, key, url)
            if found is None:
                return None
            data, name = found
            size = folder.regular_size(name)
        crc32, etag, modified = data.get("crc32"), data.get("etag"), data.get("last_modified")
        if size is None or size != data.get("size") or not isinstance(crc32, str):
            return None
        return CacheEntry(
            url,
            os.path.join(self.directory, name),
            etag if isinstance(etag, str) else None,
            modified if isinstance(modified, str) else None,
            crc32,
            size,
        )

    def read(self, entry: CacheEntry) -> bytes | None:
        """The bytes of ``entry``'s file, never through a link; None if that fails.

        Thread-safety: any thread (workers, in practice).
        """
        with self._folder() as folder:
            try:
                fd = folder.open_existing(os.path.basename(entry.path), writable=False)
            except OSError:
                return None
            with os.fdopen(fd, "rb") as f:
                return f.read(entry.size + 1)

    def new_temp(self) -> TempImage:
        """A new empty temporary file in the cache directory (created if needed).

        Thread-safety: any thread (workers, in practice).
        """
        folder = self._folder()
        try:
            return TempImage(folder)
        except BaseException:
            folder.close()
            raise

    def save(
        self,
        key: str,
        url: str,
        temp: TempImage,
        ext: str,
        etag: str | None,
        last_modified: str | None,
        crc32: str,
        size: int,
    ) -> CacheEntry:
        """Move a verified temporary file into place and record it; returns the entry.

        ``temp.file`` must be closed. Raises ``OSError`` (``UnsafeFile``) if its
        name no longer is the file written.

        Thread-safety: any thread (workers, in practice); concurrent saves of
        one key leave one complete entry.
        """
        folder = temp.folder
        old = self._read_meta(folder, key, url)
        name = f"{key}.{ext}"
        folder.install(temp.name, name, temp.ident)
        data = {
            "format": _FORMAT,
            "url": url,
            "file": name,
            "etag": etag,
            "last_modified": last_modified,
            "crc32": crc32,
            "size": size,
        }
        folder.write_atomic(key + ".json", json.dumps(data).encode("utf-8"))
        if old is not None and old[1] != name:
            discard(folder, old[1])  # the image changed type; drop the old file
        return CacheEntry(url, os.path.join(self.directory, name), etag, last_modified, crc32, size)

    def forget(self, key: str, url: str) -> None:
        """Remove the entry ``key`` of ``url`` (its metadata, then its file).

        Thread-safety: any thread (workers, in practice).
        """
        with self._folder() as folder:
            found = self._read_meta(folder, key, url)
            discard(folder, key + ".json")
            if found is not None:
                discard(folder, found[1])
