"""Retry policy: backoff on retryable statuses and transport errors, idempotent methods only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from tests.servers import HTTPTestServer, RawTCPServer, close_immediately

EngineFactory = Callable[..., httpops.Engine]

FAST = httpops.Retry(attempts=3, backoff=0.001, max_backoff=0.01)


def test_flaky_get_succeeds_after_retries(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    op = engine.get(server.url("/flaky/get/2"))
    assert op.result(timeout=10).text == "ok"
    assert server.hits("/flaky/get/2") == 3


def test_retries_run_out_and_the_last_answer_stands(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(retry=httpops.Retry(attempts=1, backoff=0.001)))
    op = engine.get(server.url("/flaky/out/5"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 503
    assert op.response is not None and op.response.text == "unavailable"
    assert server.hits("/flaky/out/5") == 2


def test_no_retry_by_default(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.get(server.url("/flaky/default/1"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError)
    assert server.hits("/flaky/default/1") == 1


def test_post_is_not_retried(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    op = engine.post(server.url("/flaky/post/1"), b"once")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 503
    assert server.hits("/flaky/post/1") == 1


def test_post_is_retried_when_asked(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    retry = httpops.Retry(attempts=3, backoff=0.001, retry_non_idempotent=True)
    engine = make_engine(httpops.Config(retry=retry))
    op = engine.post(server.url("/flaky/post2/2"), b"again")
    assert op.result(timeout=10).text == "ok"
    assert [r.body for r in server.requests] == [b"again"] * 3


def test_retry_after_zero_is_honoured_over_a_long_backoff(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    # /flaky answers 503 with Retry-After: 0; the 20 s backoff must not be waited out.
    engine = make_engine(httpops.Config(retry=httpops.Retry(attempts=2, backoff=20)))
    started = time.monotonic()
    assert engine.get(server.url("/flaky/ra/1")).result(timeout=10).text == "ok"
    assert time.monotonic() - started < 5


def test_retry_after_seconds_are_used(
    make_engine: EngineFactory, server: HTTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[tuple[int, float | None, float]] = []
    real = httpops.Retry.delay

    def delay(self: httpops.Retry, attempt: int, rand: float, retry_after: Any = None) -> float:
        result = real(self, attempt, rand, retry_after)
        delays.append((attempt, retry_after, result))
        return result

    monkeypatch.setattr(httpops.Retry, "delay", delay)
    retry = httpops.Retry(attempts=2, backoff=0.001, max_backoff=0.05)
    engine = make_engine(httpops.Config(retry=retry))
    op = engine.get(server.url("/status/429?retry_after=7"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 429
    # Retry-After: 7 was read, and capped at max_backoff.
    assert delays == [(0, 7.0, 0.05), (1, 7.0, 0.05)]


def test_transport_errors_are_retried(make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    with RawTCPServer(close_immediately) as raw:
        op = engine.get(raw.base_url + "/x")
        assert engine.wait(op, timeout=10)
        assert raw.accepted == 4
    assert isinstance(op.error, httpops.ConnectError)


def test_cancel_wakes_a_retry_backoff(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine(httpops.Config(retry=httpops.Retry(attempts=3, backoff=30)))
    op = engine.get(server.url("/status/500"))
    assert server.wait_for_requests(1)
    started = time.monotonic()
    op.cancel()
    assert engine.wait(op, timeout=5)
    assert op.state is httpops.State.CANCELED
    follow = engine.get(server.url("/json"))  # a worker is free again well before 30 s
    assert engine.wait(follow, timeout=5)
    assert time.monotonic() - started < 3
    assert server.hits("/status/500") == 1
