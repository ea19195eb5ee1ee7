"""libcurl failures translated to the httpops error tree, in one place.

Runs on the curl network thread. The phrases and the URL in each message are
the ones :func:`httpops._requests_transport.translate` produces for the same
failure, so a script that matches on an error's text works on either
transport (see docs/transports.md for what differs in the detail).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from urllib.parse import urlsplit

from .._errors import (
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    DeadlineExceeded,
    OperationError,
    ReadTimeout,
    ResolveError,
    TLSError,
    TooManyRedirects,
)
from .._transport import Request

__all__ = ["Failure", "translate"]

# libcurl error codes (curl/curl.h); pycurl exposes them as E_*, spelled here
# so this module imports without pycurl (the unit tests use it alone).
_UNSUPPORTED_PROTOCOL = 1
_URL_MALFORMAT = 3
_COULDNT_RESOLVE_PROXY = 5
_COULDNT_RESOLVE_HOST = 6
_COULDNT_CONNECT = 7
_WEIRD_SERVER_REPLY = 8
_PARTIAL_FILE = 18
_HTTP_RETURNED_ERROR = 22
_WRITE_ERROR = 23
_OPERATION_TIMEDOUT = 28
_TOO_MANY_REDIRECTS = 47
_GOT_NOTHING = 52
_SEND_ERROR = 55
_RECV_ERROR = 56
_BAD_CONTENT_ENCODING = 61
_HTTP2 = 16
_HTTP2_STREAM = 92
_TOO_LARGE = 100
_TLS_CODES = frozenset({35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
_DROPPED_CODES = frozenset(
    {_WEIRD_SERVER_REPLY, _GOT_NOTHING, _SEND_ERROR, _RECV_ERROR, _HTTP2, _HTTP2_STREAM}
)

# What libcurl says when its error buffer is empty (curl_easy_strerror's text).
_TEXTS = {
    _WEIRD_SERVER_REPLY: "weird server reply",
    _GOT_NOTHING: "server returned nothing (no headers, no data)",
    _RECV_ERROR: "failure when receiving data from the peer",
    _SEND_ERROR: "failed sending data to the peer",
    _TOO_LARGE: "response header too large",
}
_HOST_MISMATCH = ("subject name", "does not match target host")


@dataclass(frozen=True, slots=True)
class Failure:
    """What the network thread knows about a failed transfer.

    Attributes:
        code: The libcurl error code.
        message: libcurl's error text.
        os_errno: ``CURLINFO_OS_ERRNO`` (0 when none).
        connected: The connection (and TLS handshake) was established.
        deadline_passed: The operation's deadline had passed.
        received: Body bytes received in this attempt.
        expected: The Content-Length promised, if any.
    """

    code: int
    message: str
    os_errno: int = 0
    connected: bool = False
    deadline_passed: bool = False
    received: int = 0
    expected: int | None = None


def translate(failure: Failure, request: Request, deadline: float | None) -> OperationError:
    """Turn a libcurl failure into an httpops operation error (most specific first)."""
    method, url = request.method, request.url
    code, message = failure.code, failure.message or _TEXTS.get(failure.code, "")
    if not message:
        message = f"libcurl error {code}"
    if code == _OPERATION_TIMEDOUT:
        if failure.deadline_passed and deadline is not None:
            return DeadlineExceeded(method, url, f"not finished within the {deadline:g}s deadline")
        if not failure.connected:
            return ConnectTimeout(
                method, url, f"no connection within {request.connect_timeout:g}s (connect timeout)"
            )
        return ReadTimeout(method, url, f"no data for {request.read_timeout:g}s (read timeout)")
    if code == _TOO_MANY_REDIRECTS:
        return TooManyRedirects(method, url, f"more than {request.max_redirects} redirects")
    if code in (_COULDNT_RESOLVE_HOST, _COULDNT_RESOLVE_PROXY):
        return ResolveError(method, url, f"could not resolve host {urlsplit(url).hostname!r}")
    if code == _COULDNT_CONNECT:
        if failure.os_errno == errno.ECONNREFUSED or "refused" in message.lower():
            return ConnectError(method, url, "connection refused")
        if failure.os_errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return ConnectError(method, url, "host unreachable")
        return ConnectError(method, url, _short(message))
    if code in _TLS_CODES:
        detail = _short(message)
        if any(marker in message for marker in _HOST_MISMATCH):
            detail = f"hostname mismatch: {detail}"
        return TLSError(method, url, f"TLS failure: {detail}")
    if code == _PARTIAL_FILE:
        return ConnectionDropped(method, url, _incomplete(failure))
    if code == _BAD_CONTENT_ENCODING:
        return ConnectionDropped(method, url, f"body could not be decoded: {_short(message)}")
    if code == _TOO_LARGE:
        return ConnectError(method, url, f"header too large: {_short(message)}")
    if code in _DROPPED_CODES:
        if failure.expected is not None and failure.received < failure.expected:
            return ConnectionDropped(method, url, _incomplete(failure))
        return ConnectionDropped(method, url, f"connection dropped: {_short(message)}")
    if code == _UNSUPPORTED_PROTOCOL and "redirect" not in message.lower():
        # A redirect to a scheme other than http/https (REDIR_PROTOCOLS).
        return ConnectError(method, url, f"redirect refused: {_short(message)}")
    return ConnectError(method, url, _short(message))


def _incomplete(failure: Failure) -> str:
    if failure.expected is None:
        return "connection closed before the body was complete"
    more = max(failure.expected - failure.received, 0)
    return (
        "connection closed before the body was complete "
        f"(IncompleteRead({failure.received} bytes read, {more} more expected))"
    )


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
