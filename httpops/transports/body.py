"""Turning a received body into an operation's value: text, status check, JSON.

Pure functions, run on whichever thread received the body (a worker, or the
curl network thread). JSON is decoded with ``orjson`` when it is installed
(the ``fast`` extra): it halves the decode stall for bodies up to a few MiB.
Anything orjson refuses is decoded again by the standard ``json`` module, so
what decodes (NaN, integers beyond 64 bits, which orjson would turn into
floats and so are left to json) and the ``JSON ERROR:`` message for bad
input are the same with or without it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .._errors import HTTPStatusError, JSONDecodeError
from .._response import Response
from .._transport import Request

__all__ = ["ORJSON", "finish_fetch", "loads_json"]

_fast_loads: Callable[[bytes], Any] | None
try:
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # the fast extra is not installed
    _fast_loads = None

# orjson turns integers beyond 64 bits into floats; json keeps them exact. A run
# of 19+ digits (anywhere, strings included) sends the body to json instead.
_LONG_DIGITS = re.compile(rb"\d{19}")

#: Whether orjson decodes JSON bodies.
ORJSON = _fast_loads is not None


def loads_json(content: bytes) -> Any:
    """Decode a JSON body (None for an empty one).

    Raises:
        ValueError, RecursionError: The body is not JSON (from ``json``).
    """
    if not content.strip():
        return None
    if _fast_loads is not None and _LONG_DIGITS.search(content) is None:
        try:
            return _fast_loads(content)
        except ValueError:
            pass  # json decides, with its own message (or accepts NaN, big ints)
    return json.loads(content)


def body_limit(max_body_bytes: int, max_json_bytes: int | None, want_json: bool) -> int | None:
    """The JSON limit when it is the tighter one for this fetch, else None.

    A body to be JSON-decoded is held to ``max_json_bytes`` as it arrives
    (decoded), so the decoder never starts on a huge one.
    """
    if want_json and max_json_bytes is not None and max_json_bytes < max_body_bytes:
        return max_json_bytes
    return None


def json_too_large(detail: str, limit: int) -> str:
    """The detail of a BodyTooLarge under the JSON limit (the same on every transport)."""
    return (
        f"{detail}; bodies to be JSON-decoded are limited by max_json_bytes "
        f"({limit} bytes), checked before decoding"
    )


def finish_fetch(request: Request, response: Response, want_json: bool) -> tuple[Any, Response]:
    """The value of a fetched response: the Response, or its decoded JSON.

    Returns:
        ``(value, response)``.

    Raises:
        HTTPStatusError: The status is >= 400 (the response is kept), unless
            the request says ``raise_for_status=False``.
        JSONDecodeError: ``want_json`` and the body is not JSON.
    """
    # As httpops._transfer.fetch judges it: raise_for_status=False delivers a 4xx/5xx.
    failed = response.status >= 400 and request.raise_for_status
    # Decode text here, off the host, whenever the host may read it: an error
    # page is read through err.response, a plain body through op.value.
    if (failed or not want_json) and response.is_text:
        response._text = response.decode_text()
    if failed:
        raise HTTPStatusError(request.method, request.url, response.status, response)
    if not want_json:
        return response, response
    try:
        value = loads_json(response.content)
    except (ValueError, RecursionError) as exc:
        snippet = response.content[:100].decode("utf-8", errors="replace")
        err = JSONDecodeError(request.method, request.url, f"invalid JSON: {exc}", snippet)
        err.response = response
        raise err from None
    response._json = value
    return value, response
