"""The one exception hierarchy of httpops.

Two families, never mixed: *usage* errors are raised at the call, in the
caller's thread, because the caller did something wrong; *operation* errors
are values delivered with a finished operation (``op.error``) because the
network or the peer did something wrong. Operation errors are only raised
when the caller asks for the result (``op.result()``).

::

    HttpopsError
    ├── UsageError                  raised at the call
    │   ├── InvalidArgument         (also ValueError) bad URL, timeout, path, JSON ...
    │   │   └── InvalidURL          malformed URL or unsupported scheme
    │   ├── InvalidCallback         (also TypeError) a callback that is not callable
    │   ├── EngineClosed            (also RuntimeError) the engine was closed
    │   ├── ReentrantPollError      (also RuntimeError) poll()/wait() inside a callback
    │   └── WaitTimeout             (also TimeoutError) wait()/result() ran out of time
    └── OperationError              delivered as ``op.error``; ``str()`` starts with a
        │                           stable phrase that ported OTClient scripts match
        ├── Canceled                "canceled"  (also concurrent.futures.CancelledError)
        ├── TransportError          the connection failed
        │   ├── ResolveError        "resolve error"     DNS lookup failed
        │   ├── ConnectError        "connection error"  refused, reset, unreachable
        │   │   ├── TLSError        "connection error"  certificate or handshake failure
        │   │   └── ConnectionDropped "connection error"  closed mid-response
        │   ├── TimeoutError_       "timeout"           (also builtin TimeoutError)
        │   │   ├── ConnectTimeout
        │   │   ├── ReadTimeout     no byte arrived within the stall timeout
        │   │   └── DeadlineExceeded  the whole operation took too long
        │   └── TooManyRedirects    "redirect error"
        ├── HTTPStatusError         "Invalid http status code (N)"; ``.response`` kept
        ├── BodyTooLarge            "body too large"
        ├── JSONDecodeError         "JSON ERROR: ..." with the first 100 characters
        └── VerificationError       "verification error"  a download failed its check
            ├── ChecksumMismatch    the SHA-256 is not the expected one
            └── InvalidImage        the body is not a PNG/JPEG/GIF/WebP/BMP image

Every operation error carries ``method`` and ``url`` and its message names
them, e.g. ``connection error: GET http://127.0.0.1:9/x: connection refused``.

Two timeouts, told apart by ``except`` without subtlety: ``WaitTimeout`` (a
builtin ``TimeoutError``, as ``concurrent.futures`` raises from
``result(timeout)``) means *your wait* ran out and the operation goes on;
``OperationTimeout`` (not a builtin ``TimeoutError``) means *the operation*
failed because the network was too slow. The old name ``TimeoutError_`` is
a deprecated alias of ``OperationTimeout`` for one release.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._response import Response

__all__ = [
    "BodyTooLarge",
    "Canceled",
    "ChecksumMismatch",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionDropped",
    "DeadlineExceeded",
    "EngineClosed",
    "HTTPStatusError",
    "HttpopsError",
    "InvalidArgument",
    "InvalidCallback",
    "InvalidImage",
    "InvalidURL",
    "JSONDecodeError",
    "OperationError",
    "OperationTimeout",
    "ReadTimeout",
    "ReentrantPollError",
    "ResolveError",
    "TLSError",
    "TooManyRedirects",
    "TransportError",
    "UsageError",
    "VerificationError",
    "WaitTimeout",
]


class HttpopsError(Exception):
    """Base of every exception httpops raises or delivers."""


# --- usage errors: raised at the call -------------------------------------------------


class UsageError(HttpopsError):
    """The caller used the API wrongly; raised at the call, in the caller's thread."""


class InvalidArgument(UsageError, ValueError):
    """An argument has a bad value (the message names it and the value)."""


class InvalidURL(InvalidArgument):
    """The URL is malformed or its scheme is not supported."""


class InvalidCallback(UsageError, TypeError):
    """A callback or listener is not callable."""


class EngineClosed(UsageError, RuntimeError):
    """The engine was closed; it accepts no new work."""


class ReentrantPollError(UsageError, RuntimeError):
    """``poll()`` or ``wait()`` was called from inside a callback."""


class WaitTimeout(UsageError, builtins.TimeoutError):
    """``wait()`` or ``result()`` ran out of time before the operation finished."""


# --- operation errors: delivered with the operation -----------------------------------


