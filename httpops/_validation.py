"""Argument checks run at the call, in the caller's thread (pure).

Each raises a :class:`~httpops.UsageError` subclass whose message names the
argument and the value, so the mistake is found where it was made.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ._errors import InvalidArgument, InvalidCallback, InvalidURL

__all__ = [
    "check_callback",
    "check_headers",
    "check_params",
    "check_timeout",
    "check_url",
    "encode_json",
]

_FORBIDDEN_URL_CHARS = frozenset("\r\n\t\0 ")


def check_url(url: object, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Return ``url`` if it is an absolute URL with a supported scheme and a host."""
    if not isinstance(url, str):
        raise InvalidURL(f"url must be str, got {type(url).__name__}")
    if any(ch in _FORBIDDEN_URL_CHARS for ch in url):
        raise InvalidURL(f"url must not contain whitespace or control characters: {url!r}")
    if not url.isprintable():
        raise InvalidURL(f"url contains non-printable characters: {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidURL(f"malformed url {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        wanted = ", ".join(f"{s}://" for s in schemes)
        shown = f"{scheme}://" if scheme else "none"
        raise InvalidURL(f"unsupported scheme {shown} in {url!r}; expected {wanted}")
    if not parts.hostname:
        raise InvalidURL(f"url has no host: {url!r}")
    if port == 0:
        raise InvalidURL(f"url has port 0: {url!r}")
    return url


def check_callback(name: str, fn: object) -> None:
    """Raise InvalidCallback unless ``fn`` is None or callable."""
    if fn is not None and not callable(fn):
        raise InvalidCallback(f"{name} must be callable or None, got {type(fn).__name__}")


def check_timeout(name: str, value: object, *, allow_none: bool = True) -> float | None:
    """Validate a duration in seconds: a finite number > 0, or None where allowed."""
    if value is None:
        if allow_none:
            return None
        raise InvalidArgument(f"{name} must be a number of seconds > 0, got None")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{name} must be a number of seconds > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _check_header_text(kind: str, text: object) -> None:
    if not isinstance(text, str):
        raise InvalidArgument(f"header {kind} must be str, got {type(text).__name__}")
    if "\r" in text or "\n" in text or "\0" in text:
        raise InvalidArgument(f"header {kind} must not contain CR, LF or NUL, got {text!r}")


def check_headers(headers: object) -> dict[str, str]:
    """Validate header names and values; return a plain dict copy."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidArgument(f"headers must be a mapping, got {type(headers).__name__}")
    for name, value in headers.items():
        _check_header_text("name", name)
        if not name or any(ch in name for ch in ': \t"(),/;<=>?@[\\]{}') or not name.isascii():
            raise InvalidArgument(f"header name is not a valid token: {name!r}")
        _check_header_text(f"value of {name!r}", value)
    return dict(headers)


def check_params(params: object) -> dict[str, str] | None:
    """Validate query parameters: a mapping of str to str (or numbers)."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise InvalidArgument(f"params must be a mapping, got {type(params).__name__}")
    out: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float)):
            raise InvalidArgument(f"params must map str to str or number, got {key!r}: {value!r}")
        out[key] = str(value)
    return out


def encode_json(data: Any, what: str = "data") -> bytes:
    """Serialise ``data`` as strict JSON (no NaN/Infinity) at the call."""
    try:
        return json.dumps(data, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgument(f"{what} is not JSON-serialisable: {exc}") from exc
