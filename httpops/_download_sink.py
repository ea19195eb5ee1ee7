"""A download's body written by the thread that receives it: the ``.part`` file through a buffer.

A transport whose stream can write a body itself (the curl transport: its
network thread, in libcurl's write callback) is handed a :class:`FileSink`
instead of being read chunk by chunk (:func:`httpops._transfer.pump`). The
download job has already done everything that touches names on disk on its
worker -- the temporary file is opened by :class:`~httpops._safe_files.SafeDir`
(``O_NOFOLLOW``, ``O_EXCL``, ``fstat`` checks) -- and the sink only writes
to that open file object, so a link planted or swapped at the name later
redirects nothing. Verification, commit and the atomic rename stay on the
worker.

Per call of :meth:`FileSink.add` the Python work is small (two comparisons,
a counter, a copy into the buffer): libcurl hands over at most 16 KiB at a
time. Once the buffer holds ``FLUSH_BYTES`` it is written and hashed in one
go -- ``write()``, the CRC32 (:mod:`httpops._crc`) and ``hashlib`` release
the GIL for such a buffer, so the host's frame runs meanwhile.

Thread-safety: :meth:`add` and :meth:`flush_quietly` on the receiving
thread, under the stream's lock; :meth:`flush` on the worker once the
receiving thread has let go of the sink (the transfer ended or the sink was
detached). ``received``, ``written`` and ``error`` may be read from any
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ._errors import OperationError
from ._resume import Hashes
from ._transfer import body_over_limit
from ._transport import Request
from ._worker import TaskContext

__all__ = ["FLUSH_BYTES", "FileSink"]

# Bytes gathered before one write + hash (the GIL is released for both).
FLUSH_BYTES = 1024 * 1024


class FileSink:
    """The open temporary file of one download attempt, its hashes and its limits.

    Args:
        file: The temporary file, opened by the download job (positioned at
            ``received``).
        hashes: CRC32/SHA-256 of the bytes in the file so far.
        ctx: The task's context: body bytes count for the low-speed rule.
        request: For error messages.
        received: Bytes of the body already in the file (a resumed download).
        limit: Most bytes the whole body may have (None: no limit).
        end: Where the body must stop (a 206's range end), else None.
        overrun: Builds the error for a body running past ``end``.
    """

    def __init__(
        self,
        file: BinaryIO,
        hashes: Hashes,
        ctx: TaskContext,
        request: Request,
        *,
        received: int,
        limit: int | None,
        end: int | None,
        overrun: Callable[[int, int], OperationError],
    ) -> None:
        self.file = file
        self.hashes = hashes
        self.ctx = ctx
        self.request = request
        self.received = received
        self.limit = limit
        self.end = end
        self._overrun = overrun
        self._buffer = bytearray()
        # Why the sink refused more bytes: a limit (OperationError) or the
        # file system (OSError). Set on the receiving thread, read by the worker.
        self.error: OperationError | OSError | None = None

    def add(self, data: bytes) -> bool:
        """Keep ``data``; False (``error`` set) when the transfer must stop.

        The limits are checked before the bytes are kept, as
        :func:`~httpops._transfer.pump` does: the size limit first, then the
        end a 206 declared.
        """
        if self.error is not None:
            return False
        received = self.received + len(data)
        limit = self.limit
        if limit is not None and received > limit:
            self.error = body_over_limit(self.request, limit)
            return False
        if self.end is not None and received > self.end:
            self.error = self._overrun(self.end, received)
            return False
        self.received = received
        self.ctx.moved += len(data)  # the low-speed rule's measure (the watchdog reads it)
        buffer = self._buffer
        buffer += data
        if len(buffer) >= FLUSH_BYTES:
            self._buffer = bytearray()
            try:
                self._write(buffer)
            except OSError as exc:
                self.error = exc
                return False
        return True

    @property
    def written(self) -> int:
        """Bytes of the body in the file (what progress reports): ``received`` less the buffer."""
        return self.hashes.length

    def flush(self) -> None:
        """Write and hash what is still buffered.

        The receiving thread's tick calls it for a trickle, so the file never
        lags far behind what arrived; the worker calls it once the transfer
        let go of the sink.

        Raises:
            OSError: The file system refused.
        """
        if self._buffer:
            buffer, self._buffer = self._buffer, bytearray()
            self._write(buffer)

    def flush_quietly(self) -> None:
        """:meth:`flush`, a failure kept in ``error`` (the next ``add`` stops the transfer)."""
        if self.error is None:
            try:
                self.flush()
            except OSError as exc:
                self.error = exc

    def _write(self, buffer: bytearray) -> None:
        self.file.write(buffer)
        self.hashes.update(buffer)
