"""Lua-style calls for the facade: a callback gets as many leading arguments as it takes.

Lua drops extra arguments silently, so a ported ``function(data) ... end``
becomes ``lambda data: ...``, which Python would call with ``(data, err)``
and fail with ``TypeError`` (logged, so the callback silently never runs).
:func:`lua_callable` inspects a callback once, when the facade call that
receives it is made, and returns a function that passes only the leading
arguments the callback accepts. Also here: the other small Lua-isms every
facade module shares (a scheme-less URL, a bad URL as an error, error text).

Pure (no threads, no I/O).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._errors import OperationError, TLSError

__all__ = ["BadURL", "accepted_positional", "error_message", "lua_callable", "with_scheme"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def accepted_positional(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` accepts; None for "any number".

    None is also the answer for a callable whose signature cannot be read
    (some builtins and C extensions): it is then called with every argument,
    as Python would, rather than guessed at.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    count = 0
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if param.kind in _POSITIONAL:
            count += 1
    return count


def lua_callable(fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """``fn`` wrapped to drop trailing arguments it does not accept (Lua's rule).

    Inspected once, here; None stays None, and a callable that accepts every
    argument is returned as it is.
    """
    if fn is None:
        return None
    limit = accepted_positional(fn)
    if limit is None:
        return fn

    def call(*args: Any) -> Any:
        return fn(*args[:limit])

    call.__wrapped__ = fn  # type: ignore[attr-defined]  # for debuggers and logs
    return call


class BadURL(OperationError):
    """A URL the facade could not use: delivered as an error, as OTCv8 does."""

    phrase = "Invalid url"


def with_scheme(url: object) -> object:
    """``host/path`` -> ``http://host/path``, as OTCv8's URI parser reads it."""
    if isinstance(url, str) and url and "://" not in url:
        return "http://" + url
    return url


def error_message(error: BaseException | None) -> str | None:
    """An error as the string OTClient scripts expect; a certificate failure says the fix."""
    if error is None:
        return None
    text = str(error)
    if isinstance(error, TLSError) and "certif" in text.lower():
        text += (
            " (OTClient accepted any certificate; to trust this server call"
            " HTTP.setVerify('ca.pem') with its CA, or HTTP.setVerify(False))"
        )
    return text
