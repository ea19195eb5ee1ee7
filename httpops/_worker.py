"""The worker side: a bounded pool of named threads and the per-task context.

Everything here runs on worker threads (``httpops-worker-N``) except where a
docstring says otherwise. Workers never call user code: they report through
:class:`TaskContext`, which puts events on the queue.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ._bandwidth import Throttle
from ._errors import Canceled, DeadlineExceeded, OperationError, ReadTimeout
from ._events import Progress
from ._jobqueue import LAST, PriorityJobs
from ._operation import Operation, percent
from ._queue import EventQueue
from ._speed import SpeedMeter, average_speed
from ._transport import Stream
from ._watchdog import TimeRules

__all__ = ["TaskContext", "WorkerPool"]

log = logging.getLogger("httpops")

#: Seconds an extra (elastic) worker waits for a job before it exits.
ELASTIC_IDLE_EXIT = 5.0
#: Seconds with every worker busy, no job finishing and no job moving bytes
#: before extra workers start. Extra workers are for workers held by slow
#: servers (long-polls waiting for an answer), not for bursts of quick
#: requests nor for large bodies: under the GIL, 4 workers finish a burst as
#: fast as 200 would, and the extra threads starve the host's frame (measured:
#: 9.7 fps under the frames bench load when every queued job got a thread;
#: frame p99 2.39x idle, against 1.52x, while 4 large bodies held the workers
#: for over 0.2 s and only finished jobs counted, so the pool grew to 8).
ELASTIC_AFTER = 0.2


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread ``niceness`` steps nicer (Linux only; else nothing).

    On Linux a thread is a schedulable task of its own, so this lowers only
    the calling worker: when the CPUs are busy the kernel runs the host's
    frame thread first. Elsewhere ``setpriority`` would act on the whole
    process, so it is not called.
    """
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except OSError:  # e.g. a sandbox that forbids it; the worker still works
        log.debug("could not lower the priority of %s", threading.current_thread().name)


