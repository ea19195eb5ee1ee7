"""The writer thread of a WebSocket session, and the frames it writes.

Part of :class:`~httpops._ws_session.Session` (a mixin: the state it uses
lives on the session; see that module's docstring for the threads).

The writer, ``httpops-ws-<id>-send``, one per connection, writes the
outbound queue in order, keep-alive pings, pongs, and our close frame after
everything queued before it. It writes frames itself
(:func:`~httpops._ws_connect.write_all`) with the socket in timeout mode, so
a write that makes no progress comes back every tick to :meth:`Writer._stalled`:
a peer that reads nothing cannot get our pings either, and is judged dead
on the write's own clock after ``ping_interval + ping_timeout``.

Pongs are the newest ping's, at most one per :data:`PONG_INTERVAL`: a ping
flood costs this thread no more than that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, NamedTuple

from ._errors import OperationError, ReadTimeout
from ._ws_connect import (
    OPCODE_CLOSE,
    OPCODE_PING,
    OPCODE_PONG,
    AbortableWebSocket,
    close_payload,
    frame_bytes,
    translate,
    write_all,
)
from ._ws_policy import DEAD, PING, PauseClock, PingClock

__all__ = ["CLOSE_TIMEOUT", "PONG_INTERVAL", "Outgoing", "PeerStalled", "Pong", "Writer"]

log = logging.getLogger("httpops")

#: Seconds to wait for the server's close frame after sending ours.
CLOSE_TIMEOUT = 3.0
#: Shortest time between two pongs (the newest ping is answered; RFC 6455 5.5.3).
PONG_INTERVAL = 0.1
_CLOSE = object()  # writer job: send our close frame


class Outgoing(NamedTuple):
    """A queued message; ``rest`` is the unwritten tail of a frame started directly."""

    opcode: int
    payload: bytes
    rest: bytes | None = None


class Pong(NamedTuple):
    """Writer job: answer the newest ping with its payload."""

    data: bytes


class PeerStalled(Exception):
    """A write made no progress for too long; ``error`` says why we give up."""

    def __init__(self, error: OperationError) -> None:
        super().__init__(str(error))
        self.error = error


class Writer:
    """The writer-thread half of a session (mixed into :class:`~httpops._ws_session.Session`)."""

    # Provided by Session.__init__.
    url: str
    ping_interval: float | None
    ping_timeout: float
    _lock: threading.Lock
    _wake: threading.Condition
    _outbox: deque[Outgoing]
    _close_request: tuple[int, str] | None
    _close_sent: bool
    _stopping: bool
    _conn_over: bool
    _conn_error: OperationError | None
    _direct_busy: bool
    _writer_busy: bool
    _writer_held: bool
    _pauses: PauseClock
    _last_pong: float
    _pong: bytes | None
    _next_pong: float

    def _write_loop(self, ws: AbortableWebSocket) -> None:
        job: Any = None
        pinger = PingClock(self.ping_interval, self.ping_timeout)
        try:
            while True:
                job = self._next_job(pinger)
                if job is None:
                    return
                if job is _CLOSE:
                    self._write_close(ws)
                    return
                if job is PING:
                    self._write_control(ws, OPCODE_PING, b"")
                elif isinstance(job, Pong):
                    self._write_control(ws, OPCODE_PONG, job.data)
                elif job is DEAD:
                    detail = f"no pong within {self.ping_timeout:g}s"
                    self._abort_with(ws, ReadTimeout("WS", self.url, detail))
                    return
                else:
                    self._write_message(ws, job)
                job = None
        except Exception as exc:
            with self._lock:
                self._writer_busy = False
                if isinstance(job, Outgoing):
                    # Not known to have arrived: send it again (whole) after a reconnect.
                    self._outbox.appendleft(Outgoing(job.opcode, job.payload))
            if not self._conn_over:
                error = exc.error if isinstance(exc, PeerStalled) else None
                self._abort_with(ws, error or translate(exc, self.url, handshake=False, timeout=0))

    def _stalled(self, seconds: float) -> None:
        """A write made no progress for ``seconds``: give up when the peer counts as dead.

        A peer that reads nothing cannot get our pings either, so the judge is
        the write's own clock: ``ping_interval + ping_timeout`` without a byte
        taken is a dead peer. Closing, :data:`CLOSE_TIMEOUT` is enough.

        Not while our reader is paused for backpressure (and we are not
        closing): a normal peer blocked sending to us stops reading, so the
        stall is ours. The clock starts again when the reader resumes, which
        gives the peer the time to catch up.

        Raises:
            PeerStalled: Give up on this connection.
        """
        if self._conn_over:
            raise ConnectionResetError("the connection is over")
        if self._stopping and seconds >= CLOSE_TIMEOUT:
            raise PeerStalled(ReadTimeout("WS", self.url, f"peer read nothing for {seconds:.1f}s"))
        pauses = self._pauses
        if pauses.paused and not self._stopping:
            return
        seconds = min(seconds, time.monotonic() - pauses.resumed_at)
        if self.ping_interval is not None and seconds >= self.ping_interval + self.ping_timeout:
            detail = f"peer read nothing and sent no pong for {seconds:.1f}s"
            raise PeerStalled(ReadTimeout("WS", self.url, detail))

    def _write_control(self, ws: AbortableWebSocket, opcode: int, payload: bytes) -> None:
        data = frame_bytes(opcode, payload)
        with ws.lock:
            write_all(ws, data, self._stalled)

    def _write_message(self, ws: AbortableWebSocket, job: Outgoing) -> None:
        if job.rest is None:
            data = frame_bytes(job.opcode, job.payload)
            with ws.lock:
                write_all(ws, data, self._stalled)
        else:
            try:  # the tail of a direct write; its sender left ws.lock held for us
                write_all(ws, job.rest, self._stalled)
            finally:
                ws.lock.release()
        with self._lock:
            self._writer_busy = False

    def _next_job(self, pinger: PingClock) -> Any:
        """Wait for the next thing to write; None when the connection is over."""
        with self._lock:
            while True:
                if self._conn_over:
                    return None
                if self._direct_busy:
                    # A host thread holds ws.lock: a ping now could wait on a lock
                    # that only we may release (after a partial direct write).
                    self._writer_held = True
                    self._wake.wait()
                    self._writer_held = False
                    continue
                if self._outbox and self._outbox[0].rest is not None:
                    self._writer_busy = True  # finish the frame begun: we hold its lock
                    return self._outbox.popleft()
                now = time.monotonic()
                pong, pong_wait = self._due_pong(now)
                if pong is not None:
                    return pong
                if self._outbox and not self._close_sent:
                    self._writer_busy = True
                    return self._outbox.popleft()
                if self._close_sent:
                    return None
                if self._close_request is not None and not self._outbox:
                    self._close_sent = True
                    return _CLOSE
                job, wait = pinger.check(now, self._last_pong, self._pauses)
                if job is not None:
                    return job
                if pong_wait is not None:
                    wait = pong_wait if wait is None else min(wait, pong_wait)
                self._wake.wait(wait)

    def _due_pong(self, now: float) -> tuple[Pong | None, float | None]:
        """The pong to send now, or how long until one may go (with ``_lock`` held).

        At most one pong per :data:`PONG_INTERVAL`, answering the newest ping
        (RFC 6455 5.5.3 allows that): a ping flood costs us no more than that.
        """
        data = self._pong
        if data is None or self._close_sent:
            return None, None
        if now < self._next_pong:
            return None, self._next_pong - now
        self._pong = None
        self._next_pong = now + PONG_INTERVAL
        return Pong(data), None

    def _write_close(self, ws: AbortableWebSocket) -> None:
        with self._lock:
            code, reason = self._close_request or (1000, "")
        self._write_control(ws, OPCODE_CLOSE, close_payload(code, reason))
        with self._lock:
            answered = self._wake.wait_for(lambda: self._conn_over, CLOSE_TIMEOUT)
        if not answered:
            ws.abort()

    def _abort_with(self, ws: AbortableWebSocket, error: OperationError) -> None:
        with self._lock:
            if self._conn_error is None:
                self._conn_error = error
        ws.abort()

    def _send_close(self, ws: AbortableWebSocket, code: int, reason: str) -> None:
        """The reader's close frame (an answer, or a protocol fault); bounded in time."""
        with self._lock:
            if self._close_sent:
                return
            self._close_sent = True
            self._wake.notify_all()  # the writer stops taking jobs
        data = frame_bytes(OPCODE_CLOSE, close_payload(code, reason))

        def stalled(seconds: float) -> None:
            if seconds >= CLOSE_TIMEOUT:
                raise TimeoutError("close frame not taken")

        # The writer may hold the lock in a stalled write: wait for it, but not forever.
        if not ws.lock.acquire(timeout=CLOSE_TIMEOUT):
            log.debug("WS %s: close frame not sent (a write is stuck)", self.url)
            return
        try:
            write_all(ws, data, stalled)
        except Exception:
            log.debug("WS %s: close frame not sent", self.url, exc_info=True)
        finally:
            ws.lock.release()
