"""Shutdown with work in flight, and user callbacks that raise.

* ``close()`` with hundreds of requests and downloads in flight (most still
  queued) and a dozen open WebSockets returns within its timeout, and every
  thread it started has been joined by the time it returns.
* A script that ends while the default engine is busy exits promptly
  (atexit closes it) and prints nothing.
* A callback that raises is logged with its traceback and the rest of the
  queue is still dispatched; ``Config(raise_callback_errors=True)`` re-raises
  it from ``poll()`` instead, and the next ``poll()`` carries on.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import httpops
from httpops._transfer import Outcome
from tests.conftest import wait_for
from tests.servers import RawTCPServer, WSTestServer
from tests.servers import misbehaving as mb

Start = Callable[..., RawTCPServer]
CLOSE_TIMEOUT = 3.0


def _httpops_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("httpops-")]


def test_close_with_hundreds_in_flight_and_a_dozen_websockets(
    raw: Start,
    ws_server: WSTestServer,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    tmp_path: Path,
) -> None:
    # Bodies that never end and never stall: only close() can stop these workers.
    server = raw(mb.drip(60_000_000, interval=0.02, chunk=64))  # under max_body_bytes
    # A fixed pool of 8 (the rest queued): elastic workers would put all 200 into
    # connect(), which close() cannot interrupt.
    engine = make_engine(fast_config(max_workers=8, read_timeout=5.0, max_elastic_workers=0))
    completions: dict[int, int] = {}

    def count(op: Any) -> None:
        completions[op.id] = completions.get(op.id, 0) + 1

    ops = [engine.get(f"{server.base_url}/g{i}", count) for i in range(200)]
    ops += [engine.download(f"{server.base_url}/d{i}", f"d{i}.bin", count) for i in range(100)]
    closes: list[tuple[int, str]] = []
    opened: list[int] = []
    sockets = [
        engine.websocket(
            ws_server.url("/echo"),
            on_open=lambda ws, again: opened.append(ws.id),
            on_close=lambda ws, code, reason: closes.append((code, reason)),
        )
        for _ in range(12)
    ]
    assert server.wait_for_connections(8, timeout=5)  # every worker is inside a body

    def all_open() -> bool:
        engine.poll()
        return len(opened) == 12

    assert wait_for(all_open, timeout=5)
    started = time.monotonic()
    engine.close(timeout=CLOSE_TIMEOUT)
    took = time.monotonic() - started
    assert took < CLOSE_TIMEOUT, f"close() took {took:.2f}s"
    assert _httpops_threads() == []  # joined before close() returned, not eventually
    # Every completion is still delivered, once, by the next poll.
    assert engine.run_until_idle(timeout=2)
    assert sorted(completions) == sorted(op.id for op in ops)
    assert set(completions.values()) == {1}
    assert all(op.state is httpops.State.CANCELED for op in ops)
    assert len(closes) == 12, closes
    assert [ws.state for ws in sockets] == ["closed"] * 12
    downloads = tmp_path / "downloads"
    assert not downloads.exists() or [p.name for p in downloads.iterdir()] == []


SCRIPT = textwrap.dedent(
    """
    import sys
    import httpops

    url, ws_url = sys.argv[1], sys.argv[2]
    for i in range(50):
        httpops.HTTP.get(f"{url}/{i}", lambda data, err: None)
    httpops.HTTP.webSocket(ws_url, {"onMessage": lambda message, op_id: None})
    engine = httpops.default_engine()
    while not any(t.name.startswith("httpops-ws") for t in __import__("threading").enumerate()):
        engine.events.wait_nonempty(0.01)
    print("busy", len(engine.operations), flush=True)
    # The script ends here, with everything in flight: atexit closes the engine.
    """
)


def test_script_ending_with_work_in_flight_exits_promptly(
    raw: Start, ws_server: WSTestServer, tmp_path: Path
) -> None:
    server = raw(mb.never_answer)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), server.base_url, ws_server.url("/echo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).parents[2]),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ended_from = time.monotonic()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    took = time.monotonic() - ended_from
    assert line.startswith("busy 51"), (line, err)
    assert proc.returncode == 0, err
    assert err == "" and out == ""  # the library printed nothing, warned about nothing
    assert took < 2.0, f"exit took {took:.2f}s after the script ended"


def _instant(engine: httpops.Engine, name: str, callback: Any) -> httpops.Operation:
    """An operation whose work needs no network: it completes at once with ``name``."""
    return engine._start(
        "get", "GET", f"http://127.0.0.1:9/{name}", lambda ctx: Outcome(name), callback
    )


def _queued(engine: httpops.Engine, name: str, callback: Any) -> httpops.Operation:
    """An operation completed at once, in call order, so the dispatch order is known."""
    op = engine._register("get", "GET", f"http://127.0.0.1:9/{name}", callback)
    engine._mark_running(op)
    engine._complete(op, httpops.State.DONE, value=name)
    return op


def test_a_raising_callback_is_logged_and_the_rest_still_run(
    make_engine: Callable[..., httpops.Engine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    ran: list[str] = []
    heard: list[str] = []

    def boom(op: httpops.Operation) -> None:
        ran.append(op.value)
        raise RuntimeError("callback bug")

    engine.connect(on_get=lambda op_id, url, err, data: heard.append(data))
    ops = [
        _queued(engine, "first", lambda op: ran.append(op.value)),
        _queued(engine, "second", boom),
        _queued(engine, "third", lambda op: ran.append(op.value)),
    ]
    with caplog.at_level(logging.ERROR, logger="httpops"):
        assert engine.wait(*ops, timeout=5)
    assert ran == ["first", "second", "third"]
    assert heard == ["first", "second", "third"]
    [record] = [r for r in caplog.records if "raised" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "callback bug" in caplog.text and "Traceback" in caplog.text


def test_a_raising_listener_does_not_stop_the_callback(
    make_engine: Callable[..., httpops.Engine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    ran: list[str] = []

    def bad_listener(*args: Any) -> None:
        raise ValueError("listener bug")

    engine.connect(on_get=bad_listener)
    op = _instant(engine, "only", lambda op: ran.append(op.value))
    with caplog.at_level(logging.ERROR, logger="httpops"):
        assert engine.wait(op, timeout=5)
    assert ran == ["only"]
    assert "listener bug" in caplog.text


def test_raise_callback_errors_re_raises_from_poll(
    make_engine: Callable[..., httpops.Engine],
) -> None:
    engine = make_engine(httpops.Config(raise_callback_errors=True))
    ran: list[str] = []

    def boom(op: httpops.Operation) -> None:
        raise ZeroDivisionError("for tests")

    first = _instant(engine, "first", boom)
    second = _instant(engine, "second", lambda op: ran.append(op.value))
    assert wait_for(lambda: len(engine.events.items) == 2, timeout=5)
    with pytest.raises(ZeroDivisionError, match="for tests"):
        engine.poll()
    assert first.done()  # its state changed before the callback ran
    engine.poll()  # the next tick carries on with what was left
    assert second.done() and ran == ["second"]