class WorkerPool:
    """A bounded pool of named daemon threads; queued jobs run by priority, then FIFO.

    Threads start lazily, one per submitted job while none is idle, up to
    ``max_workers``. With ``elastic_cap`` above ``max_workers`` the pool is
    elastic: once every worker is busy and none has finished a job or moved
    bytes (:meth:`touch`) for ``elastic_after`` seconds (slow servers hold
    them, e.g. long-polls), queued jobs start more workers, doubling the
    pool at most every ``elastic_after`` seconds, up to ``elastic_cap``; a
    job submitted then starts one at once. Workers beyond ``max_workers``
    exit after ``idle_exit`` seconds without a job (calling ``on_exit`` on
    their own thread first, so per-thread resources such as a session are
    released). A short-lived timer thread (``<prefix>-elastic``) re-checks
    while jobs wait.
    """

    def __init__(
        self,
        max_workers: int,
        name_prefix: str = "httpops-worker",
        niceness: int = 0,
        *,
        elastic_cap: int | None = None,
        idle_exit: float = ELASTIC_IDLE_EXIT,
        elastic_after: float = ELASTIC_AFTER,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._max_workers = max_workers
        self._cap = max(max_workers, elastic_cap or 0)
        self._idle_exit = idle_exit if self._cap > max_workers else None
        self._on_exit = on_exit
        self._name_prefix = name_prefix
        self._niceness = niceness
        # Highest priority first, FIFO within one priority (see _jobqueue).
        self._jobs = PriorityJobs()
        # Counts workers waiting for a job, so submit() knows whether to start one.
        # A token is taken by submit() (a job for an idle worker) or by an
        # extra worker that leaves; so tokens never outnumber waiting workers.
        self._idle = threading.Semaphore(0)
        # Guards _threads, _leaving, _started, _shut_down, and pairs job puts with token takes.
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # Extra workers that left (maybe still in on_exit): they take no job any
        # more, but shutdown() must still join them (or report them stuck) like
        # any other worker. Pruned of ended threads when another one leaves.
        self._leaving: list[threading.Thread] = []
        self._started = 0
        self._shut_down = False
        self._elastic_after = elastic_after
        # When each busy worker took its current job or last moved bytes (thread
        # ident -> monotonic): how the pool tells stuck from busy.
        self._busy_since: dict[int, float] = {}
        # The pending re-check of queued jobs (elastic pools only), if any.
        self._recheck: threading.Timer | None = None

    @property
    def threads(self) -> list[threading.Thread]:
        """The pool's threads, with extra ones still leaving. Thread-safety: any thread."""
        with self._lock:
            timer = [self._recheck] if self._recheck is not None else []
            return self._threads + [t for t in self._leaving + timer if t.is_alive()]

    def touch(self) -> None:
        """The calling worker's job moved bytes: that worker is busy, not held.

        Cheap (a clock read and a store into an existing entry, no lock: the
        elastic rule tolerates a stale value), so a job may call it per chunk.
        Thread-safety: a worker thread of this pool, inside its job.
        """
        me = threading.get_ident()
        if me in self._busy_since:  # an elastic pool's worker running a job
            self._busy_since[me] = time.monotonic()

    def submit(self, job: Callable[[], None], priority: int = 0) -> None:
        """Queue ``job`` for a worker; queued jobs of a larger ``priority`` run first.

        Thread-safety: any thread.
        """
        with self._lock:
            if self._shut_down:
                raise RuntimeError("worker pool is shut down")
            self._jobs.put(job, priority)
            if self._idle.acquire(blocking=False) or len(self._threads) >= self._cap:
                return
            if len(self._threads) >= self._max_workers and self._stuck_in() > 0:
                self._schedule_recheck()  # a burst of quick jobs: the workers will do
                return
            thread = self._new_thread()
        self._start(thread)

    def _stuck_in(self) -> float:
        """Seconds until the workers count as stuck (0: now). Called with the lock held.

        Stuck: every worker busy, and one of them has neither started its job
        nor moved a byte for ``elastic_after`` seconds -- a slow server holds
        it. A burst of quick jobs keeps every worker fresh (each job restarts
        its worker's clock), and so does a large body that keeps moving; but
        one moving body never hides the workers long-polls hold.
        """
        if len(self._busy_since) < len(self._threads):
            return self._elastic_after  # a worker is between jobs: it takes the next one
        since = min(self._busy_since.values(), default=0.0)
        return max(0.0, since + self._elastic_after - time.monotonic())

    def _schedule_recheck(self) -> None:
        """Look at the queued jobs again once the workers may count as stuck (lock held)."""
        if self._recheck is not None or self._shut_down:
            return
        timer = threading.Timer(max(self._stuck_in(), 0.01), self._recheck_queue)
        timer.name = f"{self._name_prefix}-elastic"
        timer.daemon = True
        self._recheck = timer
        timer.start()

    def _recheck_queue(self) -> None:
        """Start extra workers for queued jobs if every worker is stuck (timer thread)."""
        threads: list[threading.Thread] = []
        with self._lock:
            self._recheck = None
            if self._shut_down or not len(self._jobs):
                return
            if self._stuck_in() > 0:
                self._schedule_recheck()
                return
            # At most double the pool per check: a run of slow jobs grows it
            # quickly, a rare slow moment in a burst does not start hundreds.
            room = self._cap - len(self._threads)
            for _ in range(min(len(self._jobs), room, max(len(self._threads), 1))):
                threads.append(self._new_thread())
            if len(self._jobs) > len(threads) and len(self._threads) < self._cap:
                self._schedule_recheck()
        for thread in threads:
            self._start(thread)

    def _new_thread(self) -> threading.Thread:
        """A new worker thread, counted in the pool (lock held; started by ``_start``)."""
        self._started += 1
        thread = threading.Thread(
            target=self._work,
            name=f"{self._name_prefix}-{self._started}",
            daemon=True,  # a stuck connect() must not keep the interpreter alive
        )
        self._threads.append(thread)
        return thread

    def _start(self, thread: threading.Thread) -> None:
        try:
            thread.start()
        except RuntimeError:  # e.g. the process may not start more threads
            with self._lock:
                self._threads.remove(thread)
                others = len(self._threads)
            if not others:
                raise  # nobody would ever run the job; the caller undoes it
            log.warning("could not start another worker; %d will do the work", others)

    def _work(self) -> None:
        lower_thread_priority(self._niceness)
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_exit)
            except queue.Empty:
                if self._leave():
                    return
                continue
            if job is None:
                return
            me = threading.get_ident()
            if self._idle_exit is not None:  # only an elastic pool asks how long jobs run
                with self._lock:
                    self._busy_since[me] = time.monotonic()
            try:
                job()
            except BaseException:  # jobs handle their own errors; this is a last guard
                log.exception("httpops worker job raised")
            # Drop it before idling: the job holds its operation, and with it the body.
            job = None
            if self._idle_exit is not None:
                with self._lock:
                    self._busy_since.pop(me, None)
            self._idle.release()

    def _leave(self) -> bool:
        """After ``idle_exit`` without a job: exit if this worker is an extra one.

        Runs on the worker. Its idle token is taken under the lock, so a
        concurrent submit() either got the token first (and a job waits for
        this worker: stay) or sees one idle worker fewer (and starts one).
        """
        with self._lock:
            if (
                self._shut_down
                or len(self._threads) <= self._max_workers
                or not self._idle.acquire(blocking=False)
            ):
                return False
            me = threading.current_thread()
            self._threads.remove(me)
            # Joinable until it has really ended, not just until on_exit returned.
            self._leaving = [t for t in self._leaving if t.is_alive()]
            self._leaving.append(me)
        if self._on_exit is not None:
            try:
                self._on_exit()
            except Exception:  # releasing is best effort; the thread ends anyway
                log.debug("worker exit hook failed", exc_info=True)
        return True

    def shutdown(self, deadline: float, clock: Callable[[], float]) -> list[threading.Thread]:
        """Stop accepting jobs, let every worker exit, join them until ``deadline``.

        Returns:
            Threads still alive at the deadline (stuck in a network call).

        Thread-safety: any thread except a worker.
        """
        with self._lock:
            self._shut_down = True
            threads = list(self._threads)
            leaving = list(self._leaving)  # they take no job: no stop marker
            recheck, self._recheck = self._recheck, None
        if recheck is not None:
            recheck.cancel()
            leaving.append(recheck)
        for _ in threads:
            self._jobs.put(None, LAST)  # one stop marker per worker, after queued jobs
        threads += leaving
        for thread in threads:
            thread.join(max(0.0, deadline - clock()))
        return [t for t in threads if t.is_alive()]


