"""Exact request shapes, checked with ``responses`` (it patches the adapter process-wide).

Each test checks what the engine hands to requests: headers, query, body and
content type; no socket is opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import responses

import httpops

# `responses` mocks requests' adapter: these check the requests transport's request shapes
# (tests/transports/test_transport_parity.py checks both transports against real servers).
pytestmark = pytest.mark.requests_transport

EngineFactory = Callable[..., httpops.Engine]
URL = "http://api.test/path"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, URL, json={"ok": True})
        rsps.add(responses.POST, URL, json={"ok": True})
        yield rsps


def sent(engine: httpops.Engine, op: httpops.Operation, mocked: responses.RequestsMock) -> object:
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    return mocked.calls[-1].request


def test_default_user_agent(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    engine = make_engine()
    request = sent(engine, engine.get(URL), mocked)
    assert request.headers["User-Agent"] == f"httpops/{httpops.__version__}"  # type: ignore[attr-defined]


def test_config_headers_and_per_call_headers_win(
    make_engine: EngineFactory, mocked: responses.RequestsMock
) -> None:
    config = httpops.Config(user_agent="game/2", headers={"X-Token": "config", "X-Keep": "1"})
    engine = make_engine(config)
    request = sent(engine, engine.get(URL, headers={"X-Token": "call"}), mocked)
    headers = request.headers  # type: ignore[attr-defined]
    assert (headers["User-Agent"], headers["X-Token"], headers["X-Keep"]) == ("game/2", "call", "1")
    request = sent(engine, engine.get(URL, headers={"user-agent": "mine"}), mocked)
    assert request.headers["User-Agent"] == "mine"  # type: ignore[attr-defined]


def test_params_are_appended(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    engine = make_engine()
    request = sent(engine, engine.get(URL, params={"q": "a b", "n": 3}), mocked)
    assert request.url == URL + "?q=a+b&n=3"  # type: ignore[attr-defined]


def test_get_json_asks_for_json(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    engine = make_engine()
    op = engine.get_json(URL)
    request = sent(engine, op, mocked)
    assert request.headers["Accept"] == "application/json"  # type: ignore[attr-defined]
    assert op.value == {"ok": True}


@pytest.mark.parametrize(
    ("data", "body", "content_type"),
    [
        ("a=1&b=ü", "a=1&b=ü".encode(), "application/x-www-form-urlencoded"),
        ({"a": 1}, b'{"a":1}', "application/json"),
        ([1, "x"], b'[1,"x"]', "application/json"),
        (b"\x00\x01raw", b"\x00\x01raw", None),
    ],
)
def test_post_bodies(
    make_engine: EngineFactory,
    mocked: responses.RequestsMock,
    data: object,
    body: bytes,
    content_type: str | None,
) -> None:
    engine = make_engine()
    request = sent(engine, engine.post(URL, data), mocked)  # type: ignore[arg-type]
    assert _body(request) == body
    assert request.headers.get("Content-Type") == content_type  # type: ignore[attr-defined]
    assert request.headers["Content-Length"] == str(len(body))  # type: ignore[attr-defined]


def test_post_content_type_override(
    make_engine: EngineFactory, mocked: responses.RequestsMock
) -> None:
    engine = make_engine()
    op = engine.post(URL, "<x/>", content_type="application/xml")
    request = sent(engine, op, mocked)
    assert request.headers["Content-Type"] == "application/xml"  # type: ignore[attr-defined]


def test_post_json(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    engine = make_engine()
    op = engine.post_json(URL, {"name": "ü", "n": [1.5]})
    request = sent(engine, op, mocked)
    headers = request.headers  # type: ignore[attr-defined]
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(_body(request)) == {"name": "ü", "n": [1.5]}
    assert op.value == {"ok": True}


def test_facade_request_shape(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    engine = make_engine()
    http = httpops.HTTPFacade(engine)
    http.addCustomHeader({"X-Client": "otc"})
    http.postJSON(URL, {"a": 1})
    assert engine.run_until_idle(timeout=10)
    headers = mocked.calls[-1].request.headers
    assert headers["X-Client"] == "otc"
    assert headers["User-Agent"] == "Mozilla/5.0"  # OTCv8's HTTP.agent
    assert headers["Content-Type"] == "application/json"


def test_response_fields(make_engine: EngineFactory, mocked: responses.RequestsMock) -> None:
    mocked.add(
        responses.GET,
        URL + "/text",
        body="héllo".encode("latin-1"),
        headers={"X-Reply": "1"},
        content_type="text/plain; charset=latin-1",
    )
    engine = make_engine()
    response = engine.get(URL + "/text").result(timeout=10)
    assert response.status == 200 and response.ok
    assert response.text == "héllo"
    assert response.headers["x-reply"] == "1" and "X-REPLY" in response.headers
    assert response.content == "héllo".encode("latin-1")


def _body(request: object) -> bytes:
    body = request.body  # type: ignore[attr-defined]
    if hasattr(body, "read"):
        return bytes(body.read())
    return body if isinstance(body, bytes) else str(body).encode()
