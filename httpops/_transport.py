"""The transport interface: how a worker sends one request and reads its body.

Everything that knows a particular HTTP client library lives behind this
interface (today :mod:`httpops._requests_transport`), so another transport --
for example libcurl's multi interface through ``pycurl`` -- can be added
without touching the engine, the queue or the facade.

A transport is used only on worker threads, except :meth:`Stream.abort`,
which the engine may call from any thread to break a blocked read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ._redirects import RFC9110, RedirectPolicy
from ._response import Headers

if TYPE_CHECKING:
    from ._body import BodySource
    from ._config import Retry

__all__ = ["Request", "Stream", "Transport", "UploadProgress"]

#: ``(sent, total)`` reported while a request body is written.
UploadProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, fully resolved (no defaults left to apply).

    Attributes:
        method: HTTP method in capitals.
        url: Absolute http(s) URL, already validated.
        headers: Headers to send (merged from config, per-call and facade).
        params: Query parameters to append.
        body: Request body: bytes held in memory, a
            [`BodySource`][httpops._body.BodySource] to stream (a file on disk, a
            multipart form: ``length``, ``read(n)``, ``rewind()`` before each
            attempt, ``close()`` when the operation ends), or None.
        connect_timeout: Seconds to connect.
        read_timeout: Seconds without a byte before giving up.
        verify: True, False, or a CA bundle path.
        max_redirects: Redirects to follow.
        raise_for_status: Whether a final status >= 400 fails the operation
            (judged by :func:`httpops._transfer.fetch`, not by transports).
        redirects: How a redirect changes the method and body
            (:mod:`httpops._redirects`; every transport applies it).
        retry: The retry policy of this request (per call, else the
            config's; None: no retries). Applied by the fetch loop.
        proxies: Proxy URL by scheme (``{"http": ..., "https": ...}``)
            for this URL, the bypass list already applied; empty for a
            direct connection. None: the transport's own choice (the
            environment's, read once).
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    body: bytes | BodySource | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    verify: bool | str = True
    max_redirects: int = 10
    raise_for_status: bool = True
    redirects: RedirectPolicy = RFC9110
    retry: Retry | None = None
    proxies: Mapping[str, str] | None = None


class Stream(Protocol):
    """An open response whose body has not been read yet."""

    status: int
    reason: str
    headers: Headers
    url: str

    def read_chunk(self, size: int) -> bytes:
        """Return the next 1..size bytes of the (decoded) body, b"" at its end.

        Returns as soon as some data is available rather than waiting to fill
        ``size``, so a slow server still lets the worker check for cancel.

        Raises:
            OperationError: A transport failure, translated.
        """
        ...

    def close(self) -> None:
        """Release the connection (back to the pool if the body was read)."""
        ...

    def abort(self) -> None:
        """Break a blocked read from another thread; the connection is discarded.

        Thread-safety: any thread.
        """
        ...


class Transport(Protocol):
    """Sends requests. One instance per engine; may keep per-thread state."""

    def open(
        self,
        request: Request,
        on_upload: UploadProgress | None = None,
        canceled: Callable[[], bool] | None = None,
    ) -> Stream:
        """Send ``request`` and return once the response headers arrived.

        ``canceled`` is passed only to a transport that also has
        ``abort_open(thread_id)`` (breaking a request from another thread);
        it asks whether the operation was canceled, so a cancel that came
        before the request reached a connection is not lost.

        Raises:
            OperationError: A transport failure, translated (never a
                library-specific exception).
        """
        ...

    def abort_open(self, thread_id: int) -> None:
        """Break the request thread ``thread_id`` is waiting on inside :meth:`open`.

        Used by cancel and close while a worker waits for response headers.
        A connect still in progress may not be interruptible; then the
        worker's result is discarded when it returns.

        Thread-safety: any thread.
        """
        ...

    def close(self) -> None:
        """Release every connection this transport holds."""
        ...