class ContextOwner(Protocol):
    """What a :class:`TaskContext` asks of the engine that runs its operation."""

    def _commit(self, op: Operation, /) -> bool: ...

    def _wants_progress(self, op: Operation, /) -> bool: ...


class TaskContext:
    """What a running task uses to report progress and notice cancel or deadline.

    One per running operation; created and used on its worker thread, except
    :meth:`abort`, which any thread may call.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_deadline",
        "_deadline_at",
        "_events",
        "_interval",
        "_last_report",
        "_meter",
        "_owner",
        "_speed",
        "_started",
        "_uploaded",
        "_window_bytes",
        "_window_held",
        "_window_start",
        "abort_open",
        "active_stream",
        "committed",
        "final_figures",
        "finished",
        "moved",
        "on_bytes",
        "op",
        "rules",
        "sleeping",
        "stop_error",
        "throttle",
    )

    def __init__(
        self,
        op: Operation,
        events: EventQueue,
        clock: Callable[[], float],
        progress_interval: float,
        deadline: float | None,
        rules: TimeRules | None = None,
    ) -> None:
        self.op = op
        self._events = events
        self._clock = clock
        self._interval = progress_interval
        self._started = clock()
        self._deadline_at = None if deadline is None else self._started + deadline
        self._deadline = deadline
        # The time rules as data (deadline, low-speed), judged by the engine's
        # watchdog (see inspect()); a transport may also apply them natively.
        self.rules = rules or TimeRules(deadline)
        self._window_start = self._started
        self._window_bytes = 0
        # Seconds held back by our own bandwidth cap when the window started.
        self._window_held = 0.0
        # Set by the engine for a rate-limited download: paces its reads (see
        # _bandwidth); the low-speed rule leaves out the time it held them back.
        self.throttle: Throttle | None = None
        # Body bytes moved, received and uploaded, over every attempt (the
        # low-speed rule's measure); _uploaded is the current upload's figure.
        self.moved = 0
        self._uploaded = 0
        # True while a retry backs off (the low-speed window is not judged then).
        self.sleeping = False
        # Set by the watchdog (any thread) once a time rule is broken: sticky.
        self.stop_error: OperationError | None = None
        # Set once the task ended, so the watchdog drops it.
        self.finished = False
        self._last_report = -float("inf")
        # Bytes over the last second of real time (see _speed), from the start;
        # made at the first figure (a small GET reports only its last one, so its
        # meter is not one more object held while it waits for the answer).
        self._meter: SpeedMeter | None = None
        self._speed = 0.0
        # The response being read, so cancel/close can break a blocked read.
        self.active_stream: Stream | None = None
        # Set by the engine (the context's owner): whether anyone listens to
        # progress -- if not, the final figures ride on the completion instead of
        # an event of their own -- and the claim commit() takes. One reference,
        # not two closures per operation: fewer objects for the cyclic GC.
        self._owner: ContextOwner | None = None
        self.final_figures: dict[str, Any] = {}
        self.committed = False
        # Set while the transport waits for response headers: breaks that wait.
        self.abort_open: Callable[[], None] | None = None
        # Set by the worker transport: called as bytes move (WorkerPool.touch),
        # so a worker reading a large body never counts as held by a slow server.
        self.on_bytes: Callable[[], None] | None = None

    def set_owner(self, owner: ContextOwner) -> None:
        """The engine this task reports to (see ``ContextOwner``)."""
        self._owner = owner

    def wants_progress(self) -> bool:
        """Whether anyone listens to this operation's progress (True without an owner)."""
        owner = self._owner
        return True if owner is None else owner._wants_progress(self.op)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        if self._deadline_at is None:
            return None
        return self._deadline_at - self._clock()

    def check(self) -> None:
        """Raise if the operation was canceled or its deadline passed.

        Raises:
            Canceled: Cancel was requested.
            DeadlineExceeded: The deadline passed.
        """
        if self.op.cancel_requested:
            raise Canceled(self.op.method, self.op.url, "canceled by the caller")
        if self._deadline_at is not None and self._clock() >= self._deadline_at:
            raise self._deadline_error()
        if self.stop_error is not None:
            raise self.stop_error

    def stopped(self) -> bool:
        """Whether a cancel or a broken time rule wants the operation to end.

        Thread-safety: any thread (the transport's abort path asks it).
        """
        return (
            self.op.cancel_requested
            or self.stop_error is not None
            or (self._deadline_at is not None and self._clock() >= self._deadline_at)
        )

    def _deadline_error(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            self.op.method, self.op.url, f"not finished within the {self._deadline:g}s deadline"
        )

    def first_inspection(self) -> float | None:
        """When the watchdog must first look at this task (None: never)."""
        rules = self.rules
        low = None
        if rules.low_speed_limit is not None:
            low = self._window_start + rules.low_speed_time
        return self._next_inspection(low)

    def inspect(self, now: float) -> float | None:
        """Judge the deadline and the low-speed rule at ``now``; on the watchdog thread.

        A broken rule sets :attr:`stop_error` and aborts the blocked read
        (the socket is shut under it), so every phase -- connect, status
        line, headers, chunk framing, body, trailers -- ends in time.

        Returns:
            When to look again, or None once stopped or finished.
        """
        if self.finished or self.stop_error is not None:
            return None
        if self._deadline_at is not None and now >= self._deadline_at:
            self.stop_error = self._deadline_error()
            self.abort()
            return None
        rules = self.rules
        low = None
        if rules.low_speed_limit is not None:
            if self.sleeping:
                self.restart_window()
            low = self._window_start + rules.low_speed_time
            if now >= low:
                # Time our own bandwidth cap held the reads back is not the
                # server's slowness: the window counts only the time left.
                held = self._held_back(now) - self._window_held
                active = now - self._window_start - held
                if active < rules.low_speed_time:
                    return self._next_inspection(now + rules.low_speed_time - active)
                moved = self.moved
                rate = (moved - self._window_bytes) / max(active, 1e-9)
                if rate < rules.low_speed_limit:
                    self.stop_error = ReadTimeout(
                        self.op.method, self.op.url,
                        f"{rate:.0f} B/s on average over {rules.low_speed_time:g}s, under the "
                        f"low-speed limit of {rules.low_speed_limit} B/s (low_speed_limit)",
                    )  # fmt: skip
                    self.abort()
                    return None
                self._window_start, self._window_bytes = now, moved
                self._window_held = self._held_back(now)
                low = now + rules.low_speed_time
        return self._next_inspection(low)

    def _next_inspection(self, low: float | None) -> float | None:
        deadline_at = self._deadline_at
        if deadline_at is None or (low is not None and low < deadline_at):
            return low
        return deadline_at

    def _held_back(self, now: float) -> float:
        throttle = self.throttle
        return 0.0 if throttle is None else throttle.held_back(now)

    def wait_throttled(self, seconds: float) -> bool:
        """Wait ``seconds`` for the bandwidth cap; wakes at once on cancel or close.

        Never past the deadline. Returns True if woken by a cancel.
        """
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, max(remaining, 0.0))
        return self.op._wait_canceled(seconds)

    def sleep(self, seconds: float) -> None:
        """Sleep on the worker, waking early on cancel; then :meth:`check`."""
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, max(remaining, 0.0))
        if seconds > 0:
            # A retry's backoff moves no bytes by design: no low-speed verdict on it.
            self.sleeping = True
            try:
                self.op._wait_canceled(seconds)
            finally:
                self.sleeping = False
                self.restart_window()
        self.check()

    def restart_window(self) -> None:
        """Start a fresh low-speed window now (after a backoff: a new attempt)."""
        now = self._clock()
        self._window_start, self._window_bytes = now, self.moved
        self._window_held = self._held_back(now)

    def restart_speed(self, received: int = 0) -> None:
        """Start measuring speed afresh (a new attempt, or a resumed body)."""
        if self._meter is None:
            self._meter = SpeedMeter()
        self._meter.restart(self._clock(), received)
        self._speed = 0.0

    def progress(
        self, received: int, total: int | None, direction: str = "down", *, final: bool = False
    ) -> None:
        """Report bytes moved; rate-limited to one event per ``progress_interval``.

        ``final=True`` always reports (the last figure before completion).
        """
        now = self._clock()
        on_bytes = self.on_bytes
        if on_bytes is not None:
            on_bytes()
        # Every chunk feeds the meter (cheap), so the speed is bytes over real time.
        meter = self._meter
        if meter is None and final:
            # The first report is the last (a small body in one piece): what a
            # meter would give, all of it in the head start, without one.
            self._speed = average_speed(self._started, 0, now, received)
        else:
            if meter is None:
                meter = self._meter = SpeedMeter()
                meter.restart(self._started)
            self._speed = meter.sample(now, received)
            if not final and now - self._last_report < self._interval:
                return
            if final and meter.settling(now):  # all of it came in the head start
                self._speed = meter.average(now, received)
        self._last_report = now
        if final and not self.wants_progress():
            # One event fewer per request: the completion sets these on the op.
            self.final_figures = {
                "received": received,
                "total": total,
                "speed": self._speed,
                "progress": percent(received, total),
            }
            return
        self._events.put(Progress(self.op, received, total, self._speed, direction))

    def upload_progress(self, sent: int, total: int) -> None:
        """Report request-body bytes written (a transport's upload hook)."""
        self.check()
        # Uploaded bytes count for the low-speed rule too, as in libcurl: a slow
        # uplink sending a big body is moving, not stalled.
        # A smaller figure than last time: a new attempt sends the body again.
        self.moved += sent - self._uploaded if sent >= self._uploaded else sent
        self._uploaded = sent
        self.progress(sent, total, "up", final=sent >= total)

    def commit(self) -> bool:
        """Claim the operation's completion for this task, before an irreversible step.

        After it returns True a cancel (or ``Engine.close()``) no longer wins:
        the task's own outcome -- done, or failed if the step raises -- is
        the operation's one completion. Downloads call it right before
        renaming the finished file into place.

        Returns:
            False if a cancel or close already claimed the operation.
        """
        if not self.committed and self._owner is not None:
            self.committed = self._owner._commit(self.op)
        return self.committed

    def abort(self) -> None:
        """Break the blocked read of the active response, if any.

        Thread-safety: any thread.
        """
        stream, abort_open = self.active_stream, self.abort_open
        try:
            if stream is not None:
                stream.abort()
            elif abort_open is not None:
                abort_open()
        except Exception:  # the connection may already be gone
            log.debug("abort of operation %d failed", self.op.id, exc_info=True)
