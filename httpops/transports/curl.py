"""The curl transport: one network thread driving libcurl's multi interface.

Theory of operation
-------------------
One thread, ``httpops-curl``, owns a ``pycurl.CurlMulti`` and every easy
handle. Other threads never touch libcurl: they append commands to a deque
and write a byte to a wake-up socketpair. Each pass of the loop::

    drain commands      fetch / stream / cancel / stop / abort / resume
    admit               move waiting transfers into the multi handle, larger
                        Job.priority first (FIFO within one)
    perform             curl_multi_perform (the GIL is released inside)
    finish a few        at most 8 completions; while more are queued the
                        next pass finishes those first
    (throughout)        after 0.5 ms of Python work in a row, yield the GIL
    timers              retries due, stall checks every 50 ms
    wait                poll() on libcurl's fdset + the wake-up socket

An in-memory fetch (GET/POST/JSON: a :class:`~httpops.transports.Job` with a
``fetch`` spec) lives entirely here: the body collects in the write callback
(the body limit is checked there, decoded bytes counted), and the operation
is completed through the engine's :meth:`Host.finish` -- the one claim that
makes completion exactly-once. The engine's watchdog (deadline, low-speed
rule) stops it through ``ctx.abort_open``, which sends the ``stop`` command.
A redirect is followed here, one transfer per hop
(:mod:`httpops.transports.curl_hops`). Retries wait on the loop's timer heap, never
in a sleeping thread. Downloads and images keep their worker-side logic
(temporary file, hashes, resume, verification, rename) on the download pool;
their bytes come from a :class:`StreamTransfer` this thread fills
(:mod:`httpops.transports.curl_streams`).

The active set is bounded high (libcurl waits for thousands of answers
cheaply) and fed at most ``_ADDS_PER_PASS`` new transfers per pass, so a
burst does not flood libcurl and a short request is never queued behind
long-polls that are merely waiting.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import select
import socket
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, cast

import pycurl

from .._errors import Canceled, OperationError
from .._worker import lower_thread_priority
from .curl_errors import Failure, translate
from .curl_fetch import FetchOutcomes
from .curl_transfer import (
    FetchTransfer,
    HandleFactory,
    StreamTransfer,
    Transfer,
    release_writer,
)
from .workers import WorkerTransport

if TYPE_CHECKING:
    from .._config import Config
    from .._operation import Operation
    from . import Host, Job

__all__ = ["CurlTransport", "NetworkLoop"]

log = logging.getLogger("httpops")

_ADDS_PER_PASS = 64  # new transfers handed to libcurl per pass
_DONE_PER_PASS = 8  # completions handled per pass; while more wait, no new work
# At most this many seconds of Python work (commands, admissions, completions)
# at a stretch, then the loop yields the GIL (time.sleep(_YIELD)). Measured
# (bench_frames' saturating load, GC off, one interleaved run): frame p99 10.40
# ms with 8 completions per yield and no other bound, 9.27 ms with this slice;
# real sleeps of 100-200 µs instead of 0 gave no better frames and cost 27-36%
# of the throughput (3,245-3,695 against 5,080 req/s).
_SLICE = 0.0005
_YIELD = 0.0
# Transfers in libcurl at once; the rest wait in our heap. None: from the
# open-file limit when the loop is made (see active_bound).
_MAX_ACTIVE: int | None = None
_FD_RESERVE = 256  # files left to the rest of the process
_MIN_ACTIVE = 64
_MAX_ACTIVE_CEILING = 65_536
_TICK = 0.05  # seconds between stall checks
_MAX_WAIT = 0.5  # longest sleep in poll(); close() wakes the loop anyway
_SPARE_HANDLES = 512  # easy handles kept for reuse (a new one costs a full setup)
_TIMEDOUT = 28  # CURLE_OPERATION_TIMEDOUT
_NEXT_HOP = float("inf")  # the priority of a redirect's next hop: before anything new
# Above this many sockets some may have numbers libcurl's fdset() cannot
# hold (FD_SETSIZE): sleep briefly, so those transfers still move.
_MANY_SOCKETS = 900


def active_bound() -> int:
    """How many transfers libcurl may hold at once: each needs a socket.

    The open-file limit less room for the rest of the process, so that a
    thousand long-polls never put a short GET in a queue, and requests beyond
    what the process can open wait their turn instead of failing with "Too
    many open files". Raise the limit (``ulimit -n``) for more.

    Thread-safety: any thread.
    """
    try:
        import resource
    except ImportError:  # not Unix
        return 10_000
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_ACTIVE_CEILING
    return max(_MIN_ACTIVE, min(soft - _FD_RESERVE, _MAX_ACTIVE_CEILING))


class CurlTransport:
    """The engine's transport when ``Config.transport`` is "curl".

    Fetches run on the network thread; other jobs (downloads, images) run on
    worker pools and read their bytes from the network thread through
    :attr:`streams`.
    """

    name = "curl"

    def __init__(self, host: Host, config: Config) -> None:
        from .curl_streams import CurlStreams

        self.loop = NetworkLoop(host, config)
        self.streams = CurlStreams(self.loop)
        self._workers = WorkerTransport(host, config)

    def submit(self, job: Job) -> None:
        """Start ``job`` (see the module docstring). Thread-safety: any thread."""
        if job.fetch is not None:
            self.loop.send_fetch(job)
        else:
            self._workers.submit(job)

    def cancel(self, op: Operation) -> None:
        """Remove the operation's transfer from libcurl now. Thread-safety: any thread."""
        self.loop.send("cancel", op.id, start=False)

    def close(self, deadline: float) -> list[threading.Thread]:
        """Join the workers (their bytes need the loop), then the network thread.

        Thread-safety: any thread except the transport's own.
        """
        stuck = self._workers.close(deadline)
        return stuck + self.loop.close(deadline)

    def threads(self) -> list[threading.Thread]:
        """Worker threads and the network thread. Thread-safety: any thread."""
        return self._workers.threads() + self.loop.threads()


