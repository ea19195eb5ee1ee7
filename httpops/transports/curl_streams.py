"""The blocking stream ``Transport`` of the curl transport, for worker jobs.

Downloads and images keep their worker-side logic (temporary file, hashes,
resume, verification, atomic rename) on the download pool on both
transports. On the curl transport their bytes move on the network thread:
:meth:`CurlStreams.open` hands a :class:`StreamTransfer` to the loop and
waits, on the worker, for the response headers; :meth:`CurlStream.read_chunk`
takes what the network thread buffered (the transfer pauses when the reader
falls behind).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING

from .._errors import Canceled, ConnectionDropped
from .._transport import Request, UploadProgress
from .curl_transfer import StreamTransfer

if TYPE_CHECKING:
    from .._download_sink import FileSink
    from .curl import NetworkLoop

__all__ = ["CurlStream", "CurlStreams"]


class CurlStreams:
    """The blocking stream ``Transport`` worker jobs use on the curl transport.

    ``open()`` hands a :class:`StreamTransfer` to the network thread and
    waits (on its worker) for the response headers; the returned stream's
    ``read_chunk`` takes the bytes the network thread buffered.

    Thread-safety: ``open`` on workers; ``abort_open`` and ``close`` any thread.
    """

    def __init__(self, loop: NetworkLoop) -> None:
        self._loop = loop
        # Guards _opening: the transfer (and its cancel check) each worker waits on.
        self._lock = threading.Lock()
        self._opening: dict[int, tuple[StreamTransfer, Callable[[], bool] | None]] = {}

    def open(
        self,
        request: Request,
        on_upload: UploadProgress | None = None,
        canceled: Callable[[], bool] | None = None,
    ) -> CurlStream:
        """Start ``request`` on the network thread; return once its headers are in.

        Raises:
            OperationError: The transfer failed before its headers (translated).
        """
        loop = self._loop
        transfer = StreamTransfer(request, loop.clock, loop.factory.cookies)
        transfer.request_resume = loop.resume
        ident = threading.get_ident()
        with self._lock:
            self._opening[ident] = (transfer, canceled)
        try:
            if canceled is not None and canceled():
                raise Canceled(request.method, request.url, "canceled by the caller")
            try:
                loop.send("stream", transfer)
            except RuntimeError:
                raise ConnectionDropped(
                    request.method, request.url, "the engine is closing"
                ) from None
            transfer.wait_ready(0.25, loop.alive)
        finally:
            with self._lock:
                self._opening.pop(ident, None)
        if transfer.error is not None and not transfer.headers_seen:
            raise transfer.error
        if not transfer.ready:
            raise ConnectionDropped(request.method, request.url, "the engine is closing")
        return CurlStream(transfer, loop)

    def abort_open(self, thread_id: int) -> None:
        """Break the open() ``thread_id`` waits in, if its operation was canceled.

        Thread-safety: any thread.
        """
        with self._lock:
            entry = self._opening.get(thread_id)
        if entry is None:
            return
        transfer, canceled = entry
        if canceled is None or canceled():
            self._loop.send("abort", transfer, start=False)

    @property
    def cookies(self) -> CookieJar:
        """The engine's cookie jar (``engine.cookies`` views it). Thread-safety: any thread."""
        return self._loop.factory.cookies

    def close(self) -> None:
        """Nothing to release: the network thread owns the connections."""


class CurlStream:
    """An open response whose body the network thread is receiving."""

    def __init__(self, transfer: StreamTransfer, loop: NetworkLoop) -> None:
        self._transfer = transfer
        self._loop = loop
        self.status = transfer.status
        self.reason = transfer.reason
        self.headers = transfer.headers
        self.url = transfer.url
        # The redirects followed before this response (curl_hops).
        self.history = tuple(transfer.history)

    def keep_encoding(self) -> None:
        """Deliver the body as sent: always so here (no decoding was asked for)."""

    def read_chunk(self, size: int) -> bytes:
        """Next 1..size body bytes as soon as any arrive; b"" at the end.

        Raises:
            OperationError: The transfer failed (translated).
        """
        transfer = self._transfer
        data = transfer.take(size, 0.25, self._loop.alive)
        if not data and not transfer.finished:
            request = transfer.request
            raise ConnectionDropped(request.method, request.url, "the engine is closing")
        return data

    def write_body(self, sink: FileSink, tick: Callable[[], None], every: float) -> None:
        """Let the network thread write the rest of the body into ``sink``; return at its end.

        The write callback appends to the sink's buffer and writes and hashes
        it a megabyte at a time (:class:`~httpops._download_sink.FileSink`);
        this worker only waits, calling ``tick()`` (cancel checks, progress)
        every ``every`` seconds. What is still buffered at the end is the
        caller's to :meth:`~httpops._download_sink.FileSink.flush`. Returns
        early, with ``sink.error`` set, when the sink refused bytes.

        Raises:
            OperationError: The transfer failed (translated), or from ``tick``.
        """
        transfer = self._transfer
        alive = self._loop.alive
        transfer.attach_sink(sink)
        try:
            while not transfer.wait_end(every, alive):
                if sink.error is not None:
                    return
                if not alive():
                    request = transfer.request
                    raise ConnectionDropped(request.method, request.url, "the engine is closing")
                tick()
        finally:
            transfer.detach_sink()  # before the caller touches the file again
        if sink.error is None and transfer.error is not None:
            raise transfer.error

    def close(self) -> None:
        """Stop the transfer if its body was not read to the end."""
        if not self._transfer.finished:
            self.abort()

    def abort(self) -> None:
        """Drop the transfer; a blocked read returns. Thread-safety: any thread."""
        self._loop.send("abort", self._transfer, start=False)
