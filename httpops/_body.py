"""Request bodies as data: bytes in memory, or a *body source* streamed from disk.

A :class:`BodySource` is what a transport reads a streamed request body
from -- a file on disk (``data=pathlib.Path(...)`` or an open binary file)
or a multipart form (``files=``). It never holds the files in memory: it
has a known :attr:`~BodySource.length` (sent as ``Content-Length``),
:meth:`~BodySource.read` returns the next ``n`` bytes, :meth:`~BodySource.rewind`
starts again (a redirect or a retry sends the body again) and
:meth:`~BodySource.close` releases the files it opened.

Any transport can use it: the ``requests`` transport wraps it as a
file-like object (``read``/``seek``/``__len__``); libcurl reads it from a
``READFUNCTION`` (``read(n)``), sets ``INFILESIZE_LARGE``/
``POSTFIELDSIZE_LARGE`` to ``length`` and calls ``rewind()`` from its
``SEEKFUNCTION``.

Everything that can be checked is checked at the call, on the caller's
thread (a missing file, a text-mode file object, a bad field name);
files are *opened* and read on the worker.
"""

from __future__ import annotations

import io
import mimetypes
import os
import uuid
from collections.abc import Mapping
from typing import IO, Any

from ._errors import InvalidArgument
from ._validation import encode_json

__all__ = ["BodySource", "encode_body", "file_body", "multipart"]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_OCTETS = "application/octet-stream"
# Methods whose empty body is still sent as "Content-Length: 0" (servers expect one).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Field names and file names end up in a quoted header parameter.
_BAD_NAME_CHARS = frozenset('"\r\n\0')


class _FileSegment:
    """``size`` bytes of a file from ``start``: a path (opened on the worker) or a file object."""

    def __init__(self, path: str | None, handle: IO[bytes] | None, start: int, size: int) -> None:
        self.path = path
        self.handle = handle
        self.start = start
        self.size = size
        self.opened: IO[bytes] | None = None  # a file this segment opened itself

    def file(self) -> IO[bytes]:
        if self.handle is not None:
            return self.handle
        if self.opened is None:
            assert self.path is not None
            self.opened = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        return self.opened

    def close(self) -> None:
        if self.opened is not None:
            opened, self.opened = self.opened, None
            opened.close()


_Segment = bytes | _FileSegment


class BodySource:
    """A request body read in pieces: a known length, ``read(n)``, ``rewind()``, ``close()``.

    Attributes:
        length: Bytes the whole body has (the ``Content-Length``).
        content_type: The ``Content-Type`` it needs (None: the caller's).

    Thread-safety: one thread reads it at a time (the worker sending the
    request); a file object given as ``data`` must not be used elsewhere
    until the operation completes.
    """

    def __init__(self, segments: list[_Segment], content_type: str | None) -> None:
        self._segments = segments
        self.content_type = content_type
        self.length = sum(len(s) if isinstance(s, bytes) else s.size for s in segments)
        self._index = 0  # the segment being read
        self._offset = 0  # bytes of it already read
        self.position = 0  # bytes of the whole body already read

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        return True  # an empty file is still a body ("Content-Length: 0")

    def __repr__(self) -> str:
        return f"<BodySource {self.length} bytes, {len(self._segments)} part(s)>"

    def read(self, n: int = -1) -> bytes:
        """The next up to ``n`` bytes (all that is left if ``n < 0``); b"" at the end.

        Raises:
            OSError: A file could not be read, or is shorter than announced.
        """
        if n is None or n < 0:
            n = self.length - self.position
        out: list[bytes] = []
        wanted = n
        while wanted > 0 and self._index < len(self._segments):
            segment = self._segments[self._index]
            if isinstance(segment, bytes):
                piece = segment[self._offset : self._offset + wanted]
            else:
                piece = self._read_file(segment, wanted)
            if piece:
                out.append(piece)
                self._offset += len(piece)
                wanted -= len(piece)
            if self._offset >= (len(segment) if isinstance(segment, bytes) else segment.size):
                if not isinstance(segment, bytes):
                    segment.close()
                self._index += 1
                self._offset = 0
        data = b"".join(out)
        self.position += len(data)
        return data

    def _read_file(self, segment: _FileSegment, wanted: int) -> bytes:
        handle = segment.file()
        if self._offset == 0:
            handle.seek(segment.start)
        piece = handle.read(min(wanted, segment.size - self._offset))
        if not piece:
            # Never send fewer bytes than Content-Length promised: fail instead.
            raise OSError(
                f"{segment.path or 'the file'} ended after {self._offset} of {segment.size} bytes"
                " (it changed while being uploaded)"
            )
        return piece

    def rewind(self) -> None:
        """Start again from the first byte (a redirect or a retry sends the body again)."""
        for segment in self._segments:
            if not isinstance(segment, bytes):
                segment.close()
        self._index = self._offset = self.position = 0

    def close(self) -> None:
        """Close the files this source opened (never a file object the caller passed)."""
        for segment in self._segments:
            if not isinstance(segment, bytes):
                segment.close()


