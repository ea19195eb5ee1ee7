"""No request waits behind long-polls: the request pool grows while all workers are busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

import httpops
from httpops._worker import WorkerPool
from tests.conftest import wait_for
from tests.servers.otcv8_routes import OTCv8Server


@pytest.fixture
def poll_server() -> Iterator[OTCv8Server]:
    # One server per test: its long-polls are released once, at the end.
    with OTCv8Server() as server:
        yield server
        assert server.errors == []


@pytest.mark.parametrize("long_polls", [8, 100])
def test_short_get_completes_while_long_polls_are_pending(
    make_engine: Callable[..., httpops.Engine], poll_server: OTCv8Server, long_polls: int
) -> None:
    engine = make_engine(httpops.Config(read_timeout=60, deadline=None))
    assert engine.config.max_workers < long_polls <= engine.config.max_elastic_workers == 256
    polls = [engine.get(poll_server.url("/longpoll")) for _ in range(long_polls)]
    # Every long-poll reached the server: each holds a worker now.
    assert wait_for(lambda: poll_server.hits("/longpoll") == long_polls, timeout=20)
    started = time.monotonic()
    short = engine.get(poll_server.url("/text"))
    assert engine.wait(short, timeout=10), "the short GET queued behind the long-polls"
    elapsed = time.monotonic() - started
    assert short.value.text == "hello text"
    assert all(op.state is httpops.State.RUNNING for op in polls)  # still pending
    print(f"short GET behind {long_polls} long-polls: {elapsed * 1000:.1f} ms")
    poll_server.release()
    assert engine.wait(*polls, timeout=30)
    assert all(op.value.text == "polled" for op in polls)


def test_a_fixed_pool_is_still_possible(
    make_engine: Callable[..., httpops.Engine], poll_server: OTCv8Server
) -> None:
    engine = make_engine(httpops.Config(max_workers=2, max_elastic_workers=0))
    ops = [engine.get(poll_server.url("/text")) for _ in range(10)]
    assert engine.wait(*ops, timeout=10)
    assert len(engine.threads()) <= 2  # no download ran, so these are request workers


def test_extra_workers_exit_when_idle_and_the_cap_holds() -> None:
    exited: list[str] = []
    lock = threading.Lock()

    def on_exit() -> None:
        with lock:
            exited.append(threading.current_thread().name)

    pool = WorkerPool(2, "httpops-test-elastic", elastic_cap=4, idle_exit=0.2, on_exit=on_exit)
    gate = threading.Event()
    running = threading.Semaphore(0)
    finished: list[int] = []

    def job(n: int) -> Callable[[], None]:
        def run() -> None:
            running.release()
            gate.wait(10)
            with lock:
                finished.append(n)

        return run

    try:
        for n in range(6):
            pool.submit(job(n))
        for _ in range(4):
            assert running.acquire(timeout=10)
        assert len(pool.threads) == 4  # the cap: jobs 4 and 5 wait for a free worker
        assert not running.acquire(timeout=0.3)
        gate.set()
        assert wait_for(lambda: len(finished) == 6, timeout=10)
        # The two extra workers leave after idle_exit; the two base ones stay.
        assert wait_for(lambda: len(pool.threads) == 2 and len(exited) == 2, timeout=10)
        pool.submit(job(6))
        assert wait_for(lambda: len(finished) == 7, timeout=10)
    finally:
        gate.set()
        stuck = pool.shutdown(time.monotonic() + 10, time.monotonic)
    assert stuck == []
    assert all(not t.is_alive() for t in pool.threads)


@pytest.mark.requests_transport  # requests' per-worker sessions; curl fetches on one thread
def test_release_thread_drops_the_session_of_an_exiting_worker(
    engine: httpops.Engine, poll_server: OTCv8Server
) -> None:
    transport = engine.transport
    assert engine.get(poll_server.url("/text")).result(timeout=10).status == 200
    sessions = len(transport._sessions)  # type: ignore[attr-defined]
    done = threading.Event()

    def worker() -> None:
        transport._session()  # type: ignore[attr-defined]
        transport.release_thread()  # type: ignore[attr-defined]
        done.set()

    thread = threading.Thread(target=worker, name="httpops-test-release")
    thread.start()
    thread.join(10)
    assert done.is_set()
    assert len(transport._sessions) == sessions  # type: ignore[attr-defined]


def test_a_burst_of_quick_jobs_starts_no_extra_workers() -> None:
    # Extra workers are for workers held by slow servers; quick jobs keep
    # finishing, so a burst is left to the fixed workers (frame safety: 200
    # threads under the GIL starve the host, see _worker.ELASTIC_AFTER).
    pool = WorkerPool(2, "httpops-test-burst", elastic_cap=64)
    done = threading.Semaphore(0)
    for _ in range(500):
        pool.submit(done.release)
    for _ in range(500):
        assert done.acquire(timeout=10)
    workers = [t for t in pool.threads if not t.name.endswith("-elastic")]  # not its timer
    assert len(workers) <= 2
    assert pool.shutdown(time.monotonic() + 5, time.monotonic) == []


def test_workers_moving_bytes_start_no_extra_workers() -> None:
    # A worker reading a large body is busy, not held by a slow server: while
    # its job keeps touching the pool, queued jobs wait for it instead of
    # starting threads that fight the host for the GIL (the frames bench's 4
    # large GETs grew the pool to 8 when only finished jobs counted).
    pool = WorkerPool(2, "httpops-test-moving", elastic_cap=64, elastic_after=0.05)
    done = threading.Semaphore(0)

    def large_body() -> None:
        for _ in range(30):  # 0.3 s, six times elastic_after
            time.sleep(0.01)
            pool.touch()
        done.release()

    try:
        for _ in range(2):
            pool.submit(large_body)
        for _ in range(4):
            pool.submit(done.release)
        for _ in range(6):
            assert done.acquire(timeout=10)
        workers = [t for t in pool.threads if not t.name.endswith("-elastic")]  # not its timer
        assert len(workers) == 2
    finally:
        assert pool.shutdown(time.monotonic() + 5, time.monotonic) == []


def test_one_moving_body_does_not_hide_a_worker_a_long_poll_holds() -> None:
    # Judged per worker: one worker reading a body keeps itself fresh, never
    # the other one, held by a long-poll; a queued quick job gets an extra
    # worker and runs while the body is still moving.
    pool = WorkerPool(2, "httpops-test-held", elastic_cap=8, elastic_after=0.05)
    release, stop = threading.Event(), threading.Event()
    quick_done, moving_started = threading.Event(), threading.Event()

    def moving_body() -> None:
        moving_started.set()
        for _ in range(1000):  # at most 10 s; ends when told
            if stop.wait(0.01):
                return
            pool.touch()

    try:
        pool.submit(lambda: release.wait(10))  # the long-poll
        pool.submit(moving_body)
        assert moving_started.wait(5)
        pool.submit(quick_done.set)
        assert quick_done.wait(5), "the quick job waited for the moving body"
        assert not stop.is_set()  # the body was still moving when it ran
    finally:
        stop.set()
        release.set()
        assert pool.shutdown(time.monotonic() + 5, time.monotonic) == []


def test_a_task_reports_moving_bytes_to_its_pool() -> None:
    # TaskContext.progress (called per chunk) calls on_bytes, which the worker
    # transport sets to the request pool's touch().
    from httpops._queue import EventQueue
    from httpops._worker import TaskContext

    touched: list[int] = []
    op = httpops.Operation(None, 1, "get", "GET", "http://127.0.0.1/")
    ctx = TaskContext(op, EventQueue(), time.monotonic, 10.0, None)
    ctx.on_bytes = lambda: touched.append(1)
    ctx.progress(10, 100)
    ctx.progress(20, 100)
    assert touched == [1, 1]
