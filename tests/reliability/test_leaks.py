"""Nothing accumulates: descriptors, threads and objects stay flat over repeated work.

The autouse check in conftest compares the process before and after each
test; these tests look *during* a long-lived engine's life, where a leak
would otherwise hide until ``close()``: a socket per failed request, a
thread per WebSocket, an operation kept forever by the registry.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable

import pytest

import httpops
from tests.conftest import wait_for
from tests.reliability.support import fd_count
from tests.servers import HTTPTestServer, RawTCPServer, WSTestServer
from tests.servers import misbehaving as mb

Start = Callable[..., RawTCPServer]


@pytest.mark.slow
def test_failing_requests_do_not_accumulate_descriptors(
    raw: Start,
    http_server: HTTPTestServer,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    failing = [
        raw(mb.body_then_reset(10_000, 100)),
        raw(mb.length_mismatch(1000, 10)),
        raw(mb.broken_chunked),
        raw(mb.redirect_loop),
        raw(mb.status(503, [("Retry-After", "1")])),
        raw(mb.enormous_headers("count")),
    ]
    # A fixed pool: elastic workers would add connections (not leaks) as they start.
    engine = make_engine(fast_config(max_workers=4, max_redirects=3, max_elastic_workers=0))
    levels = []
    for _round in range(6):
        ops = [engine.get(f"{s.base_url}/r") for s in failing for _ in range(5)]
        ops += [engine.get(f"{http_server.base_url}/json") for _ in range(10)]
        assert engine.wait(*ops, timeout=10)
        assert all(op.error is not None for op in ops[:30])
        gc.collect()
        levels.append(fd_count())
    # Both ends of every socket count, and keep-alive pools come and go by a few;
    # a leak would add 30 (one per failed request) each round.
    assert max(levels[2:]) <= max(levels[:2]) + 8, levels


def test_websocket_cycles_leave_no_thread_behind(
    ws_server: WSTestServer, make_engine: Callable[..., httpops.Engine]
) -> None:
    engine = make_engine(httpops.Config(ws_ping_interval=0.05))
    echoed: list[str] = []

    def cycle(i: int) -> None:
        ws = engine.websocket(
            ws_server.url("/echo"), on_message=lambda ws, m: (echoed.append(m), ws.close())
        )
        ws.send(f"cycle {i}")
        assert engine.wait(ws.operation, timeout=5)
        assert echoed[-1] == f"cycle {i}"

    cycle(0)  # warm-up: the server side keeps one selector of its own once used
    gc.collect()
    base_threads = set(threading.enumerate())
    base_fds = fd_count()
    for i in range(1, 16):
        cycle(i)
    gc.collect()
    assert wait_for(lambda: not set(threading.enumerate()) - base_threads, timeout=5), [
        t.name for t in set(threading.enumerate()) - base_threads
    ]
    assert wait_for(lambda: fd_count() <= base_fds, timeout=5)


def test_finished_operations_and_closed_engines_are_not_retained(
    http_server: HTTPTestServer, fast_config: Callable[..., httpops.Config]
) -> None:
    engine = httpops.Engine(fast_config())
    ops = [engine.get(f"{http_server.base_url}/json") for _ in range(20)]
    ops.append(engine.get(f"{http_server.base_url}/status/500"))
    assert engine.wait(*ops, timeout=10)
    del ops

    def kept() -> list[httpops.Operation]:
        gc.collect()
        return [o for o in gc.get_objects() if isinstance(o, httpops.Operation)]

    # A worker lets go of the job it last ran a moment after the operation completes.
    assert wait_for(lambda: not kept()), "the engine kept finished operations"
    engine.close()
    engine_ref = weakref.ref(engine)
    del engine
    gc.collect()
    assert engine_ref() is None, "something still holds a closed engine"


@pytest.mark.slow
def test_soak_harness_runs_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    # The soak itself (make soak, .ci/run) in miniature: it must pass its own checks.
    from soak.__main__ import main

    assert main(["--seconds", "1.5", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "soak: OK" in out and "VIOLATION" not in out
    assert "faults injected:" in out and "peak" in out


class _Marker:
    """A callback whose only holder is its operation: freed when the operation is."""

    def __call__(self, op: httpops.Operation) -> None:
        pass


def test_a_finished_request_is_freed_by_reference_counting_alone(
    http_server: HTTPTestServer,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # No reference cycle per request: with the cyclic collector off (as a game may
    # keep it during play), a finished GET and everything it held are freed.
    engine = make_engine(fast_config())
    assert engine.get(f"{http_server.base_url}/json").result(timeout=10)  # warm up
    gc.collect()
    gc.disable()
    try:
        # One that succeeds, one the server fails, one that cannot connect.
        for path, ok in (("/json", True), ("/status/404", False), (None, False)):
            marker = _Marker()
            gone = weakref.ref(marker)
            url = "http://127.0.0.1:9/" if path is None else f"{http_server.base_url}{path}"
            op = engine.get(url, marker)
            del marker
            assert engine.wait(op, timeout=10) and (op.error is None) is ok, op.error
            del op
            # The worker that ran it lets go of its job a moment later.
            assert wait_for(lambda ref=gone: ref() is None), f"{path}: kept by a reference cycle"
    finally:
        gc.enable()