def _file_segment(value: object, what: str) -> _FileSegment:
    """A segment for a path or an open binary file; raises InvalidArgument at the call."""
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise InvalidArgument(f"{what}: cannot read {path!r}: {exc.strerror}") from None
        if not os.path.isfile(path):
            raise InvalidArgument(f"{what}: {path!r} is not a regular file")
        if not os.access(path, os.R_OK):
            raise InvalidArgument(f"{what}: {path!r} is not readable")
        return _FileSegment(path, None, 0, stat.st_size)
    if isinstance(value, io.TextIOBase) or "b" not in getattr(value, "mode", "b"):
        raise InvalidArgument(f"{what}: a file object must be opened in binary mode ('rb')")
    read, seek, tell = (getattr(value, n, None) for n in ("read", "seek", "tell"))
    if not (callable(read) and callable(seek) and callable(tell)):
        raise InvalidArgument(
            f"{what} must be bytes, a pathlib.Path or an open binary file, "
            f"got {type(value).__name__}"
        )
    if getattr(value, "closed", False):
        raise InvalidArgument(f"{what}: the file object is closed")
    seekable = getattr(value, "seekable", None)
    if callable(seekable) and not seekable():
        raise InvalidArgument(f"{what}: the file object must be seekable (its size is sent first)")
    handle: Any = value
    start = handle.tell()
    end = handle.seek(0, os.SEEK_END)
    handle.seek(start)
    return _FileSegment(None, handle, start, max(0, end - start))


def file_body(value: object, what: str = "data") -> BodySource:
    """A streamed body from a ``pathlib.Path`` (any ``os.PathLike``) or an open binary file."""
    return BodySource([_file_segment(value, what)], None)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{what} must be a non-empty str, got {name!r}")
    if _BAD_NAME_CHARS.intersection(name):
        raise InvalidArgument(f"{what} must not contain quotes, CR, LF or NUL: {name!r}")
    return name


def _quote_filename(name: str) -> str:
    # What browsers send (the HTML standard): UTF-8, with these three escaped.
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _field_values(name: str, value: object) -> list[bytes]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in values:
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, str):
            out.append(item.encode("utf-8"))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out.append(str(item).encode("ascii"))
        else:
            raise InvalidArgument(
                f"form field {name!r}: values must be str, bytes or numbers, "
                f"got {type(item).__name__}"
            )
    return out


def _file_part(field: str, value: object) -> tuple[str, str, _Segment]:
    """(filename, content type, content) of one ``files=`` entry."""
    what = f"files[{field!r}]"
    content_type: str | None = None
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise InvalidArgument(f"{what}: a tuple must be (filename, data[, content_type])")
        filename = value[0]
        if not isinstance(filename, str) or not filename or "\0" in filename:
            raise InvalidArgument(f"{what}: the filename must be a non-empty str without NUL")
        data = value[1]
        if len(value) == 3:
            content_type = value[2]
            if not isinstance(content_type, str) or not content_type or "\n" in content_type:
                raise InvalidArgument(f"{what}: content_type must be a one-line str")
        if isinstance(data, str):
            data = data.encode("utf-8")  # as requests: text in a tuple is the content
    elif isinstance(value, os.PathLike):
        data = value
        filename = os.path.basename(os.fsdecode(os.fspath(value)))
    elif isinstance(value, bytes):
        data, filename = value, field
    elif isinstance(value, str):
        raise InvalidArgument(
            f"{what}: a str is ambiguous; pass pathlib.Path({value!r}) for a file on disk "
            "or bytes for the content"
        )
    else:
        data = value
        filename = os.path.basename(str(getattr(value, "name", field))) or field
    content: _Segment = data if isinstance(data, bytes) else _file_segment(data, what)
    if content_type is None:
        content_type = mimetypes.guess_type(filename)[0] or _OCTETS
    return filename, content_type, content


def multipart(fields: object, files: object, boundary: str | None = None) -> BodySource:
    """A ``multipart/form-data`` body: ``fields`` (``data=``) then ``files``.

    Raises:
        InvalidArgument: A bad field name, value or file (at the call).
    """
    if not isinstance(files, Mapping):
        raise InvalidArgument(f"files must be a dict, got {type(files).__name__}")
    if fields is not None and not isinstance(fields, Mapping):
        raise InvalidArgument(
            f"with files=, data must be a dict of form fields, got {type(fields).__name__}"
        )
    boundary = boundary or uuid.uuid4().hex
    segments: list[_Segment] = []
    for name, value in (fields or {}).items():
        _check_name(name, "form field name")
        for item in _field_values(name, value):
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            segments += [head.encode("utf-8"), item, b"\r\n"]
    for name, value in files.items():
        _check_name(name, "files field name")
        filename, content_type, content = _file_part(name, value)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{_quote_filename(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        segments += [head.encode("utf-8"), content, b"\r\n"]
    segments.append(f"--{boundary}--\r\n".encode("ascii"))
    return BodySource(segments, f"multipart/form-data; boundary={boundary}")


_NO_JSON: Any = object()


def encode_body(
    method: str, data: object, files: object = None, json: object = _NO_JSON
) -> tuple[bytes | BodySource | None, str | None]:
    """The body and its default ``Content-Type`` for ``data``/``files``/``json``.

    ``bytes`` as-is; ``str`` UTF-8 as a form body (OTClient's rule); a dict
    or list as JSON -- or, with ``files=``, as the multipart form's fields;
    a ``pathlib.Path`` or open binary file streamed; ``json=`` anything
    JSON-serialisable.

    Raises:
        InvalidArgument: A bad combination or value (at the call).
    """
    if json is not _NO_JSON:
        if data is not None or files is not None:
            raise InvalidArgument("json= cannot be combined with data= or files=")
        return encode_json(json), _JSON
    if files is not None:
        source = multipart(data, files)
        return source, source.content_type
    if data is None:
        return (b"" if method in _BODY_METHODS else None), None
    if isinstance(data, bytes):
        return data, None
    if isinstance(data, str):
        return data.encode("utf-8"), _FORM
    if isinstance(data, (dict, list)):
        return encode_json(data), _JSON
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data), None
    if isinstance(data, os.PathLike) or hasattr(data, "read"):
        return file_body(data), None
    raise InvalidArgument(
        "data must be str, bytes, dict, list, a pathlib.Path, an open binary file or None, "
        f"got {type(data).__name__}"
    )
