"""An extra (elastic) worker that is leaving still counts for shutdown()."""

from __future__ import annotations

import threading
import time

from httpops._worker import WorkerPool
from tests.conftest import wait_for


def test_shutdown_joins_or_reports_a_worker_still_in_its_exit_hook() -> None:
    in_hook = threading.Event()
    release = threading.Event()
    leavers: list[threading.Thread] = []

    def on_exit() -> None:  # e.g. release_thread() closing a session, stuck in the network
        leavers.append(threading.current_thread())
        in_hook.set()
        release.wait(10)

    pool = WorkerPool(1, "httpops-test-leaving", elastic_cap=3, idle_exit=0.2, on_exit=on_exit)
    gate = threading.Event()
    running = threading.Semaphore(0)

    def job() -> None:
        running.release()
        gate.wait(10)

    try:
        pool.submit(job)
        pool.submit(job)  # the only worker is busy: an extra one starts
        assert running.acquire(timeout=10) and running.acquire(timeout=10)
        gate.set()
        assert in_hook.wait(10), "the extra worker did not leave"
        leaver = leavers[0]
        assert leaver in pool.threads  # still alive: still the pool's
        # The hook blocks: shutdown() waits for it until the deadline, then says so.
        started = time.monotonic()
        stuck = pool.shutdown(started + 0.3, time.monotonic)
        assert stuck == [leaver]
        assert time.monotonic() - started >= 0.25  # it did wait for the leaver
    finally:
        gate.set()
        release.set()
    assert wait_for(lambda: not leaver.is_alive(), timeout=10)
    assert all(not t.is_alive() for t in pool.threads)


def test_shutdown_returns_only_after_a_leaving_worker_ended() -> None:
    in_hook = threading.Event()
    release = threading.Event()
    leavers: list[threading.Thread] = []

    def on_exit() -> None:
        leavers.append(threading.current_thread())
        in_hook.set()
        release.wait(10)

    pool = WorkerPool(1, "httpops-test-leaving", elastic_cap=3, idle_exit=0.2, on_exit=on_exit)
    gate = threading.Event()
    running = threading.Semaphore(0)

    def job() -> None:
        running.release()
        gate.wait(10)

    pool.submit(job)
    pool.submit(job)
    assert running.acquire(timeout=10) and running.acquire(timeout=10)
    gate.set()
    assert in_hook.wait(10)
    stuck: list[list[threading.Thread]] = []
    alive_at_return: list[bool] = []

    def close() -> None:
        stuck.append(pool.shutdown(time.monotonic() + 10, time.monotonic))
        alive_at_return.append(leavers[0].is_alive())

    closer = threading.Thread(target=close, name="test-closer")
    closer.start()
    try:
        # shutdown() has begun (no more submits) and has not returned: it waits.
        assert wait_for(lambda: pool._shut_down, timeout=10)
        assert not wait_for(lambda: bool(stuck), timeout=0.3), "shutdown() did not wait"
    finally:
        release.set()
        closer.join(10)
    assert stuck == [[]]
    assert alive_at_return == [False]
