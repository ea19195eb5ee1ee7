"""One TLS connection read and written by two threads, one OpenSSL call at a time.

An open WebSocket has a reader and a writer thread (see
:mod:`httpops._ws_session`). Over plain TCP they may use the socket at the
same time; over TLS they may not: an OpenSSL ``SSL`` object must not be used
by two threads at once, and CPython's :class:`ssl.SSLSocket` takes no lock
of its own (it releases the GIL inside ``SSL_read``/``SSL_write``). Both
calls share state -- the last I/O state that ``SSL_get_error`` reads among
it -- so a read racing a write now and then takes "no data yet" for an
unexpected EOF: the reader then reports "connection closed without a close
frame" on a healthy connection (seen about once in 12 runs of the
WebSocket tests under load).

:class:`TLSDuplex` stands in for the open :class:`ssl.SSLSocket`: the socket
is non-blocking, every ``recv``/``send`` is one non-blocking OpenSSL call
under a lock, and the waiting for the network happens *outside* the lock
(``poll`` on the file descriptor). So the two threads never meet inside
OpenSSL, and neither waits for the other longer than one such call. Each
wait still ends after :data:`~httpops._ws_connect.TICK` seconds with
:class:`TimeoutError`, as the timeout-mode socket it replaces did.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["TLSDuplex", "hang_up"]

_T = TypeVar("_T")


def hang_up(sock: socket.socket) -> None:
    """Shut ``sock`` down at the TCP level (both ways); any thread, never blocks.

    For an :class:`ssl.SSLSocket` this skips its own ``shutdown``, which
    also drops the ``SSL`` object under a thread that may be using it;
    the TCP shutdown alone makes that thread's next read see the end.
    """
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass  # already closed, or not connected yet


def _ready(fd: int, writable: bool, timeout: float) -> bool:
    """Wait up to ``timeout`` s for ``fd`` to be readable (or writable); False on timeout."""
    if hasattr(select, "poll"):  # no limit on the descriptor's number, unlike select()
        poller = select.poll()
        poller.register(fd, select.POLLOUT if writable else select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    readers, writers, _ = select.select(
        [] if writable else [fd], [fd] if writable else [], [], timeout
    )
    return bool(readers or writers)


class TLSDuplex:
    """An open TLS socket shared by a reader and a writer thread; see the module docstring.

    Args:
        sock: The connected, handshaken socket (made non-blocking here).
        tick: Seconds a ``recv`` or ``send`` waits before :class:`TimeoutError`.
    """

    def __init__(self, sock: ssl.SSLSocket, tick: float) -> None:
        sock.setblocking(False)
        self.target = sock
        self.tick = tick
        self._lock = threading.Lock()  # one OpenSSL call at a time

    def recv(self, size: int) -> bytes:
        """Up to ``size`` decrypted bytes; ``b""`` at the end of the stream.

        Thread-safety: one reader thread; concurrent with :meth:`send`.

        Raises:
            TimeoutError: Nothing arrived for ``tick`` seconds.
            OSError: The connection is broken.
        """
        return self._call(lambda: self.target.recv(size))

    def send(self, data: Any) -> int:
        """Write some of ``data`` (all of it but for a full send buffer); bytes taken.

        After a :class:`TimeoutError` the caller must retry with the same
        data (OpenSSL's rule for a write that wanted more room).

        Thread-safety: one writer at a time (``ws.lock``); concurrent with :meth:`recv`.

        Raises:
            TimeoutError: No room in the send buffer for ``tick`` seconds.
            OSError: The connection is broken.
        """
        return self._call(lambda: self.target.send(data))

    def _call(self, attempt: Callable[[], _T]) -> _T:
        """``attempt()`` under the lock; wait outside it until it can go on, up to ``tick``."""
        end = time.monotonic() + self.tick
        while True:
            with self._lock:
                try:
                    return attempt()
                except ssl.SSLWantReadError:
                    writable = False  # more bytes needed (a read; rarely a write)
                except ssl.SSLWantWriteError:
                    writable = True
                fd = self.target.fileno()
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            if fd < 0:
                raise ConnectionResetError("socket is closed")
            if not _ready(fd, writable, left):
                raise TimeoutError("timed out")

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return self.target.fileno()

    def gettimeout(self) -> float:
        """The wait of one ``recv``/``send`` (websocket-client asks before each read)."""
        return self.tick

    def settimeout(self, timeout: float | None) -> None:
        """Change the wait of one ``recv``/``send``; the socket stays non-blocking."""
        if timeout:
            self.tick = timeout

    def shutdown(self, how: int) -> None:
        """Shut the TCP connection down (any thread); see :func:`hang_up`."""
        hang_up(self.target)

    def __getattr__(self, name: str) -> Any:
        # Everything else (close, _closed, getpeercert, ...) is the socket's own.
        return getattr(self.target, name)
