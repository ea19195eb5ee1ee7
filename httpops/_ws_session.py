"""WebSocket session: the threads that own one socket, from connect to the last close.

Theory of operation
-------------------
Each socket has one *session* with two named threads:

* the **reader**, ``httpops-ws-<id>``, owns the lifecycle: it connects
  (bounded by ``timeout``), reads frames, decodes text (UTF-8, and JSON in
  JSON mode) and puts events on the engine's queue; on a loss it follows the
  :class:`~httpops.Reconnect` policy (backoff sleeps wake early on close or
  cancel); at the end it completes the operation, which is the socket's one
  close event. Only the reader puts events, so they keep their order.
* the **writer**, ``httpops-ws-<id>-send``, one per connection, drains the
  bounded outbound queue that :meth:`Session.send` fills without blocking,
  sends keep-alive pings and judges their pongs, and sends our close frame
  after everything queued before it. Its half of the class is
  :class:`~httpops._ws_writer.Writer`.

When one side must stop the other it shuts the socket down (``abort``): a
thread blocked in ``recv`` or ``send`` then returns at once. The writer
leaves a note (``_conn_error``) saying why, so the reader reports "no pong
within 10s" rather than "connection dropped". Only the reader *closes* the
socket, and only once the writer has ended and no direct send is in flight:
a descriptor closed under another thread's call may already be the next
socket's. Over TLS the two threads take turns inside OpenSSL
(:mod:`httpops._ws_tls`).

Backpressure: the reader counts what it queued (messages and bytes), the
polling thread what it dispatched (:meth:`Session.note_delivered`). At
``ws_high_water`` undelivered messages or ``ws_high_water_bytes``
undelivered bytes, whichever comes first, the reader stops reading -- the
kernel's TCP buffers and then the server hold the rest -- and resumes when
the host has drained half of both. Nothing is dropped and memory stays
bounded (by the byte mark plus one message). While paused the pong judge is
suspended (an unread pong is not a dead peer; the wait for a pong is
extended by any pause), and so is the judge of a stalled write: a normal
peer blocked sending to us stops reading too. That clock starts again when
the reader resumes.

Once closing starts (``close()``, cancel, ``Engine.close()``) nobody will
see another message, so the reader stops waiting for the host and *drops*
incoming data messages instead of queueing them: a server that ignores our
close frame and floods cannot grow the queue, and the close still ends
within :data:`CLOSE_TIMEOUT`.

Messages written when a connection is lost are put back at the front of the
queue, so after a reconnect they are sent (possibly a second time).

Direct sends: a round trip through the writer thread costs a thread wake-up.
So when a connection is open over plain TCP, nothing is queued and nobody is
writing, :meth:`Session.send` writes a small frame itself with one
non-blocking ``send(MSG_DONTWAIT)``. If the kernel takes only part of it, the
rest is queued *with websocket-client's send lock still held*: the writer
writes the rest and releases the lock (a ``threading.Lock`` may be released
by another thread), so no ping or pong can slip into the middle of the frame.
The host never waits on the network either way.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _ws_writer
from ._errors import (
    JSONDecodeError,
    OperationError,
    ReadTimeout,
    TransportError,
)
from ._operation import State
from ._ws_connect import (
    OPCODE_CLOSE,
    OPCODE_PING,
    OPCODE_PONG,
    OPCODE_TEXT,
    AbortableWebSocket,
    ProtocolFault,
    frame_bytes,
    install_read_hook,
    is_direct_capable,
    new_socket,
    open_socket,
    translate,
    write_nowait,
)
from ._ws_events import WsError, WsMessage, WsOpen
from ._ws_frames import Reassembler, parse_close, read_frame
from ._ws_opening import proxy_options
from ._ws_policy import ControlBudget, PauseClock, Reconnect
from ._ws_writer import CLOSE_TIMEOUT, Outgoing, Writer

if TYPE_CHECKING:
    from ._engine import Engine
    from ._operation import Operation
    from ._ws_handle import WebSocket

__all__ = ["CLOSE_TIMEOUT", "Session"]

log = logging.getLogger("httpops")

#: Seconds a connection must stay open before a loss starts the reconnect count afresh.
STABLE_AFTER = 2.0
#: Close code and reason sent (and reported) when a socket is canceled.
CANCEL_CLOSE = (1001, "canceled")

#: Largest payload the host thread frames and writes itself (masking costs CPU per byte).
_DIRECT_MAX = 16 * 1024


def _decode_json(message: str | bytes) -> Any:
    """A JSON socket's message decoded; an empty (or whitespace-only) one is None.

    OTCv8 hands an empty message on a JSON socket to ``onMessage`` as ``nil``;
    deciding it here gives every listener the same message, not an error.

    Raises:
        ValueError: Not JSON.
    """
    if not message.strip():
        return None
    return json.loads(message)


class End(NamedTuple):
    """How one connection ended."""

    code: int
    reason: str
    error: OperationError | None = None
    by_us: bool = False


class Session(Writer):
    """The threads and queues of one WebSocket; see the module docstring.

    Args:
        engine: The owning engine (its queue, config and clock).
        url: ``ws://`` or ``wss://`` URL.
        options: Validated per-socket settings (timeout, json, headers ...).
    """

    def __init__(
        self,
        engine: Engine,
        url: str,
        *,
        timeout: float,
        json_mode: bool,
        headers: Mapping[str, str],
        subprotocols: Sequence[str] | None,
        reconnect: Reconnect | None,
        ping_interval: float | None,
        ping_timeout: float,
        idle_timeout: float | None = None,
    ) -> None:
        config = engine.config
        self.engine = engine
        self.url = url
        # Both set by open_websocket before start(): they need the registered operation.
        self.handle: WebSocket
        self.op: Operation
        self.timeout = timeout
        self.json_mode = json_mode
        self.headers = dict(headers)
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.reconnect = reconnect
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.idle_timeout = idle_timeout
        self.send_limit = config.ws_send_queue
        self.high_water = config.ws_high_water
        self.low_water = config.ws_high_water // 2
        self.high_water_bytes = config.ws_high_water_bytes
        self.low_water_bytes = config.ws_high_water_bytes // 2
        self.max_message = config.ws_max_message_bytes
        self.max_fragments = config.ws_max_fragments
        # Guards _outbox, _close_request, _close_sent, _stopping, _canceled, _ws,
        # _conn_over and _conn_error; _wake (on the same lock) wakes the writer.
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._outbox: deque[Outgoing] = deque()
        self._close_request: tuple[int, str] | None = None
        self._close_sent = False
        self._stopping = False
        self._canceled = False
        self._ws: AbortableWebSocket | None = None
        self._conn_over = False
        self._conn_error: OperationError | None = None
        self._direct: AbortableWebSocket | None = None  # open plain-TCP connection
        self._direct_busy = False  # a host thread is writing directly
        self._writer_busy = False  # the writer holds a message it took from _outbox
        self._writer_held = False  # the writer waits for a direct write to finish
        # Backpressure: _queued is written by the reader only, _delivered by the
        # polling thread only; _resume (its own lock) wakes a paused reader.
        self._queued = 0
        self._delivered = 0
        self._queued_bytes = 0
        self._delivered_bytes = 0
        self._dropped = 0  # data messages dropped while closing (reader only)
        self._pauses = PauseClock()  # when the reader was paused, for the writer's judgements
        self._resume = threading.Condition(threading.Lock())
        self._last_pong = 0.0  # written by the reader, read by the writer
        self._last_message = 0.0  # reader only: when the last data frame came
        self._pong: bytes | None = None  # newest unanswered ping's payload (under _lock)
        self._next_pong = 0.0  # writer only: no pong before this
        self._stop_event = threading.Event()  # cuts a reconnect backoff short
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None

    # -- the host side (any thread) ------------------------------------------------------

    def start(self, op_id: int) -> None:
        """Start the reader thread. Thread-safety: any thread, once."""
        self._reader = threading.Thread(target=self._run, name=f"httpops-ws-{op_id}", daemon=True)
        self._reader.start()

    def send(self, opcode: int, payload: bytes) -> bool:
        """Queue one message for the writer; False if the queue is full or closing.

        Thread-safety: any thread; never blocks on the network.
        """
        with self._lock:
            if self._stopping or len(self._outbox) >= self.send_limit:
                return False
            ws = self._direct
            if (
                ws is None or self._outbox or self._writer_busy or self._direct_busy
                or len(payload) > _DIRECT_MAX
            ):  # fmt: skip
                self._outbox.append(Outgoing(opcode, payload))
                self._wake.notify()
                return True
            self._direct_busy = True  # the writer takes nothing until we are done
        try:
            self._send_direct(ws, opcode, payload)
        finally:
            with self._lock:
                self._direct_busy = False
                if self._conn_over:  # the reader waits for us before it closes the socket
                    self._wake.notify_all()
                elif self._outbox or self._writer_held:
                    self._wake.notify()
        return True

    def _send_direct(self, ws: AbortableWebSocket, opcode: int, payload: bytes) -> None:
        """Write one frame without waiting; queue what the kernel did not take."""
        data = frame_bytes(opcode, payload)
        if not ws.lock.acquire(blocking=False):  # a ping or pong is going out: queue
            with self._lock:
                self._outbox.appendleft(Outgoing(opcode, payload))
            return
        try:
            sent = write_nowait(ws, data)
        except OSError:
            sent = -1  # broken: the reader will see it; keep the message for a reconnect
        if sent == len(data):
            ws.lock.release()
            return
        if sent <= 0:
            ws.lock.release()
            with self._lock:
                self._outbox.appendleft(Outgoing(opcode, payload))
            return
        with self._lock:  # the writer finishes the frame and releases ws.lock
            self._outbox.appendleft(Outgoing(opcode, payload, data[sent:]))

    def close(self, code: int, reason: str) -> bool:
        """Ask for a close handshake after what is queued; False if already closing.

        Thread-safety: any thread; never blocks on the network.
        """
        return self._stop(code, reason, canceled=False)

    def cancel(self) -> None:
        """The engine's cancel hook: close with 1001 and stop reconnecting.

        Thread-safety: any thread; quick and non-blocking.
        """
        self._stop(*CANCEL_CLOSE, canceled=True)

    def _stop(self, code: int, reason: str, *, canceled: bool) -> bool:
        with self._lock:
            if canceled:
                self._canceled = True
            if self._stopping:
                return False
            self._stopping = True
            self._close_request = (code, reason)
            ws = self._ws
            connecting = ws is not None and not ws.connected
            self._wake.notify_all()
        self._stop_event.set()
        with self._resume:
            self._resume.notify_all()
        if connecting and ws is not None:
            ws.abort()  # a handshake that nobody wants any more
        return True

    def note_delivered(self, size: int) -> None:
        """Count one received message of ``size`` bytes as dispatched; resume a paused reader.

        Thread-safety: the polling thread only.
        """
        self._delivered += 1
        self._delivered_bytes += size
        if self._pauses.paused and self._drained():
            with self._resume:
                self._resume.notify()

    def _full(self) -> bool:
        """At a high-water mark: messages or bytes waiting for the host."""
        return (
            self._queued - self._delivered >= self.high_water
            or self._queued_bytes - self._delivered_bytes >= self.high_water_bytes
        )

    def _drained(self) -> bool:
        """Back under both low-water marks."""
        return (
            self._queued - self._delivered <= self.low_water
            and self._queued_bytes - self._delivered_bytes <= self.low_water_bytes
        )

    @property
    def undelivered(self) -> int:
        """Received messages queued but not yet dispatched. Thread-safety: any thread."""
        return self._queued - self._delivered

    @property
    def undelivered_bytes(self) -> int:
        """Bytes of the received messages not yet dispatched. Thread-safety: any thread."""
        return self._queued_bytes - self._delivered_bytes

    @property
    def paused(self) -> bool:
        """Whether the reader stopped reading for backpressure. Thread-safety: any thread."""
        return self._pauses.paused

    def close_for_engine(self, deadline: float) -> None:
        """Engine.close(): close with a close frame, then join both threads by ``deadline``.

        Thread-safety: any thread except the session's own.
        """
        self.cancel()
        clock = self.engine.clock
        reader = self._reader
        if reader is not None:
            reader.join(max(0.0, min(deadline - clock(), _ws_writer.CLOSE_TIMEOUT)))
            if reader.is_alive():  # the server did not answer our close frame: hang up
                with self._lock:
                    ws = self._ws
                if ws is not None:
                    ws.abort()
                reader.join(max(0.0, deadline - clock()))
            if reader.is_alive():
                log.warning("close(): %s still blocked in connect()", reader.name)
        writer = self._writer
        if writer is not None:
            writer.join(max(0.0, deadline - clock()))

    # -- the reader thread: lifecycle ----------------------------------------------------

    def _run(self) -> None:
        try:
            self._lifecycle()
        except Exception as exc:  # a bug: end the socket with it, never lose it
            log.exception("internal error in WS %s", self.url)
            bug = OperationError("WS", self.url, f"internal error: {exc!r}")
            self._emit(WsError(self.handle, bug))
            self._finish(State.FAILED, bug, 1011, "")
        finally:
            self.engine._remove_resource(self)

    def _lifecycle(self) -> None:
        retries = 0
        opened = False
        while True:
            ws, error = self._connect()
            code, reason = 1006, ""
            if ws is not None:
                served_from = time.monotonic()
                end = self._serve(ws, reconnected=opened)
                # Only a connection that held resets the count: a server that accepts
                # and drops at once must not keep us reconnecting forever, undelayed.
                if time.monotonic() - served_from >= STABLE_AFTER:
                    retries = 0
                opened = True
                if end.by_us:
                    self._finish(State.DONE, None, end.code, end.reason)
                    return
                code, reason, error = end.code, end.reason, end.error
            with self._lock:
                request = self._close_request
            if request is not None:
                # The host asked for the end meanwhile: this loss is the close it wanted.
                self._finish(State.DONE, None, *request)
                return
            policy = self.reconnect
            again = (
                policy is not None and not self._stopping and policy.should_retry(retries, error)
            )
            if error is not None:
                self._emit(WsError(self.handle, error, reconnecting=again))
            if not again or policy is None:
                self._finish_after(error, code, reason)
                return
            delay = policy.delay(retries, random.random())
            retries += 1
            log.info("WS %s: reconnect attempt %d in %.2fs", self.url, retries, delay)
            if self._stop_event.wait(delay):
                self._finish_after(None, code, reason)
                return

    def _finish_after(self, error: OperationError | None, code: int, reason: str) -> None:
        """Complete after a loss: as asked by close() if it was, else with ``error``."""
        with self._lock:
            request = self._close_request
        if request is not None and error is None:
            self._finish(State.DONE, None, *request)
        elif error is not None:
            self._finish(State.FAILED, error, code, reason)
        else:
            self._finish(State.DONE, None, code, reason)

    def _finish(self, state: State, error: OperationError | None, code: int, reason: str) -> None:
        with self._lock:
            # The socket is over: send() refuses from now on instead of queueing forever.
            self._stopping = True
            self._outbox.clear()
        # A no-op if cancel() already claimed it: that completion is the close event.
        self.engine._complete(self.op, state, error=error, value=(code, reason))

    def _emit(self, event: WsOpen | WsMessage | WsError) -> None:
        self.engine.events.put(event)

    def _connect(self) -> tuple[AbortableWebSocket | None, OperationError | None]:
        ws = new_socket(self.url, self.engine.config.tls_verify)
        with self._lock:
            if self._stopping:
                return None, None
            self._ws = ws
        try:
            open_socket(
                ws, self.url, timeout=self.timeout, headers=self.headers,
                subprotocols=self.subprotocols, proxy=proxy_options(self.url, self.engine.proxies),
            )  # fmt: skip
        except Exception as exc:
            ws.shutdown()  # type: ignore[no-untyped-call]
            with self._lock:
                self._ws = None
                stopping = self._stopping
            return None, None if stopping else translate(
                exc, self.url, handshake=True, timeout=self.timeout
            )
        install_read_hook(ws, self._tick)
        return ws, None

    def _tick(self) -> None:
        """After each read, and each TICK without one: the idle timeout (reader thread).

        Raises:
            ProtocolFault: No message for ``idle_timeout`` seconds (close 1001).
        """
        idle = self.idle_timeout
        if idle is not None and time.monotonic() - self._last_message >= idle:
            error = ReadTimeout("WS", self.url, f"no message for {idle:g}s (idle_timeout)")
            raise ProtocolFault(1001, error)

    def _serve(self, ws: AbortableWebSocket, *, reconnected: bool) -> End:
        """Run one open connection to its end, with its writer thread."""
        with self._lock:
            self._conn_over = False
            self._conn_error = None
            self._close_sent = False
            self._pong = None
            stopping = self._stopping
        self._last_message = time.monotonic()
        if not stopping:
            self._emit(WsOpen(self.handle, reconnected, ws.getsubprotocol()))
        name = threading.current_thread().name
        writer = threading.Thread(
            target=self._write_loop, args=(ws,), name=f"{name}-send", daemon=True
        )
        self._writer = writer
        writer.start()
        if is_direct_capable(ws):
            with self._lock:
                self._direct = ws
        try:
            return self._read_loop(ws)
        finally:
            with self._lock:
                self._conn_over = True
                self._direct = self._ws = None
                self._wake.notify_all()
            ws.abort()  # unblocks a writer stuck in send
            writer.join()
            with self._lock:
                # A direct send in flight still uses the socket: closing it under
                # that send would hand its descriptor number to the next socket.
                self._wake.wait_for(lambda: not self._direct_busy, CLOSE_TIMEOUT)
            ws.shutdown()  # type: ignore[no-untyped-call]
            with self._lock:  # a frame begun on this connection starts over on the next
                self._outbox = deque(Outgoing(o.opcode, o.payload) for o in self._outbox)

    # -- the reader thread: frames -------------------------------------------------------

    def _read_loop(self, ws: AbortableWebSocket) -> End:
        buffer = ws.frame_buffer
        url, limit = self.url, self.max_message
        joiner = Reassembler(url, limit, self.max_fragments)
        control = ControlBudget(self._stop_event.wait)
        try:
            while True:
                if self._full() and not self._stopping:
                    self._wait_for_drain()
                    self._last_message = time.monotonic()  # waiting on the host is not idle
                frame = read_frame(buffer, url, limit)
                opcode = frame.opcode
                if opcode < OPCODE_CLOSE:  # text, binary, continuation
                    self._last_message = time.monotonic()
                    whole = joiner.add(frame)
                    if whole is not None:
                        self._deliver(*whole)
                elif opcode == OPCODE_PONG:
                    self._last_pong = time.monotonic()
                    control.spend()
                elif opcode == OPCODE_PING:
                    with self._lock:  # the writer answers, at most one per PONG_INTERVAL
                        self._pong = frame.data
                        self._wake.notify()
                    control.spend()
                else:
                    return self._closed_by_peer(ws, frame.data)
        except ProtocolFault as fault:
            self._send_close(ws, fault.code, "")
            return End(1006, "", fault.error)
        except Exception as exc:
            return self._lost(exc)

    def _deliver(self, opcode: int, data: bytes) -> None:
        if self._stopping:
            # Closing: the host will not see it, and queueing it unbounded is the flood's aim.
            self._dropped += 1
            if self._dropped == 1:
                log.debug("WS %s: closing; dropping data messages that still arrive", self.url)
            return
        message: Any = data
        if opcode == OPCODE_TEXT:
            try:
                message = data.decode("utf-8")  # strict: CPython's C decoder validates
            except UnicodeDecodeError:
                error = TransportError("WS", self.url, "protocol error: invalid UTF-8 in a text")
                raise ProtocolFault(1007, error) from None
        if self.json_mode:
            try:
                message = _decode_json(message)
            except ValueError as exc:
                text = message if isinstance(message, str) else data.decode("utf-8", "replace")
                self._queued += 1
                self._queued_bytes += len(data)
                bad = JSONDecodeError("WS", self.url, str(exc), text)
                self._emit(WsError(self.handle, bad, False, True, len(data)))
                return
        self._queued += 1
        self._queued_bytes += len(data)
        self.engine.events.put(WsMessage(self.handle, message, len(data)))

    def _wait_for_drain(self) -> None:
        """Stop reading until the host dispatched half of what is waiting (or we stop)."""
        self._pauses.pause(time.monotonic())
        try:
            with self._resume:
                # _drained() is re-checked under _resume: a notify before this wait is not lost.
                while not self._drained() and not self._stopping:
                    self._resume.wait(1.0)  # notified on drain and on stop; 1s: a safety net
        finally:
            self._pauses.resume(time.monotonic())
            with self._lock:  # a pong judgement the writer put off until now
                self._wake.notify_all()

    def _closed_by_peer(self, ws: AbortableWebSocket, data: bytes) -> End:
        code, reason = parse_close(data, self.url)  # ProtocolFault: answered 1002/1007
        with self._lock:
            ours = self._close_sent
            request = self._close_request
        if ours and request is not None:
            return End(code, reason, None, by_us=True)  # the server's answer to our close
        self._send_close(ws, 1000 if code in (1005, 1006, 1015) else code, "")
        return End(code, reason, None, by_us=self._stopping)

    def _lost(self, exc: Exception) -> End:
        with self._lock:
            noted = self._conn_error
            request = self._close_request
        if request is not None:
            # The host asked for the end (our close frame may be out, unanswered in
            # time): a connection lost now is the close it wanted, not an error.
            return End(*request, None, by_us=True)
        if noted is not None:
            return End(1006, "", noted)
        return End(1006, "", translate(exc, self.url, handshake=False, timeout=self.timeout))
