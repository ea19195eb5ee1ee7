"""The pure parts of priorities and bandwidth caps: the job queue and the token buckets."""

from __future__ import annotations

import queue
import threading

import pytest

from httpops._bandwidth import Throttle, TokenBucket, check_rate, read_size
from httpops._jobqueue import LAST, PriorityJobs, check_priority


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _job(log: list[str], name: str) -> object:
    return lambda: log.append(name)


def test_jobs_come_out_by_priority_then_in_order() -> None:
    jobs = PriorityJobs()
    order: list[str] = []
    for name, priority in [("a", 0), ("b", 0), ("login", 10), ("c", 5), ("d", 0), ("bg", -3)]:
        jobs.put(_job(order, name), priority)  # type: ignore[arg-type]
    jobs.put(None, LAST)
    while (job := jobs.get(timeout=0)) is not None:
        job()
    assert order == ["login", "c", "a", "b", "d", "bg"]
    assert len(jobs) == 0


def test_stop_markers_come_after_every_job_even_very_low_ones() -> None:
    jobs = PriorityJobs()
    jobs.put(None, LAST)
    jobs.put(lambda: None, -(10**9))
    assert jobs.get(timeout=0) is not None
    assert jobs.get(timeout=0) is None


def test_get_times_out_empty_and_wakes_on_put() -> None:
    jobs = PriorityJobs()
    with pytest.raises(queue.Empty):
        jobs.get(timeout=0.01)
    got: list[object] = []
    taker = threading.Thread(target=lambda: got.append(jobs.get(timeout=5)))
    taker.start()
    jobs.put(None, 0)
    taker.join(5)
    assert got == [None]


@pytest.mark.parametrize("bad", ["high", 1.5, True, None])
def test_priority_must_be_an_int(bad: object) -> None:
    with pytest.raises(ValueError, match="priority must be an int"):
        check_priority(bad)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "1000"])
def test_rate_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="rate_limit must be an integer number of bytes"):
        check_rate("rate_limit", bad)
    assert check_rate("rate_limit", None) is None
    assert check_rate("rate_limit", 1) == 1


def test_bucket_starts_full_then_makes_the_reader_wait_off_its_debt() -> None:
    bucket = TokenBucket(rate=20_000, now=0.0)  # burst: 0.1 s of the rate = 2000 bytes
    assert bucket.take(2000, 0.0) == 0.0
    assert bucket.take(1000, 0.0) == pytest.approx(0.05)
    # 0.05 s later the debt is paid: nothing more to wait for a zero-byte take.
    assert bucket.take(0, 0.05) == pytest.approx(0.0)
    # A long idle time refills only up to the burst, never more.
    assert bucket.take(3000, 10.0) == pytest.approx(0.05)


def test_a_shared_bucket_splits_its_rate_between_readers() -> None:
    bucket = TokenBucket(rate=1000, now=0.0, burst=0.0)
    # Two readers take 100 bytes each at the same moment: the second waits for both.
    assert bucket.take(100, 0.0) == pytest.approx(0.1)
    assert bucket.take(100, 0.0) == pytest.approx(0.2)


def test_bucket_moves_rate_bytes_per_second_over_many_reads() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=50_000, now=clock.now)
    moved = 0
    start = clock.now
    while moved < 500_000:
        clock.now += bucket.take(2048, clock.now)  # the reader sleeps exactly as told
        moved += 2048
    # The first burst is free; the rest is paced at the rate.
    assert clock.now - start == pytest.approx((moved - 5000) / 50_000, rel=0.01)


def test_read_size_under_caps() -> None:
    assert read_size(65536, []) == 65536
    assert read_size(65536, [100_000]) == 5000
    assert read_size(65536, [100_000, 1_000_000]) == 5000
    assert read_size(65536, [10]) == 1024  # never below one KiB
    assert read_size(2048, [10_000_000]) == 2048


def test_throttle_waits_the_longest_bucket_and_counts_the_time_held_back() -> None:
    clock = FakeClock()
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        assert throttle.held_back(clock.now) == 0.0  # the watchdog sees the wait under way
        clock.now += seconds / 2
        assert throttle.held_back(clock.now) == pytest.approx(seconds / 2)
        clock.now += seconds / 2
        return False

    own = TokenBucket(1000, clock.now, burst=0.0)
    shared = TokenBucket(500, clock.now, burst=0.0)
    throttle = Throttle([own, shared], clock, wait)
    assert throttle.rates == [1000, 500]
    throttle.pace(100)
    assert waits == [pytest.approx(0.2)]
    assert throttle.held_back(clock.now) == pytest.approx(0.2)
    assert throttle.waiting_since is None


def test_throttle_wait_cut_short_by_cancel_counts_only_the_time_waited() -> None:
    clock = FakeClock()

    def canceled_at_once(seconds: float) -> bool:
        clock.now += 0.01
        return True

    throttle = Throttle([TokenBucket(1, clock.now, burst=0.0)], clock, canceled_at_once)
    throttle.pace(1024)  # would be 1024 s of debt
    assert throttle.held_back(clock.now) == pytest.approx(0.01)
