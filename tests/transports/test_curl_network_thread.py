"""The curl transport's network thread against real servers on 127.0.0.1.

What only the curl transport promises: no queue in front of a request (a
short GET is not held up by long-polls), cancel that removes a transfer at
once, retries on the loop's timer, progress read only for listeners, one
cookie store for every transfer, downloads alongside requests.
"""

from __future__ import annotations

import gc
import socket
import time
from collections.abc import Callable

import pytest

import httpops
from httpops._events import Event, Progress
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, content_sha256

EngineFactory = Callable[..., httpops.Engine]
LONG_POLLS = 200


def progress_puts(engine: httpops.Engine) -> list[Progress]:
    seen: list[Progress] = []
    original = engine.events.put

    def put(event: Event) -> None:
        if isinstance(event, Progress):
            seen.append(event)
        original(event)

    engine.events.put = put  # type: ignore[method-assign]
    return seen


@pytest.mark.slow
def test_a_short_get_is_not_queued_behind_long_polls(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = curl_engine()
    polls = [engine.get(server.url(f"/slow?delay=20&i={i}")) for i in range(LONG_POLLS)]
    # Every long-poll reaches the server at once: nothing waits for a worker.
    assert server.wait_for_requests(LONG_POLLS, timeout=15)
    started = time.monotonic()
    short = engine.get_json(server.url("/json"))
    assert engine.wait(short, timeout=10)
    assert short.value == {"hello": "world", "n": 1}
    assert time.monotonic() - started < 2.0  # generous: the machine is shared
    assert not any(op.done() for op in polls)
    for op in polls:
        op.cancel()


def test_cancel_during_connect_removes_the_transfer_at_once(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # the backlog is now full
    try:
        engine = curl_engine()
        op = engine.get(f"http://127.0.0.1:{port}/x", timeout=30)
        assert wait_for(lambda: op.state is httpops.State.RUNNING, timeout=5)
        op.cancel()
        assert engine.wait(op, timeout=5)
        assert op.state is httpops.State.CANCELED
        loop = engine.backend.loop  # type: ignore[attr-defined]
        # The network thread dropped it: nothing is left in libcurl.
        assert wait_for(lambda: not loop._active and not loop._by_op, timeout=5)
        after = engine.get(server.url("/text"))
        assert engine.wait(after, timeout=5) and after.state is httpops.State.DONE
    finally:
        filler.close()
        listener.close()


def test_retries_wait_on_the_loop_timer(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = curl_engine(retry=httpops.Retry(attempts=3, backoff=0.01))
    op = engine.get(server.url("/flaky/timer/2"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE and op.value.content == b"ok"
    assert server.hits("/flaky/timer/2") == 3
    # No thread slept through the back-off: the network thread is the only one.
    assert [t.name for t in engine.threads()] == ["httpops-curl"]


def test_progress_is_read_only_for_operations_someone_listens_to(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = curl_engine(progress_interval=0.0)
    puts = progress_puts(engine)
    quiet = engine.get(server.url("/bytes/300000"))
    assert engine.wait(quiet, timeout=10)
    assert puts == []
    assert quiet.received == quiet.total == 300000 and quiet.progress == 100.0
    heard: list[float | None] = []
    loud = engine.get(server.url("/bytes/300000"), on_progress=lambda op: heard.append(op.progress))
    assert engine.wait(loud, timeout=10)
    assert len(puts) >= 2 and puts[-1].received == 300000
    assert heard and heard[-1] == 100.0


def test_upload_progress_for_a_listened_post(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = curl_engine(progress_interval=0.0)
    puts = progress_puts(engine)
    body = b"u" * 2_000_000
    op = engine.post(server.url("/echo"), body, on_progress=lambda op: None)
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.json()["length"] == len(body)
    ups = [p for p in puts if p.direction == "up"]
    assert ups and ups[-1].received == ups[-1].total == len(body)


def test_one_cookie_store_for_concurrent_transfers(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = curl_engine()
    assert engine.get(server.url("/cookies/set?flavour=oat")).result(timeout=10).status == 200
    readers = [engine.get_json(server.url(f"/cookies?i={i}")) for i in range(10)]
    assert engine.wait(*readers, timeout=10)
    assert [op.value for op in readers] == [{"flavour": "oat"}] * 10


def test_a_stalled_download_does_not_hold_up_requests(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: object
) -> None:
    engine = curl_engine(downloads_dir=str(tmp_path))
    download = engine.download(server.url("/drip?bytes=50&interval=1"), "slow.bin")
    assert server.wait_for_requests(1)
    op = engine.get_json(server.url("/json"))
    assert op.result(timeout=5) == {"hello": "world", "n": 1}
    assert not download.done()
    names = sorted(t.name for t in engine.threads())
    assert names == ["httpops-curl", "httpops-download-1"]
    download.cancel()


def test_large_download_pauses_for_its_reader_and_verifies(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: object
) -> None:
    size = 20 * 1024 * 1024  # more than the 8 MiB the network thread buffers
    engine = curl_engine(downloads_dir=str(tmp_path))
    op = engine.download(
        server.url(f"/file/big.bin?size={size}"), "big.bin", sha256=content_sha256(size)
    )
    assert engine.wait(op, timeout=30)
    assert op.state is httpops.State.DONE, op.error
    assert op.received == size


@pytest.mark.slow
def test_a_download_pauses_while_its_reader_is_behind(
    curl_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from httpops.transports import curl_transfer
    from httpops.transports.curl import NetworkLoop

    monkeypatch.setattr(curl_transfer, "_HIGH_WATER", 64 * 1024)
    monkeypatch.setattr(curl_transfer, "_LOW_WATER", 16 * 1024)
    resumed: list[object] = []
    original = NetworkLoop.resume

    def resume(self: NetworkLoop, transfer: curl_transfer.StreamTransfer) -> None:
        resumed.append(transfer)
        original(self, transfer)

    monkeypatch.setattr(NetworkLoop, "resume", resume)
    # A rate-limited download keeps the read path (the others are written by the
    # network thread once the file is open, and pause only if the job comes late):
    # its reader is behind by design.
    size = 1024 * 1024
    engine = curl_engine(downloads_dir=str(tmp_path))
    op = engine.download(
        server.url(f"/file/paced.bin?size={size}"),
        "paced.bin",
        sha256=content_sha256(size),
        rate_limit=1024 * 1024,
    )
    assert engine.wait(op, timeout=30)
    assert op.state is httpops.State.DONE, op.error
    assert resumed  # the transfer paused at the high-water mark and was resumed


def test_an_engine_is_freed_after_close_even_with_images(
    server: HTTPTestServer, tmp_path: object
) -> None:
    import gc
    import weakref

    # Not make_engine: its list of engines would keep this one alive.
    config = httpops.Config(
        transport="curl", downloads_dir=str(tmp_path), image_cache_dir=f"{tmp_path}/img"
    )
    engine = httpops.Engine(config)
    op = engine.download_image(server.url("/image/png"))
    assert engine.wait(op, timeout=10) and op.state is httpops.State.DONE, op.error
    engine.close()
    assert not any(t.is_alive() for t in engine.threads())
    ref = weakref.ref(engine)
    del engine, op
    gc.collect()
    # The image service keeps the engine's stream transport in a per-engine
    # WeakKeyDictionary; that transport must not keep the engine alive.
    assert ref() is None


def test_a_fetch_in_flight_keeps_neither_its_job_nor_its_spec(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    # The transfer copies what it needs, so the job and its spec die young instead of
    # being promoted by the cyclic GC for every request in flight (docs/game-loop.md).
    from httpops.transports import FetchSpec, Job

    engine = curl_engine()
    op = engine.get(server.url("/slow?delay=20"))
    assert server.wait_for_requests(1, timeout=10)  # on the wire: the loop has taken it in

    def held() -> list[object]:
        return [
            o
            for o in gc.get_objects()
            if (type(o) is Job and o.op is op) or (type(o) is FetchSpec and o.request.url == op.url)
        ]

    assert wait_for(lambda: not held(), timeout=5), held()
    op.cancel()
    assert engine.wait(op, timeout=10)
