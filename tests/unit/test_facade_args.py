"""The HTTP facade's argument handling and bookkeeping (no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

import httpops

EngineFactory = Callable[..., httpops.Engine]
URL = "http://api.test/x"


@pytest.fixture
def http(make_engine: EngineFactory) -> httpops.HTTPFacade:
    return httpops.HTTPFacade(make_engine())


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, URL, body="body")
        rsps.add(responses.POST, URL, json={"ok": 1})
        yield rsps


def test_defaults(http: httpops.HTTPFacade) -> None:
    assert http.timeout == 5.0
    assert http.websocketTimeout == 15.0
    assert http.agent == "Mozilla/5.0"  # OTCv8's HTTP.agent
    assert http.operations == {} and http.customHeaders == {}
    assert http.onGet is None and http.onPost is None


def test_facade_is_bound_to_its_engine(make_engine: EngineFactory) -> None:
    engine = make_engine()
    assert httpops.HTTPFacade(engine).engine is engine


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda h: h.get(URL, 1), httpops.InvalidCallback),
        (lambda h: h.getJSON(URL, "cb"), httpops.InvalidCallback),
        (lambda h: h.post(URL, 3.5, None), httpops.InvalidArgument),
        (lambda h: h.postJSON(URL, {"x": float("inf")}, None), httpops.InvalidArgument),
        (lambda h: h.addCustomHeader({"X": "a\nb"}), httpops.InvalidArgument),
        (lambda h: h.addCustomHeader("X: y"), httpops.InvalidArgument),
        (lambda h: h.setTimeout(0), httpops.InvalidArgument),
        (lambda h: h.setTimeout(-2), httpops.InvalidArgument),
    ],
)
def test_bad_arguments_raise_at_the_call(
    http: httpops.HTTPFacade, call: Callable[[httpops.HTTPFacade], Any], error: type
) -> None:
    with pytest.raises(error):
        call(http)
    assert http.operations == {}


def test_bad_facade_timeout_is_caught_at_the_request(http: httpops.HTTPFacade) -> None:
    http.timeout = -1
    with pytest.raises(httpops.InvalidArgument, match="timeout"):
        http.get(URL)


def test_set_timeout(http: httpops.HTTPFacade) -> None:
    http.setTimeout(2)
    assert http.timeout == 2.0


def test_custom_headers_accumulate(http: httpops.HTTPFacade) -> None:
    http.addCustomHeader({"X-A": "1"})
    http.addCustomHeader({"X-B": "2", "X-A": "3"})
    assert http.customHeaders == {"X-A": "3", "X-B": "2"}


@pytest.mark.requests_transport  # `responses` mocks requests' adapter
def test_ids_and_operations(http: httpops.HTTPFacade, mocked: responses.RequestsMock) -> None:
    results: list[tuple[Any, Any]] = []
    first = http.get(URL, lambda d, e: results.append((d, e)))
    second = http.postJSON(URL, [1], lambda d, e: results.append((d, e)))
    assert (first, second) == (1, 2)
    assert set(http.operations) == {1, 2}
    assert http.engine.run_until_idle(timeout=10)
    assert http.operations == {}
    assert sorted(results, key=str) == sorted([("body", None), ({"ok": 1}, None)], key=str)


def test_cancel_unknown_id(http: httpops.HTTPFacade) -> None:
    assert http.cancel(12345) is False


@pytest.mark.requests_transport  # `responses` mocks requests' adapter
def test_callbacks_are_optional(http: httpops.HTTPFacade, mocked: responses.RequestsMock) -> None:
    http.get(URL)
    http.post(URL, "a=b")
    assert http.engine.run_until_idle(timeout=10)
    assert http.operations == {}
