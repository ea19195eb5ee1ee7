"""rate_limit= and Config(max_download_rate=...): caps on how fast downloads receive.

The lower bounds on elapsed time are exact by construction (a bucket starts
with at most its burst, then allows ``rate`` bytes per second), so they hold
under any load; upper bounds are loose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops._bandwidth import BURST_SECONDS
from tests.conftest import wait_for
from tests.servers.paced import PacedServer, body_bytes

Make = Callable[..., httpops.Engine]
Conf = Callable[..., httpops.Config]


def _burst(rate: int) -> float:
    return max(1024.0, rate * BURST_SECONDS)


def test_rate_limit_caps_one_download(make_engine: Make, config: Conf, paced: PacedServer) -> None:
    engine = make_engine(config())
    size, rate = 96 * 1024, 128 * 1024
    started = time.monotonic()
    op = engine.download(paced.url(f"/fast/{size}"), "capped.bin", rate_limit=rate)
    assert op.rate_limit == rate
    assert engine.wait(op, timeout=10)
    elapsed = time.monotonic() - started
    assert op.state is httpops.State.DONE, op.error
    assert Path(op.value).read_bytes() == body_bytes(size)
    assert elapsed >= (size - _burst(rate)) / rate
    assert op.speed <= rate * 1.3  # the speed shown is the capped one


@pytest.mark.slow
def test_max_download_rate_is_shared_by_every_download(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    rate = 128 * 1024
    engine = make_engine(config(max_download_rate=rate))
    size = 40 * 1024
    started = time.monotonic()
    ops = [engine.download(paced.url(f"/fast/{size}"), f"f{i}.bin") for i in range(3)]
    assert engine.wait(*ops, timeout=10)
    elapsed = time.monotonic() - started
    assert [op.state for op in ops] == [httpops.State.DONE] * 3
    # Together they moved 3 * size at the one shared rate.
    assert elapsed >= (3 * size - _burst(rate)) / rate


def test_requests_and_images_are_not_capped(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    engine = make_engine(config(max_download_rate=1))  # one byte per second
    started = time.monotonic()
    op = engine.get(paced.url(f"/fast/{256 * 1024}"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE
    assert time.monotonic() - started < 5  # 1 B/s would take three days


def _stuck_download(
    engine: httpops.Engine, paced: PacedServer, **kwargs: object
) -> httpops.Operation:
    """A download held back by a 1 B/s cap right after its first read (1023 s of debt)."""
    op = engine.download(paced.url(f"/fast/{1024 * 1024}"), "stuck.bin", **kwargs)  # type: ignore[arg-type]
    assert wait_for(lambda: engine.poll() >= 0 and op.received > 0, timeout=5)
    return op


def test_a_rate_limited_download_cancels_at_once(
    make_engine: Make, config: Conf, paced: PacedServer, tmp_path: Path
) -> None:
    engine = make_engine(config())
    op = _stuck_download(engine, paced, rate_limit=1)
    worker = next(t for t in engine.threads() if t.name.startswith("httpops-download"))
    assert engine.cancel(op)
    assert engine.wait(op, timeout=5)
    assert op.state is httpops.State.CANCELED
    # The worker woke from the bucket's wait and is free for the next download.
    nxt = engine.download(paced.url("/fast/1000"), "next.bin")
    assert engine.wait(nxt, timeout=5) and nxt.state is httpops.State.DONE
    assert worker.is_alive()
    assert not (tmp_path / "downloads" / "stuck.bin").exists()


def test_close_does_not_wait_for_the_bucket(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    engine = make_engine(config(max_download_rate=1))
    op = _stuck_download(engine, paced)
    started = time.monotonic()
    engine.close(timeout=10)
    assert time.monotonic() - started < 2
    assert not any(t.is_alive() for t in engine.threads())
    engine.poll()
    assert op.state is httpops.State.CANCELED


@pytest.mark.slow
def test_time_held_back_by_our_cap_is_not_a_low_speed_failure(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    # The cap (8 KiB/s) is far under the low-speed limit (64 KiB/s) and the
    # download takes several low-speed windows: only the time the server
    # itself took counts, and the loopback server is fast. (A window of 0.5 s: on a
    # loaded machine the connect alone may take a 0.2 s one.)
    engine = make_engine(config(low_speed_limit=64 * 1024, low_speed_time=0.5))
    size, rate = 16 * 1024, 8 * 1024
    op = engine.download(paced.url(f"/fast/{size}"), "slowly.bin", rate_limit=rate)
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error


def test_a_slow_server_still_fails_the_low_speed_rule_under_a_cap(
    make_engine: Make, config: Conf, paced: PacedServer
) -> None:
    # The server drips 500 B/s; the cap (1 MB/s) never holds the reads back.
    engine = make_engine(config(low_speed_limit=2048, low_speed_time=0.3))
    op = engine.download(paced.url("/paced/500/100000"), "drip.bin", rate_limit=1_000_000)
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.FAILED
    assert isinstance(op.error, httpops.ReadTimeout)
    assert "low-speed limit" in str(op.error)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "fast"])
def test_a_bad_rate_limit_fails_at_the_call(make_engine: Make, config: Conf, bad: object) -> None:
    engine = make_engine(config())
    with pytest.raises(httpops.InvalidArgument, match="rate_limit must be an integer"):
        engine.download("http://127.0.0.1:9/x", "x.bin", rate_limit=bad)  # type: ignore[arg-type]
    assert engine.operations == {}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_bad_max_download_rate_fails_in_config(bad: object) -> None:
    with pytest.raises(httpops.InvalidArgument, match="max_download_rate must be an integer"):
        httpops.Config(max_download_rate=bad)  # type: ignore[arg-type]
