"""Host cost: what ``poll()`` costs the host thread, idle and per dispatched event.

No network is involved. *Idle* times ``engine.poll()`` on an empty queue,
timeit-style (many calls per sample, the median sample). *Per event* fills
the queue with ``n`` ready events, times the one ``poll()`` that dispatches
them, and subtracts a baseline loop that calls the same no-op callback ``n``
times, so what is left is the engine's own overhead per event: the queue
pop, the state change, the listener lookup and the callback guard.
"""

from __future__ import annotations

import statistics
import threading
import time
import timeit
from collections.abc import Callable
from typing import Any

import httpops
from httpops._events import Progress
from httpops._operation import Operation, State
from httpops._response import Headers

URL = "http://127.0.0.1:9/bench"
IDLE_TARGET_US = 0.5
EVENT_TARGET_US = 3.0


def _noop(*args: object) -> None:
    return None


def idle_poll_us(number: int, repeat: int) -> list[float]:
    """Microseconds per idle ``poll()``, one figure per sample."""
    with httpops.Engine(httpops.Config(transport="requests")) as engine:
        engine.poll()
        timer = timeit.Timer(engine.poll)
        return [t / number * 1e6 for t in timer.repeat(repeat=repeat, number=number)]


class _HeldStream:
    """A finished, empty 200 response (no network)."""

    status = 200
    reason = "OK"
    headers = Headers({"Content-Length": "0", "Content-Type": "application/octet-stream"})
    url = URL

    def read_chunk(self, size: int) -> bytes:
        return b""

    def close(self) -> None:
        return None

    def abort(self) -> None:
        return None


class _HeldTransport:
    """A transport whose requests wait for ``release`` (so workers stay parked)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def open(self, request: Any, on_upload: Any = None, **kwargs: Any) -> _HeldStream:
        self.release.wait(60)
        return _HeldStream()

    def abort_open(self, thread_id: int) -> None:
        return None

    def close(self) -> None:
        self.release.set()


def submit_us(n: int, repeat: int) -> list[float]:
    """µs per ``engine.get(url, callback)`` on the host, workers parked (no contention)."""
    samples = []
    for _ in range(repeat):
        transport = _HeldTransport()
        with httpops.Engine(transport=transport) as engine:
            started = time.perf_counter()
            for _ in range(n):
                engine.get(URL, _noop)
            samples.append((time.perf_counter() - started) / n * 1e6)
            transport.release.set()
            if not engine.run_until_idle(timeout=60):
                raise RuntimeError("submitted operations did not finish")
    return samples


def _ready_ops(engine: httpops.Engine, n: int, callback: Callable[..., Any]) -> list[Operation]:
    ops = []
    for _ in range(n):
        op = engine._register("get", "GET", URL, callback)
        engine._mark_running(op)
        ops.append(op)
    return ops


def _fill_completions(engine: httpops.Engine, ops: list[Operation]) -> None:
    for i, op in enumerate(ops):
        engine._complete(op, State.DONE, value=i)


def _fill_progress(engine: httpops.Engine, ops: list[Operation]) -> None:
    for i, op in enumerate(ops):
        engine.events.put(Progress(op, i, 2 * i + 1, 1000.0))


def _baseline(ops: list[Operation], callback: Callable[..., Any], calls_per_op: int) -> float:
    """Seconds for the callbacks alone: what poll() cannot avoid."""
    started = time.perf_counter()
    for op in ops:
        for _ in range(calls_per_op):
            callback(op)
    return time.perf_counter() - started


def per_event_us(kind: str, n: int, repeat: int) -> list[float]:
    """Engine overhead in µs per dispatched event of one kind, one figure per sample."""
    samples = []
    for _ in range(repeat):
        with httpops.Engine(httpops.Config(transport="requests")) as engine:
            listeners = 0
            if kind == "completion + listener":
                engine.connect(on_get=_noop)
                listeners = 1
            ops = _ready_ops(engine, n, _noop)
            if kind == "progress":
                for op in ops:
                    op.on_progress = _noop
                _fill_progress(engine, ops)
            else:
                _fill_completions(engine, ops)
            budget = 10.0 if kind == "completion, poll(budget=10)" else None
            started = time.perf_counter()
            dispatched = engine.poll(budget=budget)
            elapsed = time.perf_counter() - started
            if dispatched != n:
                raise RuntimeError(f"poll() dispatched {dispatched} of {n} events")
            if kind != "progress" and not all(op.done() for op in ops):
                raise RuntimeError("an operation was not completed by poll()")
            base = _baseline(ops, _noop, 1 + listeners)
            samples.append((elapsed - base) / n * 1e6)
    return samples


KINDS = ("completion", "completion + listener", "completion, poll(budget=10)", "progress")


def run(quick: bool) -> list[dict[str, Any]]:
    """The host-cost table."""
    number, repeat = (100_000, 5) if quick else (1_000_000, 7)
    n, event_repeat = (5_000, 5) if quick else (20_000, 9)
    idle = idle_poll_us(number, repeat)
    rows: list[list[object]] = [
        [
            "idle poll() (empty queue)",
            statistics.median(idle),
            min(idle),
            IDLE_TARGET_US,
            "met" if statistics.median(idle) <= IDLE_TARGET_US else "NOT met",
        ]
    ]
    for kind in KINDS:
        samples = per_event_us(kind, n, event_repeat)
        median = statistics.median(samples)
        rows.append(
            [
                f"per event: {kind}",
                median,
                min(samples),
                EVENT_TARGET_US,
                "met" if median <= EVENT_TARGET_US else "NOT met",
            ]
        )
    submit = submit_us(n // 5, event_repeat)
    rows.append(
        ["submit: engine.get(url, callback)", statistics.median(submit), min(submit), None, "-"]
    )
    notes = [
        f"Idle: {number} calls per sample, median of {repeat} samples.",
        f"Per event: one poll() dispatching {n} ready events, minus a loop calling the same "
        f"no-op callback(s); median of {event_repeat} runs. 'listener' adds a global "
        "on_get listener; 'progress' events carry an on_progress callback.",
        f"Submit: {n // 5} get() calls on the host while every worker is parked on a stub "
        "transport (validation, Request, Operation, queueing; no network, no contention).",
        "Targets (issue 2): idle <= 0.5 µs; overhead per dispatched event <= 3 µs.",
    ]
    return [
        {
            "name": "host",
            "title": "Host cost on the polling thread (µs)",
            "columns": ["measure", "µs (median)", "best", "target", "verdict"],
            "rows": rows,
            "notes": notes,
        }
    ]
