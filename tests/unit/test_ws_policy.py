"""Reconnect policy (pure): validation, backoff arithmetic, what is retried."""

from __future__ import annotations

import pytest

import httpops
from httpops import Reconnect

URL = "ws://127.0.0.1:9/x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts must be >= 1"),
        ({"attempts": 1.5}, "attempts must be an int or None"),
        ({"attempts": True}, "attempts must be an int or None"),
        ({"backoff": -1}, "backoff must be >= 0"),
        ({"max_backoff": float("inf")}, "max_backoff must be >= 0 and finite"),
        ({"backoff": "1"}, "backoff must be a number"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
        ({"on_server_close": 1}, "on_server_close must be a bool"),
        ({"attempts": None, "backoff": 0}, "backoff must be >= 0.1"),
        ({"backoff": 0.01}, "backoff must be >= 0.1"),
        ({"backoff": 0.5, "max_backoff": 0.2}, "max_backoff .* must be >= backoff"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(httpops.InvalidArgument, match=message):
        Reconnect(**kwargs)  # type: ignore[arg-type]


def test_delay_doubles_up_to_the_cap_without_jitter() -> None:
    policy = Reconnect(backoff=0.5, max_backoff=3.0, jitter=0.0)
    assert [policy.delay(n, 0.7) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10_000, 0.5) == 3.0  # no overflow for long outages


def test_no_delay_is_shorter_than_the_minimum() -> None:
    # Full jitter could bring a delay to ~0: the floor keeps a reconnect loop slow.
    policy = Reconnect(backoff=0.1, max_backoff=0.1, jitter=1.0)
    assert policy.delay(0, 0.0) == 0.1


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.7), (0.5, 1.0), (0.999, 1.2994)])
def test_jitter_spreads_the_delay(rand: float, factor: float) -> None:
    policy = Reconnect(backoff=1.0, max_backoff=10.0, jitter=0.3)
    assert policy.delay(1, rand) == pytest.approx(2.0 * factor, rel=1e-3)


def test_attempt_cap() -> None:
    policy = Reconnect(attempts=2)
    drop = httpops.ConnectionDropped("WS", URL, "gone")
    assert [policy.should_retry(n, drop) for n in range(4)] == [True, True, False, False]
    assert Reconnect(attempts=None).should_retry(10**6, drop)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (httpops.ConnectionDropped("WS", URL, "gone"), True),
        (httpops.ConnectError("WS", URL, "connection refused"), True),
        (httpops.ResolveError("WS", URL, "no such host"), True),
        (httpops.ConnectTimeout("WS", URL, "slow"), True),
        (httpops.ReadTimeout("WS", URL, "no pong"), True),
        (httpops.TLSError("WS", URL, "bad certificate"), False),
        (httpops.HTTPStatusError("WS", URL, 503), True),
        (httpops.HTTPStatusError("WS", URL, 429), True),
        (httpops.HTTPStatusError("WS", URL, 404), False),
        (httpops.BodyTooLarge("WS", URL, "huge"), False),
    ],
)
def test_what_is_retried(error: httpops.OperationError, retried: bool) -> None:
    assert Reconnect().should_retry(0, error) is retried


def test_clean_server_close_is_retried_only_when_asked() -> None:
    assert Reconnect().should_retry(0, None) is False
    assert Reconnect(on_server_close=True).should_retry(0, None) is True
