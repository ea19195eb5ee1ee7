"""Bad input is rejected at the call, in the caller's thread, with a clear message."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from httpops._validation import (
    check_callback,
    check_headers,
    check_params,
    check_timeout,
    check_url,
    encode_json,
)

EngineFactory = Callable[..., httpops.Engine]
URL = "http://127.0.0.1:9/x"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/x", "unsupported scheme ftp:// in 'ftp://127.0.0.1/x'"),
        ("file:///etc/passwd", "unsupported scheme file://"),
        ("127.0.0.1/x", "unsupported scheme none"),
        ("http:///x", "url has no host"),
        ("http://*/?", "has an invalid label"),
        ("http://.example.com/", "has an invalid label"),
        ("http://127.0.0.1:99999/x", "malformed url"),
        ("http://127.0.0.1:0/x", "url has port 0"),
        ("http://127.0.0.1/a\r\nHost: evil", "must not contain whitespace or control characters"),
        ("http://127.0.0.1/a b", "must not contain whitespace"),
        ("http://127.0.0.1/\x7f", "non-printable"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(httpops.InvalidURL) as caught:
        check_url(url)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_url_must_be_str() -> None:
    with pytest.raises(httpops.InvalidURL, match="url must be str, got bytes"):
        check_url(b"http://127.0.0.1/")


def test_good_urls() -> None:
    for url in ("http://127.0.0.1/", "HTTPS://localhost:8443/a?b=c", "http://[::1]:80/"):
        assert check_url(url) == url


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-A": "1\r\nX-B: 2"}, "must not contain CR, LF or NUL"),
        ({"X-A": "1\n"}, "must not contain CR, LF or NUL"),
        ({"X-A\r\n": "1"}, "must not contain CR, LF or NUL"),
        ({"X A": "1"}, "header name is not a valid token: 'X A'"),
        ({"": "1"}, "header name is not a valid token: ''"),
        ({"X-A": 1}, "header value of 'X-A' must be str, got int"),
        ([("X-A", "1")], "headers must be a mapping, got list"),
    ],
)
def test_bad_headers(headers: Any, message: str) -> None:
    with pytest.raises(httpops.InvalidArgument) as caught:
        check_headers(headers)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "t must be a finite number of seconds > 0, got 0"),
        (-1.5, "t must be a finite number of seconds > 0, got -1.5"),
        (math.inf, "t must be a finite number of seconds > 0, got inf"),
        (math.nan, "t must be a finite number of seconds > 0, got nan"),
        (True, "t must be a number of seconds > 0, got True"),
        ("1", "t must be a number of seconds > 0, got '1'"),
    ],
)
def test_bad_timeouts(value: Any, message: str) -> None:
    with pytest.raises(httpops.InvalidArgument) as caught:
        check_timeout("t", value)
    assert str(caught.value) == message


def test_timeout_none_only_where_allowed() -> None:
    assert check_timeout("t", None) is None
    assert check_timeout("t", 2) == 2.0
    with pytest.raises(
        httpops.InvalidArgument, match="t must be a number of seconds > 0, got None"
    ):
        check_timeout("t", None, allow_none=False)


def test_non_callable_callback() -> None:
    check_callback("cb", None)
    check_callback("cb", print)
    with pytest.raises(httpops.InvalidCallback, match="cb must be callable or None, got int"):
        check_callback("cb", 3)


def test_json_encoding_is_strict() -> None:
    assert encode_json({"a": [1, 2.5, None]}) == b'{"a":[1,2.5,null]}'
    with pytest.raises(httpops.InvalidArgument, match="data is not JSON-serialisable"):
        encode_json({"x": math.nan})
    with pytest.raises(httpops.InvalidArgument, match="data is not JSON-serialisable"):
        encode_json({"x": object()})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(httpops.InvalidArgument):
        encode_json(loop)


def test_params() -> None:
    assert check_params({"a": 1, "b": "x", "c": 0.5}) == {"a": "1", "b": "x", "c": "0.5"}
    assert check_params(None) is None
    with pytest.raises(httpops.InvalidArgument, match="params must map str to str or number"):
        check_params({"a": [1]})
    with pytest.raises(httpops.InvalidArgument, match="params must be a mapping, got str"):
        check_params("a=1")


# -- the same checks through the Engine API, at the call ---------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda e: e.get("gopher://127.0.0.1/"), httpops.InvalidURL),
        (lambda e: e.get("not a url"), httpops.InvalidURL),
        (lambda e: e.get(URL, 42), httpops.InvalidCallback),
        (lambda e: e.get(URL, on_progress="x"), httpops.InvalidCallback),
        (lambda e: e.get(URL, headers={"X": "a\nb"}), httpops.InvalidArgument),
        (lambda e: e.get(URL, params={"a": object()}), httpops.InvalidArgument),
        (lambda e: e.get(URL, timeout=-1), httpops.InvalidArgument),
        (lambda e: e.get(URL, timeout=0), httpops.InvalidArgument),
        (lambda e: e.get(URL, timeout=math.inf), httpops.InvalidArgument),
        (lambda e: e.get(URL, deadline=0), httpops.InvalidArgument),
        (lambda e: e.get_json(URL, headers={"X": "\r"}), httpops.InvalidArgument),
        (lambda e: e.post(URL, 3.5), httpops.InvalidArgument),
        (lambda e: e.post(URL, {"x": math.nan}), httpops.InvalidArgument),
        (lambda e: e.post_json(URL, {1, 2}), httpops.InvalidArgument),
        (lambda e: e.post_json(URL, [math.inf]), httpops.InvalidArgument),
        (lambda e: e.connect(on_nothing=print), httpops.InvalidArgument),
        (lambda e: e.connect(on_get=5), httpops.InvalidCallback),
        (lambda e: e.wait(timeout=-1), httpops.InvalidArgument),
        (lambda e: e.run_until_idle(timeout=0), httpops.InvalidArgument),
    ],
)
def test_engine_rejects_bad_input_at_the_call(
    make_engine: EngineFactory, call: Callable[[httpops.Engine], Any], error: type
) -> None:
    engine = make_engine()
    with pytest.raises(error):
        call(engine)
    assert engine.operations == {}
    assert engine.threads() == []  # nothing was submitted


def test_engine_rejects_a_bad_config(make_engine: EngineFactory) -> None:
    with pytest.raises(httpops.InvalidArgument, match=r"config must be a httpops\.Config"):
        make_engine({"max_workers": 2})


def test_closed_engine_refuses_new_work(make_engine: EngineFactory) -> None:
    engine = make_engine()
    engine.close()
    assert engine.closed
    with pytest.raises(httpops.EngineClosed, match=r"engine is closed; cannot start GET"):
        engine.get(URL)
    with pytest.raises(RuntimeError):
        engine.post_json(URL, {})
    engine.close()  # a second close does nothing
