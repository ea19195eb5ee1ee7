"""The speed estimate (pure, with a fake clock): right from the start, follows changes.

The old estimate seeded an average with its first sample (a few KiB over a
millisecond): 15 MiB/s shown for a 195 KiB/s transfer. These feed the meter
what a worker sees -- a chunk per read at a steady true rate, with the first
chunk arriving almost at once -- and check the estimate against the true rate.
"""

from __future__ import annotations

import pytest

from httpops._speed import SpeedMeter

KIB = 1024


def _feed(
    meter: SpeedMeter,
    rate: float,
    until: float,
    *,
    start: float = 0.0,
    position: int = 0,
    step: float = 0.1,
    first_chunk: int = 0,
) -> tuple[float, int]:
    """Sample every ``step`` seconds at ``rate`` bytes/s; returns (time, position)."""
    now = start
    if first_chunk:  # bytes buffered before the body started: they arrive at once
        now += 0.0005
        position += first_chunk
        meter.sample(now, position)
    while now + step <= until + 1e-9:
        now += step
        position += int(rate * step)
        meter.sample(now, position)
    return now, position


def test_right_within_half_a_second_despite_a_fast_first_chunk() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    rate = 195 * KIB
    # First sample: 16 KiB a fraction of a millisecond after the start.
    # No 30 MiB/s spike: during the head start the speed is not known yet.
    assert meter.sample(0.0005, 16 * KIB) == 0.0
    _feed(meter, rate, 0.5, start=0.0005, position=16 * KIB)
    assert meter.speed == pytest.approx(rate, rel=0.2)


def test_window_follows_a_change_of_rate_within_about_a_second() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    now, position = _feed(meter, 1000 * KIB, 3.0)
    assert meter.speed == pytest.approx(1000 * KIB, rel=0.05)
    _feed(meter, 100 * KIB, now + 1.2, start=now, position=position)
    assert meter.speed == pytest.approx(100 * KIB, rel=0.15)


def test_irregular_sampling_is_weighted_by_time() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    # 200 KiB/s true rate, sampled at uneven moments: 0.01 s then 0.4 s gaps.
    times = [0.01, 0.41, 0.42, 0.82, 0.83, 1.23, 1.24, 1.64]
    for t in times:
        meter.sample(t, int(200 * KIB * t))
    assert meter.speed == pytest.approx(200 * KIB, rel=0.02)


def test_restart_and_a_smaller_position_start_afresh() -> None:
    meter = SpeedMeter()
    meter.restart(0.0, 1000)  # a resumed body: the kept bytes are not this attempt's
    meter.sample(1.0, 1000 + 10 * KIB)  # the first bytes: the head start
    assert meter.sample(2.0, 1000 + 60 * KIB) == pytest.approx(50 * KIB)
    assert meter.sample(2.5, 10) == 0.0  # a new attempt from the start
    meter.sample(2.6, 10 + 5 * KIB)
    assert meter.sample(3.6, 10 + 25 * KIB) == pytest.approx(20 * KIB)


def test_a_body_that_came_whole_in_the_head_start_has_an_average() -> None:
    meter = SpeedMeter()
    meter.restart(10.0)
    assert meter.sample(10.01, 64 * KIB) == 0.0
    assert meter.settling(10.02)
    assert meter.average(10.02, 64 * KIB) == pytest.approx(64 * KIB / 0.02)
    assert not meter.settling(10.07)


def test_a_stall_brings_the_speed_down() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    now, position = _feed(meter, 500 * KIB, 2.0)
    for _ in range(12):
        now += 0.1
        meter.sample(now, position)  # nothing new
    assert meter.speed == 0.0


def test_the_sum_over_many_meters_is_the_sum_of_true_rates() -> None:
    meters = [SpeedMeter() for _ in range(20)]
    for meter in meters:
        meter.restart(0.0)
        meter.sample(0.0002, 64 * KIB)  # every transfer starts with a buffered chunk
    true = 11 * 1024 * KIB / 20  # 11 MiB/s shared by 20 downloads
    for meter in meters:
        _feed(meter, true, 0.5, start=0.0002, position=64 * KIB)
    assert sum(m.speed for m in meters) == pytest.approx(11 * 1024 * KIB, rel=0.2)


@pytest.mark.parametrize(("window", "min_span"), [(0, 0.05), (1.0, 0), (-1, 0.1)])
def test_bad_parameters(window: float, min_span: float) -> None:
    with pytest.raises(ValueError):
        SpeedMeter(window, min_span)


def test_a_head_start_spread_over_several_reads_is_left_out() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    # The server's first write (32 KiB) reaches the worker in three reads.
    for t, position in [(0.0004, 8 * KIB), (0.0009, 20 * KIB), (0.0013, 32 * KIB)]:
        assert meter.sample(t, position) == 0.0
    # Then 200 KiB/s in small chunks every 2 ms.
    now, position = 0.0013, 32 * KIB
    while now < 0.5:
        now += 0.002
        position += int(200 * KIB * 0.002)
        meter.sample(now, position)
    assert meter.speed == pytest.approx(200 * KIB, rel=0.05)


def test_samples_are_merged_so_the_window_stays_small() -> None:
    meter = SpeedMeter()
    meter.restart(0.0)
    now, position = 0.0, 0
    for _ in range(50_000):  # a chunk every 0.1 ms for 5 s
        now += 0.0001
        position += 100
        meter.sample(now, position)
    assert len(meter._samples) <= 1.0 / 0.02 + 3
    assert meter.speed == pytest.approx(1_000_000, rel=0.01)
