"""The error hierarchy: families, builtin bases, stable message phrases, pickling."""

from __future__ import annotations

import builtins
import pickle

import pytest

import httpops
from httpops import _errors

URL = "http://127.0.0.1:8080/x"


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (httpops.InvalidArgument, (httpops.UsageError, ValueError)),
        (httpops.InvalidURL, (httpops.InvalidArgument, ValueError)),
        (httpops.InvalidCallback, (httpops.UsageError, TypeError)),
        (httpops.EngineClosed, (httpops.UsageError, RuntimeError)),
        (httpops.ReentrantPollError, (httpops.UsageError, RuntimeError)),
        (httpops.WaitTimeout, (httpops.UsageError, builtins.TimeoutError)),
        (httpops.Canceled, (httpops.OperationError,)),
        (httpops.ResolveError, (httpops.TransportError,)),
        (httpops.ConnectError, (httpops.TransportError,)),
        (httpops.TLSError, (httpops.ConnectError,)),
        (httpops.ConnectionDropped, (httpops.ConnectError,)),
        (httpops.OperationTimeout, (httpops.TransportError,)),
        (httpops.ConnectTimeout, (httpops.OperationTimeout,)),
        (httpops.ReadTimeout, (httpops.OperationTimeout,)),
        (httpops.DeadlineExceeded, (httpops.OperationTimeout,)),
        (httpops.TooManyRedirects, (httpops.TransportError,)),
        (httpops.HTTPStatusError, (httpops.OperationError,)),
        (httpops.BodyTooLarge, (httpops.OperationError,)),
        (httpops.JSONDecodeError, (httpops.OperationError,)),
        (httpops.TransportError, (httpops.OperationError,)),
        (httpops.UsageError, (httpops.HttpopsError,)),
        (httpops.OperationError, (httpops.HttpopsError,)),
    ],
)
def test_hierarchy(cls: type, bases: tuple[type, ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, httpops.HttpopsError)


def test_families_never_mix() -> None:
    for name in _errors.__all__:
        cls = getattr(_errors, name)
        if cls in (httpops.HttpopsError,):
            continue
        assert issubclass(cls, httpops.UsageError) != issubclass(cls, httpops.OperationError), name


@pytest.mark.parametrize(
    ("cls", "phrase"),
    [
        (httpops.Canceled, "canceled"),
        (httpops.TransportError, "connection error"),
        (httpops.ResolveError, "resolve error"),
        (httpops.ConnectError, "connection error"),
        (httpops.TLSError, "connection error"),
        (httpops.ConnectionDropped, "connection error"),
        (httpops.OperationTimeout, "timeout"),
        (httpops.ConnectTimeout, "timeout"),
        (httpops.ReadTimeout, "timeout"),
        (httpops.DeadlineExceeded, "timeout"),
        (httpops.TooManyRedirects, "redirect error"),
        (httpops.BodyTooLarge, "body too large"),
    ],
)
def test_message_starts_with_the_stable_phrase(cls: type, phrase: str) -> None:
    err = cls("GET", URL, "what happened")
    assert str(err) == f"{phrase}: GET {URL}: what happened"
    assert (err.method, err.url, err.detail) == ("GET", URL, "what happened")


def test_http_status_error() -> None:
    err = httpops.HTTPStatusError("POST", URL, 404)
    assert str(err) == f"Invalid http status code (404): POST {URL}: HTTP 404"
    assert err.status == 404 and err.response is None


def test_json_decode_error_quotes_100_characters() -> None:
    body = "x" * 150
    err = httpops.JSONDecodeError("GET", URL, "invalid JSON: Expecting value", body)
    assert str(err).startswith(f"JSON ERROR: GET {URL}: invalid JSON: Expecting value")
    assert err.snippet == "x" * 100
    assert repr("x" * 100) in str(err) and "x" * 101 not in str(err)


@pytest.mark.parametrize(
    "err",
    [
        httpops.ReadTimeout("GET", URL, "no data for 1s (read timeout)"),
        httpops.HTTPStatusError("GET", URL, 500),
        httpops.JSONDecodeError("GET", URL, "invalid JSON", "{bad"),
        httpops.Canceled("POST", URL, "canceled by the caller"),
    ],
)
def test_operation_errors_pickle(err: httpops.OperationError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err) and str(copy) == str(err)


def test_module_docstring_draws_every_class() -> None:
    doc = _errors.__doc__ or ""
    for name in _errors.__all__:
        assert name in doc, f"{name} missing from the tree in the module docstring"
