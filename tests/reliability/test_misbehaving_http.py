"""HTTP servers that misbehave on purpose: every operation ends once, on time, with a clear error.

Each case runs against a raw-socket peer from :mod:`tests.servers.misbehaving`
with a 0.5 s stall timeout. For each one: exactly one completion, on the
polling thread, within the timeout (plus scheduling slack), an error whose
text starts with the stable phrase and names the URL; downloads leave nothing
at the target; and the autouse leak check finds every thread and descriptor
back at its baseline once the engine and the server are closed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from tests.reliability.support import Ending, assert_error, finish
from tests.servers import RawTCPServer
from tests.servers import misbehaving as mb
from tests.servers.raw import Handler

Start = Callable[..., RawTCPServer]
# Slack for thread scheduling on a loaded 2-core machine, over the configured timeout.
SLACK = 1.5
STALL = 0.5  # fast_config's read_timeout


def _start(engine: httpops.Engine, kind: str, url: str, ending: Ending) -> httpops.Operation:
    if kind == "get":
        return engine.get(url, ending)
    if kind == "download":
        return engine.download(url, "target.bin", ending)
    return engine.download_image(url, ending)


# Handler, phrase, and words the detail must contain.
FAILING: dict[str, tuple[Handler, str, tuple[str, ...]]] = {
    "never-answers": (mb.never_answer, "timeout", ("read timeout",)),
    "headers-then-stall": (mb.headers_then_stall(1000), "timeout", ("read timeout",)),
    "body-then-reset": (mb.body_then_reset(100_000, 10_000), "connection error", ()),
    "length-larger": (mb.length_mismatch(1000, 400), "connection error", ("before the body",)),
    "broken-chunked": (mb.broken_chunked, "connection error", ()),
    "drip-over-stall": (mb.drip(5, interval=STALL * 3), "timeout", ("read timeout",)),
}


@pytest.mark.parametrize("kind", ["get", "download", "image"])
@pytest.mark.parametrize("case", sorted(FAILING))
def test_misbehaving_server_fails_once_in_time(
    case: str,
    kind: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    tmp_path: Path,
) -> None:
    handler, phrase, details = FAILING[case]
    server = raw(handler)
    engine = make_engine(fast_config())
    url = f"{server.base_url}/{case}"
    ending = Ending()
    op = _start(engine, kind, url, ending)
    finish(engine, op, ending, limit=STALL + SLACK)
    assert_error(op, phrase, *details)
    downloads = tmp_path / "downloads"
    assert not (downloads / "target.bin").exists()
    # No validator (ETag) was offered, so nothing is kept for a resume either.
    assert not downloads.exists() or list(downloads.iterdir()) == []
    # The image cache keeps nothing of a failed fetch (no temporary, no entry).
    images = tmp_path / "images"
    assert not images.exists() or [p for p in images.rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_drip_just_under_the_stall_timeout_succeeds(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # Six bytes 0.2 s apart: the whole body takes longer than the stall timeout, no gap does.
    server = raw(mb.drip(6, interval=STALL * 0.4))
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(f"{server.base_url}/drip", ending)
    finish(engine, op, ending, limit=6 * STALL * 0.4 + SLACK)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.content == b"dddddd"
    assert ending.elapsed > STALL  # longer than one stall timeout in total, as intended


def test_content_length_smaller_than_the_body_takes_the_declared_bytes(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # No client can tell surplus bytes from the next response; what matters is that
    # they do not poison the next request on the same keep-alive connection.
    server = raw(mb.length_mismatch(10, 30))
    engine = make_engine(fast_config(max_workers=1))
    for _ in range(3):
        ending = Ending()
        op = engine.get(f"{server.base_url}/short", ending)
        finish(engine, op, ending, limit=STALL + SLACK)
        assert op.state is httpops.State.DONE, op.error
        assert op.value.content == b"L" * 10


@pytest.mark.parametrize("kind", ["line", "count"])
def test_enormous_headers_fail_with_a_clear_error(
    kind: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    server = raw(mb.enormous_headers(kind))
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(f"{server.base_url}/huge-head", ending)
    finish(engine, op, ending, limit=STALL + SLACK)
    assert_error(op, "connection error", "header")


def test_endless_redirect_loop_stops_at_the_limit(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    server = raw(mb.redirect_loop)
    engine = make_engine(fast_config(max_redirects=5))
    ending = Ending()
    op = engine.get(f"{server.base_url}/loop", ending)
    finish(engine, op, ending, limit=STALL + SLACK)
    assert_error(op, "redirect error", "more than 5 redirects")
    assert isinstance(op.error, httpops.TooManyRedirects)


SECRET = "Bearer do-not-leak"


@pytest.mark.parametrize("target_host", ["127.0.0.1-other-port", "localhost"])
def test_authorization_does_not_follow_a_redirect_to_another_host(
    target_host: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    seen: list[bytes] = []
    target = raw(mb.recording_ok(seen))
    host = "localhost" if target_host == "localhost" else "127.0.0.1"
    origin = raw(mb.redirect_to(f"http://{host}:{target.port}/landing"))
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(
        f"{origin.base_url}/start", ending, headers={"Authorization": SECRET, "X-Trace": "t1"}
    )
    finish(engine, op, ending, limit=STALL + SLACK)
    assert op.state is httpops.State.DONE, op.error
    assert len(seen) == 1
    head = seen[0].lower()
    assert b"authorization" not in head and b"do-not-leak" not in head
    # Documented in docs/security.md: other custom headers are sent again.
    assert b"x-trace: t1" in head


def test_authorization_is_kept_on_a_same_origin_redirect(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # The control for the test above: the header is really sent when the origin is the same.
    seen: list[bytes] = []
    server = raw(mb.recording_ok(seen))
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(f"{server.base_url}/x", ending, headers={"Authorization": SECRET})
    finish(engine, op, ending, limit=STALL + SLACK)
    assert op.state is httpops.State.DONE, op.error
    assert b"do-not-leak" in seen[0]


@pytest.mark.parametrize("code", [500, 503, 429])
def test_error_status_without_retry_fails_once_and_keeps_the_response(
    code: int,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    server = raw(mb.status(code, [("Retry-After", "120")], b"busy"))
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(f"{server.base_url}/busy", ending)
    finish(engine, op, ending, limit=STALL + SLACK)
    assert_error(op, f"Invalid http status code ({code})")
    assert isinstance(op.error, httpops.HTTPStatusError)
    assert op.error.response is not None
    assert op.error.response.headers["Retry-After"] == "120"


@pytest.mark.parametrize("code", [503, 429])
def test_retry_after_is_honoured_but_capped(
    code: int,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # An hour of Retry-After must not hold the operation for an hour: max_backoff caps it.
    seen: list[bytes] = []
    server = raw(mb.status(code, [("Retry-After", "3600")], sink=seen))
    retry = httpops.Retry(attempts=2, backoff=0.01, max_backoff=0.2, jitter=0.0)
    engine = make_engine(fast_config(retry=retry))
    ending = Ending()
    op = engine.get(f"{server.base_url}/later", ending)
    finish(engine, op, ending, limit=2 * 0.2 + STALL + SLACK)
    assert_error(op, f"Invalid http status code ({code})")
    assert len(seen) == 3  # the first try and two retries, then one completion
    assert ending.elapsed >= 0.4  # both waits happened


def test_post_is_not_retried_on_503_by_default(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    seen: list[bytes] = []
    server = raw(mb.status(503, [("Retry-After", "0")], sink=seen))
    engine = make_engine(fast_config(retry=httpops.Retry(attempts=3, backoff=0.01)))
    ending = Ending()
    op = engine.post(f"{server.base_url}/pay", b"once", ending)
    finish(engine, op, ending, limit=STALL + SLACK)
    assert_error(op, "Invalid http status code (503)")
    assert len(seen) == 1


def test_refused_connection_fails_at_once(
    make_engine: Callable[..., httpops.Engine], fast_config: Callable[..., httpops.Config]
) -> None:
    with RawTCPServer(mb.never_answer) as gone:
        url = f"{gone.base_url}/closed-port"
    engine = make_engine(fast_config())
    ending = Ending()
    op = engine.get(url, ending)
    finish(engine, op, ending, limit=SLACK)
    assert_error(op, "connection error", "refused")


def test_many_misbehaving_requests_at_once_each_end_once(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # A mix in flight together on few workers: no completion is lost or doubled.
    servers = [raw(h) for h, _, _ in FAILING.values()]
    engine = make_engine(fast_config(max_workers=8))
    endings = [Ending() for _ in range(24)]
    ops = [
        engine.get(f"{servers[i % len(servers)].base_url}/{i}", ending)
        for i, ending in enumerate(endings)
    ]
    # 24 operations on 8 workers, each ending within one stall: three rounds at most.
    assert engine.wait(*ops, timeout=3 * (STALL + SLACK) + 3)
    assert engine.run_until_idle(timeout=2)
    assert all(len(e.calls) == 1 for e in endings)
    assert all(op.state is httpops.State.FAILED for op in ops)
    assert all(op.url in str(op.error) for op in ops)
