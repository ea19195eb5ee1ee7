"""The finished HTTP response handed to the host (pure: no sockets, no threads)."""

from __future__ import annotations

import datetime
import functools
import json as _json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

from ._errors import HTTPStatusError

__all__ = ["Headers", "Response", "is_textual"]

_NO_VALUE: Any = object()
_T = TypeVar("_T")

_TEXT_TYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping that keeps the original spelling."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                # Repeated headers fold into one, as RFC 9110 allows for lists.
                value = f"{self._items[key][1]}, {value}"
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str) -> str: ...
    @overload
    def get(self, name: str, /, default: _T) -> str | _T: ...
    def get(self, name: str, /, default: Any = None) -> Any:
        """The value of ``name`` (any case), or ``default``.

        Mapping.get would go through __getitem__ and an exception per miss;
        every fetch asks for several headers it usually does not have.
        """
        item = self._items.get(name.lower()) if isinstance(name, str) else None
        return default if item is None else item[1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


# Cached: every response asks, and a server sends the same few values. Bounded,
# so a peer that varies its Content-Type only churns the cache.
@functools.lru_cache(maxsize=256)
def charset_of(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type value, if any."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None


@functools.lru_cache(maxsize=256)
def is_textual(content_type: str | None) -> bool:
    """Whether a body of this Content-Type is text (so decoding it is worthwhile)."""
    if not content_type:
        return True
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or any(t in mime for t in _TEXT_TYPES)


class Response:
    """A complete HTTP response: status, headers and the whole body.

    ``text`` and ``json()`` are computed on the worker thread when the
    operation asked for them (``get_json``; textual bodies), so reading them
    on the host is free. Otherwise they are decoded on first access.

    The habits of ``requests`` and ``httpx`` apply: ``status_code``, ``ok``,
    ``raise_for_status()``, ``json()``, ``elapsed`` as a ``timedelta``,
    ``url`` after redirects and ``history``.

    Attributes:
        status: The HTTP status code (``status_code`` is the same).
        reason: The reason phrase.
        headers: Case-insensitive response headers.
        content: The body bytes.
        url: The final URL, after redirects.
        elapsed: Time from sending the request to the end of the body, a
            ``datetime.timedelta``.
        method: The request's method.
        history: The redirect responses that led here, oldest first (status,
            headers and URL; their bodies are not kept). Empty without redirects.
    """

    __slots__ = (
        "_json",
        "_text",
        "content",
        "elapsed",
        "headers",
        "history",
        "method",
        "reason",
        "status",
        "url",
    )

    def __init__(
        self,
        status: int,
        reason: str,
        headers: Headers,
        content: bytes,
        url: str,
        elapsed: float | datetime.timedelta = 0.0,
        *,
        method: str = "GET",
        history: Iterable[Response] = (),
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.content = content
        self.url = url
        # Transports measure seconds on a monotonic clock; users get a timedelta.
        if not isinstance(elapsed, datetime.timedelta):
            elapsed = datetime.timedelta(seconds=elapsed)
        self.elapsed = elapsed
        self.method = method
        self.history: tuple[Response, ...] = tuple(history)
        self._text: str | None = None
        self._json: Any = _NO_VALUE

    @property
    def status_code(self) -> int:
        """The HTTP status code: ``status`` under the name ``requests`` uses."""
        return self.status

    @property
    def ok(self) -> bool:
        """True when the status is below 400."""
        return self.status < 400

    def raise_for_status(self) -> Response:
        """Raise `HTTPStatusError` if the status is 400 or more.

        For responses delivered with ``raise_for_status=False``; with the
        default, such a response already failed the operation.

        Returns:
            This response, so calls chain: ``resp.raise_for_status().json()``.

        Raises:
            HTTPStatusError: The status is >= 400 (``err.response`` is this).
        """
        if self.status >= 400:
            raise HTTPStatusError(self.method, self.url, self.status, self)
        return self

    @property
    def is_text(self) -> bool:
        """Whether the Content-Type is textual (its ``text`` is decoded on the worker)."""
        return is_textual(self.headers.get("Content-Type"))

    @property
    def encoding(self) -> str:
        """The body's charset from Content-Type, else UTF-8."""
        return charset_of(self.headers.get("Content-Type", "")) or "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with its charset (undecodable bytes replaced)."""
        if self._text is None:
            self._text = self.decode_text()
        return self._text

    def decode_text(self) -> str:
        """Decode the body to str (the work behind ``text``; call it on a worker)."""
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:  # an unknown charset name
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON (None for an empty body).

        Raises:
            ValueError: The body is not JSON.
        """
        if self._json is _NO_VALUE:
            self._json = _json.loads(self.content) if self.content.strip() else None
        return self._json

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url} {len(self.content)} bytes>"