class NetworkLoop(FetchOutcomes):
    """The network thread and everything it owns (see the module docstring)."""

    def __init__(self, host: Host, config: Config) -> None:
        # Weak: the download streams (and through them this loop) are kept by
        # things that must not keep the engine alive (the image service's
        # per-engine WeakKeyDictionary entry holds the engine's stream transport).
        self._host: Host = cast("Host", weakref.proxy(host))
        self._host_alive = weakref.ref(host)
        self._config = config
        self._clock = self.clock = host.clock
        self.factory = HandleFactory(config.tls_verify, config.http2, config.cookies)
        # Commands from any thread; deque append/popleft are atomic. A fetch is
        # its Job alone, every other command a (name, argument) pair: one object
        # fewer per request for the collector (see docs/game-loop.md).
        self._commands: collections.deque[tuple[str, Any] | Job] = collections.deque()
        self._wake_sent = False
        # True while the loop sleeps in poll(): only then does a command need a
        # wake-up byte. Each send() is a syscall that hands the GIL away, and
        # the host submitting 100 requests a frame must not do 100 of them.
        self._sleeping = False
        # Guards _thread, _closing and the socketpair's creation.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        # Network-thread state.
        self._multi: Any = None
        self._active: dict[Any, Transfer] = {}
        self._max_active = active_bound() if _MAX_ACTIVE is None else _MAX_ACTIVE
        # Transfers waiting for libcurl: (-priority, order, transfer), a heap, so a
        # larger Job.priority is admitted first and one priority stays FIFO.
        self._waiting: list[tuple[float, int, Transfer]] = []
        self._order = itertools.count()
        self._timers: list[tuple[float, int, FetchTransfer]] = []
        self._seq = itertools.count()
        self._by_op: dict[int, FetchTransfer] = {}
        self._spare: list[Any] = []
        self._next_tick = 0.0
        # One bound method for every fetch (an attribute read would make one each).
        self._stop_fetch = self._request_stop
        # When the current slice of Python work ends (see _pace).
        self._slice_end = 0.0

    # -- any thread -------------------------------------------------------------------

    def send(self, command: str, arg: Any, *, start: bool = True) -> None:
        """Queue a command for the network thread and wake it. Thread-safety: any."""
        if start:
            self._ensure_thread()
        elif self._thread is None:
            return  # nothing runs, so there is nothing to cancel
        self._commands.append((command, arg))
        self._wake()

    def send_fetch(self, job: Job) -> None:
        """Queue a fetch for the network thread and wake it. Thread-safety: any."""
        self._ensure_thread()
        self._commands.append(job)
        self._wake()

    def resume(self, transfer: StreamTransfer) -> None:
        """Un-pause a stream its reader drained. Thread-safety: any thread."""
        self.send("resume", transfer, start=False)

    def alive(self) -> bool:
        """Whether the network thread runs. Thread-safety: any thread."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._closing

    def threads(self) -> list[threading.Thread]:
        """The network thread, if started. Thread-safety: any thread."""
        return [] if self._thread is None else [self._thread]

    def _ensure_thread(self) -> None:
        thread = self._thread
        if thread is not None:
            if not thread.is_alive() and not self._closing:  # died of a bug (logged)
                raise RuntimeError("the httpops curl network thread stopped")
            return
        with self._lock:
            if self._closing:
                raise RuntimeError("the curl transport is closed")
            started: threading.Thread | None = self._thread  # another caller won the race
            if started is not None:
                return
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            thread = threading.Thread(target=self._run, name="httpops-curl", daemon=True)
            thread.start()  # RuntimeError here reaches submit(): the engine undoes it
            self._thread = thread

    def _wake(self, force: bool = False) -> None:
        # Read after the command was appended; the loop sets _sleeping before
        # it last looks at the commands, so no command is left unseen.
        if self._wake_sent or not (self._sleeping or force):
            return
        self._wake_sent = True
        wake = self._wake_w
        try:
            if wake is not None:
                wake.send(b"\0")
        except OSError:  # buffer full (it is awake anyway) or closed at shutdown
            pass

    def close(self, deadline: float) -> list[threading.Thread]:
        """Stop the thread (what is in flight ends canceled) and join it.

        Thread-safety: any thread except the network thread.
        """
        with self._lock:
            self._closing = True
            thread = self._thread
        if thread is None:
            return []
        self._wake_sent = False
        self._wake(force=True)
        thread.join(max(0.0, deadline - self._clock()))
        # The thread closes the wake-up sockets as it ends (also after a close()
        # that could not wait for it: an abandoned engine).
        return [thread] if thread.is_alive() else []

    # -- the network thread -------------------------------------------------------------

    def _run(self) -> None:
        lower_thread_priority(self._config.worker_niceness)
        self._multi = pycurl.CurlMulti()
        try:
            more = False
            while not self._closing and self._host_alive() is not None:
                self._drain_commands()
                if not more:  # completions are still queued: finish them first
                    self._admit()
                    self._perform()
                more = self._finish_some()
                self._run_timers()
                if not more:
                    self._wait()
        except ReferenceError:
            pass  # the engine was garbage-collected without close(): nobody to serve
        except Exception:
            log.exception("the httpops curl network thread failed")
        finally:
            try:
                self._shut_down()
            finally:
                for sock in (self._wake_r, self._wake_w):
                    if sock is not None:
                        sock.close()

    def _pace(self) -> None:
        """After a unit of Python work: yield the GIL once the loop held it a slice.

        Commands (100 fetches a frame from a busy host), admissions and
        completions are each bounded only by count; this bounds the time.
        """
        if time.perf_counter() >= self._slice_end:
            time.sleep(_YIELD)
            self._slice_end = time.perf_counter() + _SLICE

    def _drain_commands(self) -> None:
        if self._wake_sent:
            self._wake_sent = False  # first: a later command sends a fresh byte
            wake = self._wake_r
            try:
                while wake is not None and wake.recv(4096):
                    pass
            except OSError:  # drained (BlockingIOError)
                pass
        commands = self._commands
        while commands:
            command = commands.popleft()
            try:
                if isinstance(command, tuple):
                    name, arg = command
                    getattr(self, f"_on_{name}")(arg)
                else:
                    self._on_fetch(command)
            except Exception:  # a bug; the loop must go on for every other transfer
                log.exception("httpops curl: command %r failed", command)
            self._pace()

    def _on_fetch(self, job: Job) -> None:
        ctx = self._host.begin(job.op, job.deadline)
        if ctx is None or job.fetch is None:
            return  # canceled while queued, or the engine is closing
        transfer = FetchTransfer(
            job, job.fetch, ctx, self._clock, self.factory.cookies, self._config.max_json_bytes
        )
        # The transfer keeps what it needs of the spec; the operation's copy is for
        # the worker path only. Dropped, the spec (and the job) are freed now, not
        # promoted by the cyclic GC with a request in flight.
        job.op._fetch = None
        transfer.listening = ctx.wants_progress()
        # The watchdog (deadline, low-speed rule) breaks the transfer through this.
        # The transfer is its own abort hook: a bound method would be one more
        # object per request for the collector.
        transfer.request_stop = self._stop_fetch
        ctx.abort_open = transfer
        self._by_op[job.op.id] = transfer
        self._queue(transfer, job.priority)

    def _request_stop(self, op_id: int) -> None:
        """Ask the network thread to stop an operation's fetch. Thread-safety: any."""
        self.send("stop", op_id, start=False)

    def _on_stop(self, op_id: int) -> None:
        """The watchdog stopped the operation (deadline, low-speed rule): drop it now."""
        transfer = self._by_op.get(op_id)
        if transfer is None or transfer.op.cancel_requested:
            return  # finished meanwhile, or the cancel command completes it
        ctx = transfer.ctx
        try:
            ctx.check()
        except OperationError as exc:
            del self._by_op[op_id]
            self._drop(transfer)
            self._done(transfer, error=exc)

    def _on_stream(self, transfer: StreamTransfer) -> None:
        self._queue(transfer, 0)  # its download job was already admitted by priority

    def _queue(self, transfer: Transfer, priority: float) -> None:
        heapq.heappush(self._waiting, (-priority, next(self._order), transfer))

    def _on_cancel(self, op_id: int) -> None:
        transfer = self._by_op.pop(op_id, None)
        if transfer is not None:
            self._drop(transfer)
            op = transfer.op
            error = Canceled(op.method, op.url, "canceled by the caller")
            self._done(transfer, error=error)  # already claimed: bookkeeping

    def _on_abort(self, transfer: StreamTransfer) -> None:
        if transfer.finished:
            return
        self._drop(transfer)
        request = transfer.request
        transfer.end(Canceled(request.method, request.url, "canceled by the caller"))

    def _on_resume(self, transfer: StreamTransfer) -> None:
        curl = transfer.curl
        if curl is not None and curl in self._active:
            transfer.last_io = self._clock()
            curl.pause(pycurl.PAUSE_CONT)

    def _drop(self, transfer: Transfer) -> None:
        """Take a transfer out of libcurl now (any phase, TLS handshake included)."""
        transfer.dropped = True
        curl = transfer.curl
        if curl is not None and self._active.pop(curl, None) is not None:
            self._multi.remove_handle(curl)
            self._release(curl)
        transfer.curl = None

    def _admit(self) -> None:
        waiting, active = self._waiting, self._active
        added = 0
        while waiting and len(active) < self._max_active and added < _ADDS_PER_PASS:
            transfer = heapq.heappop(waiting)[2]
            if transfer.dropped:
                continue
            deadline_ms = None
            if isinstance(transfer, FetchTransfer):
                remaining = transfer.ctx.remaining()
                if remaining is not None:
                    if remaining <= 0:
                        self._fail_deadline(transfer)
                        continue
                    deadline_ms = int(remaining * 1000) + 1
            fresh = not self._spare
            curl = pycurl.Curl() if fresh else self._spare.pop()
            try:
                transfer.attach(curl, self.factory, deadline_ms, share=fresh)
                self._progress_options(curl, transfer)
                self._multi.add_handle(curl)
            except Exception as exc:  # an option refused (pycurl.error, encoding): fail it alone
                curl.close()
                self._refused(transfer, exc)
                continue
            active[curl] = transfer
            added += 1
            self._pace()

    def _refused(self, transfer: Transfer, exc: Exception) -> None:
        log.debug("libcurl refused %s %s", transfer.request.method, transfer.url, exc_info=True)
        if isinstance(exc, pycurl.error) and len(exc.args) == 2:
            failure = Failure(int(exc.args[0]), str(exc.args[1]))
        else:
            failure = Failure(0, f"request refused: {exc}")
        error = translate(failure, transfer.request, None)
        if isinstance(transfer, StreamTransfer):
            transfer.end(error)
        elif isinstance(transfer, FetchTransfer):
            self._done(transfer, error=error)

    @staticmethod
    def _progress_options(curl: Any, transfer: Transfer) -> None:
        if (
            isinstance(transfer, FetchTransfer)
            and transfer.hop.body is not None
            and (transfer.listening or transfer.ctx.rules.low_speed_limit is not None)
        ):
            curl.setopt(pycurl.NOPROGRESS, 0)
            curl.setopt(pycurl.XFERINFOFUNCTION, transfer.on_xfer)
        else:
            curl.setopt(pycurl.NOPROGRESS, 1)
        if isinstance(transfer, StreamTransfer):
            # Fewer write callbacks (each one takes the GIL) per MiB of a download.
            curl.setopt(pycurl.BUFFERSIZE, 1024 * 1024)

    def _release(self, curl: Any) -> None:
        release_writer(curl)
        if len(self._spare) < _SPARE_HANDLES:
            curl.reset()
            self._spare.append(curl)
        else:
            curl.close()

    def _perform(self) -> None:
        multi = self._multi
        while True:
            status, _running = multi.perform()
            if status != pycurl.E_CALL_MULTI_PERFORM:
                return

    def _finish_some(self) -> bool:
        """Handle at most ``_DONE_PER_PASS`` completions; True if more are waiting."""
        queued, ok, failed = self._multi.info_read(_DONE_PER_PASS)
        ended: list[tuple[Any, tuple[int, str] | None]] = [(curl, None) for curl in ok]
        ended += [(curl, (code, message)) for curl, code, message in failed]
        for curl, error in ended:
            transfer = self._active.get(curl)
            try:
                self._ended(curl, error)
            except Exception:  # a bug: fail this transfer alone, the loop goes on
                log.exception("httpops curl: finishing a transfer failed")
                if transfer is not None:
                    self._internal_error(transfer)
            self._pace()
        return bool(queued)

    def _internal_error(self, transfer: Transfer) -> None:
        request = transfer.request
        bug = OperationError(request.method, request.url, "internal error in the curl transport")
        if isinstance(transfer, StreamTransfer):
            transfer.end(bug)
        elif isinstance(transfer, FetchTransfer) and transfer.op.id in self._by_op:
            del self._by_op[transfer.op.id]
            self._done(transfer, error=bug)

    def _ended(self, curl: Any, error: tuple[int, str] | None) -> None:
        transfer = self._active.pop(curl, None)
        self._multi.remove_handle(curl)
        if transfer is None:
            self._release(curl)
            return
        if isinstance(transfer, FetchTransfer):
            transfer.take_head(ended=error is None)  # a body-less answer: judged now
        if transfer.redirect_to is not None and (error is None or transfer.redirect_cut):
            transfer.curl = None
            self._release(curl)
            self._follow(transfer)
            return
        failure = None if error is None else self._failure(curl, transfer, *error)
        if error is None and not transfer.status:  # no status line seen (libcurl has one)
            transfer.status = curl.getinfo(pycurl.RESPONSE_CODE) or transfer.status
        # The URL stays the hop's: libcurl follows no redirect (FOLLOWLOCATION off).
        transfer.curl = None
        self._release(curl)
        if isinstance(transfer, StreamTransfer):
            problem = None
            if failure is not None:
                problem = transfer.abort_error or translate(failure, transfer.request, None)
            transfer.end(problem)
        elif isinstance(transfer, FetchTransfer):
            self._fetch_ended(transfer, failure)

    def _follow(self, transfer: Transfer) -> None:
        """Start the next hop of a redirect (curl_hops), or fail the transfer."""
        try:
            transfer.follow()
        except OperationError as exc:
            if isinstance(transfer, StreamTransfer):
                transfer.end(exc)
            elif isinstance(transfer, FetchTransfer):
                self._fetch_ended(transfer, None, exc)
            return
        self._queue(transfer, _NEXT_HOP)  # admitted on the next pass, before new work

    def _failure(self, curl: Any, transfer: Transfer, code: int, message: str) -> Failure:
        # libcurl's connect timeout covers TCP and the TLS handshake; its message says so.
        connected = curl.getinfo(pycurl.CONNECT_TIME) > 0 and not message.startswith(
            "Connection timed out"
        )
        deadline_passed = False
        if isinstance(transfer, FetchTransfer):
            remaining = transfer.ctx.remaining()
            deadline_passed = remaining is not None and remaining <= 0.01
        return Failure(
            code, message, curl.getinfo(pycurl.OS_ERRNO), connected, deadline_passed,
            transfer.received, transfer.expected,
        )  # fmt: skip

    def _run_timers(self) -> None:
        now = self._clock()
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, transfer = heapq.heappop(timers)
            if transfer.dropped:
                continue
            transfer.ctx.sleeping = False
            transfer.ctx.restart_window()
            try:
                transfer.ctx.check()
            except OperationError as exc:
                self._done(transfer, error=exc)
                continue
            self._queue(transfer, transfer.priority)
        if now >= self._next_tick:
            self._next_tick = now + _TICK
            self._check_stalls(now)

    def _check_stalls(self, now: float) -> None:
        """Fail transfers that received nothing for their read timeout once connected."""
        stalled = []
        for curl, transfer in self._active.items():
            if isinstance(transfer, StreamTransfer):
                transfer.flush()
            elif isinstance(transfer, FetchTransfer):
                transfer.saw_head_progress(now)
            if transfer.paused or now - transfer.last_io < transfer.request.read_timeout:
                continue
            pretransfer = curl.getinfo(pycurl.PRETRANSFER_TIME)
            if pretransfer <= 0:
                continue  # still connecting: the connect timeout governs
            quiet_since = max(transfer.last_io, transfer.started + pretransfer)
            if now - quiet_since >= transfer.request.read_timeout:
                stalled.append(curl)
        for curl in stalled:
            self._ended_by_stall(curl)

    def _ended_by_stall(self, curl: Any) -> None:
        transfer = self._active.get(curl)
        if transfer is None:
            return
        if isinstance(transfer, FetchTransfer):
            remaining = transfer.ctx.remaining()
            if remaining is not None and remaining <= 0.01:
                self._ended(curl, (_TIMEDOUT, "deadline"))
                return
        self._ended(curl, (_TIMEDOUT, "stalled"))

    def _wait(self) -> None:
        self._sleeping = True  # before the last look at the commands (see _wake)
        try:
            if not self._commands:
                self._poll()
        finally:
            self._sleeping = False
            self._slice_end = time.perf_counter() + _SLICE  # a fresh slice after a rest

    def _poll(self) -> None:
        timeout = self._multi.timeout()
        seconds = _MAX_WAIT if timeout < 0 else min(timeout / 1000.0, _MAX_WAIT)
        now = self._clock()
        if self._active:
            seconds = min(seconds, max(self._next_tick - now, 0.0))
        if self._timers:
            seconds = min(seconds, max(self._timers[0][0] - now, 0.0))
        if len(self._active) > _MANY_SOCKETS:
            seconds = min(seconds, 0.02)
        if self._waiting and len(self._active) < self._max_active:
            seconds = 0.0  # a slot is free (a transfer just ended): admit without sleeping
        poller = select.poll()
        if self._wake_r is not None:
            poller.register(self._wake_r, select.POLLIN)
        reads, writes, errors = self._multi.fdset()
        masks: dict[int, int] = {}
        for fds, bit in (
            (reads, select.POLLIN),
            (writes, select.POLLOUT),
            (errors, select.POLLPRI),
        ):
            for fd in fds:
                masks[fd] = masks.get(fd, 0) | bit
        for fd, mask in masks.items():
            poller.register(fd, mask)
        poller.poll(seconds * 1000.0)

    def _shut_down(self) -> None:
        """End everything still in flight as canceled, then free libcurl's handles."""
        leftovers = list(self._active.values()) + [t for _, _, t in self._waiting]
        leftovers += [t for _, _, t in self._timers]
        for transfer in leftovers:
            self._drop(transfer)
            request = transfer.request
            error = Canceled(request.method, request.url, "canceled: the engine was closed")
            if isinstance(transfer, StreamTransfer):
                transfer.end(error)
            elif isinstance(transfer, FetchTransfer) and self._host_alive() is not None:
                self._done(transfer, error=error)
        while self._commands:  # streams that came too late (a fetch's op the engine ends)
            command = self._commands.popleft()
            if isinstance(command, tuple) and command[0] == "stream":
                arg = command[1]
                arg.end(Canceled(arg.request.method, arg.request.url, "the engine was closed"))
        self._active.clear()
        self._waiting.clear()
        self._timers.clear()
        self._by_op.clear()
        for curl in self._spare:
            curl.close()
        self._spare.clear()
        self._multi.close()
        # pycurl's objects do not take part in cycle collection: drop them, or
        # an engine referred to through them would never be freed.
        self._multi = None
        self.factory.close()
