"""Config and Retry: validated at construction, messages name the field and the value."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import pytest

import httpops
from httpops import Config, Retry


def test_defaults() -> None:
    config = Config()
    assert config.user_agent == f"httpops/{httpops.__version__}"
    assert config.verify is True
    assert config.retry is None
    assert config.deadline is not None and math.isfinite(config.deadline)
    assert config.max_body_bytes == 64 * 1024 * 1024
    assert config.max_workers >= 1


def test_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_workers = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.headers["X"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connect_timeout": 0}, "connect_timeout must be a finite number of seconds > 0, got 0"),
        ({"read_timeout": -1}, "read_timeout must be a finite number of seconds > 0, got -1"),
        (
            {"read_timeout": math.inf},
            "read_timeout must be a finite number of seconds > 0, got inf",
        ),
        ({"connect_timeout": None}, "connect_timeout must be a number of seconds > 0, got None"),
        ({"deadline": "5"}, "deadline must be a number of seconds > 0, got '5'"),
        ({"deadline": math.nan}, "deadline must be a finite number of seconds > 0, got nan"),
        ({"max_workers": 0}, "max_workers must be an integer >= 1, got 0"),
        ({"max_workers": True}, "max_workers must be an integer >= 1, got True"),
        ({"max_body_bytes": 1.5}, "max_body_bytes must be an integer >= 1, got 1.5"),
        ({"max_redirects": -1}, "max_redirects must be an integer >= 0, got -1"),
        ({"chunk_size": 10}, "chunk_size must be an integer >= 1024, got 10"),
        ({"progress_interval": -0.1}, "progress_interval must be >= 0 seconds, got -0.1"),
        ({"verify": "/no/such/ca.pem"}, "verify: CA bundle '/no/such/ca.pem' does not exist"),
        ({"verify": 1}, "verify must be True, False or a CA bundle path, got 1"),
        ({"retry": 3}, "retry must be a Retry or None, got 3"),
        ({"headers": {"X-A": "1\r\nX-B: 2"}}, "header value of 'X-A' must not contain CR, LF"),
        ({"headers": {"Bad Name": "1"}}, "header name is not a valid token: 'Bad Name'"),
        ({"user_agent": "a\nb"}, "header value of 'User-Agent' must not contain CR, LF"),
    ],
)
def test_invalid_fields_are_named_with_their_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(httpops.InvalidArgument) as caught:
        Config(**kwargs)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_deadline_none_means_no_deadline() -> None:
    assert Config(deadline=None).deadline is None


def test_ca_bundle_path_accepted(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked here")
    assert Config(verify=str(bundle)).verify == str(bundle)


def test_headers_are_copied(tmp_path: Path) -> None:
    headers = {"X-A": "1"}
    config = Config(headers=headers)
    headers["X-A"] = "2"
    assert dict(config.headers) == {"X-A": "1"}


def test_verify_false_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="httpops"):
        Config(verify=False).log_insecure()
        Config().log_insecure()
    assert [r.getMessage() for r in caplog.records] == [
        "TLS certificate verification is DISABLED (Config.verify=False)"
    ]


# -- Retry ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": -1}, "Retry.attempts must be an integer >= 0, got -1"),
        ({"backoff": -1}, "Retry.backoff must be >= 0, got -1"),
        ({"backoff": math.inf}, "Retry.backoff must be >= 0, got inf"),
        ({"max_backoff": 0}, "Retry.max_backoff must be a finite number of seconds > 0, got 0"),
        ({"jitter": 1.5}, "Retry.jitter must be between 0 and 1, got 1.5"),
    ],
)
def test_retry_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(httpops.InvalidArgument) as caught:
        Retry(**kwargs)
    assert message in str(caught.value)


def test_retry_backoff_doubles_without_jitter() -> None:
    retry = Retry(backoff=0.5, jitter=0, max_backoff=100)
    assert [retry.delay(n, 0.7) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_retry_backoff_is_capped() -> None:
    retry = Retry(backoff=1, jitter=0, max_backoff=3)
    assert [retry.delay(n, 0.0) for n in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_retry_jitter_spans_both_sides() -> None:
    retry = Retry(backoff=1, jitter=0.2, max_backoff=100)
    assert retry.delay(1, 0.0) == pytest.approx(1.6)
    assert retry.delay(1, 0.5) == pytest.approx(2.0)
    assert retry.delay(1, 0.999999) == pytest.approx(2.4, abs=1e-5)


def test_retry_after_wins_and_is_capped() -> None:
    retry = Retry(backoff=1, jitter=0.2, max_backoff=10)
    assert retry.delay(3, 0.9, retry_after=2.0) == 2.0
    assert retry.delay(0, 0.9, retry_after=0.0) == 0.0
    assert retry.delay(0, 0.9, retry_after=120.0) == 10.0
    assert retry.delay(0, 0.9, retry_after=-5.0) == 0.0


def test_retry_statuses_are_a_frozenset() -> None:
    retry = Retry(statuses={500, 502})  # type: ignore[arg-type]
    assert retry.statuses == frozenset({500, 502})
    assert Retry().retry_non_idempotent is False


def test_parse_retry_after() -> None:
    from httpops._transfer import parse_retry_after

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=lambda: now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=lambda: now) == 0.0
