"""Argument checks run at the call, in the caller's thread (pure).

Each raises a :class:`~httpops.UsageError` subclass whose message names the
argument and the value, so the mistake is found where it was made.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Mapping
from typing import Any, Literal, overload
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

_FORBIDDEN_URL_CHARS = re.compile("[\r\n\t\0 ]")
# RFC 9110 token (a header name).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A header value: Latin-1 without C0/C1 controls (tab allowed inside), no leading whitespace.
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e\xa1-\xff][\t\x20-\x7e\xa0-\xff]*)?")


def check_url(url: object, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Return ``url`` if it is an absolute URL with a supported scheme and a host."""
    if not isinstance(url, str):
        raise InvalidURL(f"url must be str, got {type(url).__name__}")
    # A game asks for the same few URLs again and again: each is parsed once.
    return _checked_url(str(url), schemes)


@functools.lru_cache(maxsize=512)
def _checked_url(url: str, schemes: tuple[str, ...]) -> str:
    """check_url for a str (cached: pure, and only a URL that passed is kept)."""
    if _FORBIDDEN_URL_CHARS.search(url):
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
    if not parts.hostname.isascii():
        _check_idna(parts.hostname, url)
    elif parts.hostname.startswith(("*", ".")):  # requests refuses these when it sends
        raise InvalidURL(f"host {parts.hostname!r} has an invalid label: {url!r}")
    if port == 0:
        raise InvalidURL(f"url has port 0: {url!r}")
    return url


def _check_idna(host: str, url: str) -> None:
    """Refuse a non-ASCII host name that cannot be encoded for DNS (IDNA).

    Both encodings the sending side applies are tried -- urllib3's parser
    (IDNA 2008, strict, STD3 rules) and requests' (UTS 46 mapping) -- so a
    name accepted here is one the transport can send.
    """
    try:
        import idna  # a dependency of requests and urllib3
    except ImportError:  # pragma: no cover - requests always installs it
        return
    try:
        idna.encode(host.lower(), strict=True, std3_rules=True)
        idna.encode(host, uts46=True)
    except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
        raise InvalidURL(
            f"host {host!r} is not a valid international domain name: {url!r}"
        ) from exc


def check_callback(name: str, fn: object) -> None:
    """Raise InvalidCallback unless ``fn`` is None or callable."""
    if fn is not None and not callable(fn):
        raise InvalidCallback(f"{name} must be callable or None, got {type(fn).__name__}")


@overload
def check_timeout(name: str, value: object, *, allow_none: Literal[False]) -> float: ...


@overload
def check_timeout(name: str, value: object, *, allow_none: bool = True) -> float | None: ...


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
    if value > threading.TIMEOUT_MAX:
        # Sockets and locks refuse longer waits, and would do so on a worker.
        raise InvalidArgument(
            f"{name} must be at most {threading.TIMEOUT_MAX:.0f} seconds, got {value!r}"
        )
    return float(value)


def _check_header_text(kind: str, text: object) -> None:
    if not isinstance(text, str):
        raise InvalidArgument(f"header {kind} must be str, got {type(text).__name__}")
    if "\r" in text or "\n" in text or "\0" in text:
        raise InvalidArgument(f"header {kind} must not contain CR, LF or NUL, got {text!r}")


def check_headers(headers: object) -> dict[str, str]:
    """Validate header names and values; return a plain dict copy.

    Names must be RFC 9110 tokens. Values must be Latin-1 (what HTTP/1.1
    sends), without control characters other than tab, and must not start
    with whitespace (``requests`` refuses that when it sends).
    """
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidArgument(f"headers must be a mapping, got {type(headers).__name__}")
    for name, value in headers.items():
        _check_header_text("name", name)
        if not _TOKEN.fullmatch(name):
            raise InvalidArgument(f"header name is not a valid token: {name!r}")
        _check_header_text(f"value of {name!r}", value)
        if not _FIELD_VALUE.fullmatch(value):
            raise InvalidArgument(
                f"header value of {name!r} must be Latin-1 text without control characters"
                f" or leading whitespace, got {value!r}"
            )
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