class OperationError(HttpopsError):
    """A failure of one operation, delivered as ``op.error``.

    Attributes:
        method: The HTTP method (``"GET"``, ``"WS"`` ...).
        url: The URL the operation was for.
        detail: What happened, in a few words.
        response: The response, when one arrived (HTTP status errors, invalid
            JSON), else None.
        status: The HTTP status of that response, else None.
    """

    #: Stable first words of the message; OTClient scripts match on them.
    phrase = "error"
    #: The response, when one arrived (HTTP status errors, invalid JSON).
    response: Response | None = None

    def __init__(self, method: str, url: str, detail: str) -> None:
        self.method = method
        self.url = url
        self.detail = detail
        super().__init__(f"{self.phrase}: {method} {url}: {detail}")

    @property
    def status(self) -> int | None:
        """The HTTP status of the response that came with the failure (None: none came)."""
        return None if self.response is None else self.response.status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.detail))


class Canceled(OperationError, concurrent.futures.CancelledError):
    """The operation was canceled (by ``cancel()`` or ``Engine.close()``).

    Also a ``concurrent.futures.CancelledError``, what ``Future.result()``
    raises for a canceled future (never asyncio's ``CancelledError``, which
    would look like the awaiting task itself was canceled).
    """

    phrase = "canceled"


class TransportError(OperationError):
    """The connection could not be made or did not hold."""

    phrase = "connection error"


class ResolveError(TransportError):
    """The host name could not be resolved."""

    phrase = "resolve error"


class ConnectError(TransportError):
    """The connection was refused, reset or the host is unreachable."""


class TLSError(ConnectError):
    """The TLS handshake failed, most often an untrusted certificate."""


class ConnectionDropped(ConnectError):
    """The peer closed the connection before the response was complete."""


class OperationTimeout(TransportError):
    """The operation ran out of time: connect, stall or deadline.

    Deliberately not a builtin ``TimeoutError``: ``except TimeoutError``
    around ``op.result(timeout)`` catches only `WaitTimeout` (the wait
    ran out, the operation goes on), never a network timeout.
    """

    phrase = "timeout"


class ConnectTimeout(OperationTimeout):
    """The connection was not established within the connect timeout."""


class ReadTimeout(OperationTimeout):
    """No data arrived within the stall (read) timeout."""


class DeadlineExceeded(OperationTimeout):
    """The whole operation took longer than its deadline."""


class TooManyRedirects(TransportError):
    """The redirect limit was reached."""

    phrase = "redirect error"


class BodyTooLarge(OperationError):
    """The body is larger than the configured limit."""

    phrase = "body too large"


class HTTPStatusError(OperationError):
    """The server answered with a status >= 400; the response stays available."""

    def __init__(
        self, method: str, url: str, status: int, response: Response | None = None
    ) -> None:
        self._status = status
        self.response = response
        self.phrase = f"Invalid http status code ({status})"
        super().__init__(method, url, f"HTTP {status}")

    @property
    def status(self) -> int:
        """The HTTP status code (kept when pickled, unlike the response)."""
        return self._status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.status))


class JSONDecodeError(OperationError):
    """The body (or a WebSocket message) is not valid JSON.

    ``str()`` starts with ``JSON ERROR:`` and quotes the first 100 characters.
    """

    phrase = "JSON ERROR"

    def __init__(self, method: str, url: str, detail: str, snippet: str) -> None:
        self.reason = detail
        self.snippet = snippet[:100]
        super().__init__(method, url, f"{detail}; body starts {self.snippet!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.method, self.url, self.reason, self.snippet))


class VerificationError(OperationError):
    """A download arrived whole but failed verification; nothing was kept."""

    phrase = "verification error"


class ChecksumMismatch(VerificationError):
    """The downloaded bytes do not have the SHA-256 the caller expected."""


class InvalidImage(VerificationError):
    """An image download's body is not an image (e.g. an HTML error page)."""


# --- deprecated names, kept for one release ---------------------------------------------

#: Old name -> new name. Reached through the module ``__getattr__`` so that
#: using an old name warns (DeprecationWarning) once per use site.
DEPRECATED_NAMES = {"TimeoutError_": "OperationTimeout"}


def deprecated_name(module: str, name: str) -> Any:
    """The object behind a deprecated ``name`` of ``module``, with a DeprecationWarning.

    Raises:
        AttributeError: ``name`` is not a deprecated name either.
    """
    new = DEPRECATED_NAMES.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"httpops.{name} is deprecated and goes away in the next release; use httpops.{new}",
        DeprecationWarning,
        stacklevel=3,
    )
    return globals()[new]


if TYPE_CHECKING:
    from typing_extensions import deprecated

    @deprecated("httpops.TimeoutError_ is deprecated; use httpops.OperationTimeout")
    class TimeoutError_(OperationTimeout):  # the old name, for type checkers only
        """Deprecated alias of `OperationTimeout`."""

else:

    def __getattr__(name: str) -> Any:
        return deprecated_name(__name__, name)
