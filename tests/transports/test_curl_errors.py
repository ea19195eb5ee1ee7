"""libcurl failures become the same errors (class, phrase, URL) as on the requests transport."""

from __future__ import annotations

import errno

import pytest

import httpops
from httpops._transport import Request
from httpops.transports.curl_errors import Failure, translate

URL = "http://127.0.0.1:9/x"
REQUEST = Request("GET", URL, connect_timeout=0.5, read_timeout=2.0, max_redirects=3)


@pytest.mark.parametrize(
    ("failure", "deadline", "kind", "text"),
    [
        (Failure(7, "Failed to connect", errno.ECONNREFUSED), None,
         httpops.ConnectError, f"connection error: GET {URL}: connection refused"),
        (Failure(7, "Failed to connect", errno.EHOSTUNREACH), None,
         httpops.ConnectError, f"connection error: GET {URL}: host unreachable"),
        (Failure(6, "Could not resolve host: nowhere"), None,
         httpops.ResolveError, f"resolve error: GET {URL}: could not resolve host '127.0.0.1'"),
        (Failure(28, "Connection timed out after 500 milliseconds"), None,
         httpops.ConnectTimeout,
         f"timeout: GET {URL}: no connection within 0.5s (connect timeout)"),
        (Failure(28, "stalled", connected=True), None,
         httpops.ReadTimeout, f"timeout: GET {URL}: no data for 2s (read timeout)"),
        (Failure(28, "Operation timed out", connected=True, deadline_passed=True), 1.5,
         httpops.DeadlineExceeded, f"timeout: GET {URL}: not finished within the 1.5s deadline"),
        (Failure(47, "Maximum (3) redirects followed"), None,
         httpops.TooManyRedirects, f"redirect error: GET {URL}: more than 3 redirects"),
        (Failure(18, "transfer closed", received=10, expected=100), None,
         httpops.ConnectionDropped,
         f"connection error: GET {URL}: connection closed before the body was complete "
         "(IncompleteRead(10 bytes read, 90 more expected))"),
        (Failure(60, "SSL certificate problem: certificate has expired"), None,
         httpops.TLSError,
         f"connection error: GET {URL}: TLS failure: SSL certificate problem: "
         "certificate has expired"),
        (Failure(56, ""), None, httpops.ConnectionDropped,
         f"connection error: GET {URL}: connection dropped: "
         "failure when receiving data from the peer"),
    ],
)  # fmt: skip
def test_translation(
    failure: Failure, deadline: float | None, kind: type[Exception], text: str
) -> None:
    error = translate(failure, REQUEST, deadline)
    assert type(error) is kind
    assert str(error) == text


def test_a_host_mismatch_says_so() -> None:
    failure = Failure(60, "SSL: no alternative certificate subject name matches target host name")
    assert "TLS failure: hostname mismatch: " in str(translate(failure, REQUEST, None))
