"""What goes on the wire, on both transports, checked by a real server's echo.

The same checks as tests/unit/test_request_shapes.py (which mocks requests'
adapter, so it sees the requests transport only), made against
tests/servers' ``/echo`` route.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import httpops
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture(params=["requests", "curl"])
def engine_on(request: pytest.FixtureRequest, make_engine: EngineFactory) -> EngineFactory:
    def factory(**settings: Any) -> httpops.Engine:
        engine = make_engine(httpops.Config(transport=request.param, **settings))
        assert engine.backend.name == request.param
        return engine

    return factory


@pytest.fixture(scope="module")
def echo_server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as server:
        yield server


def echoed(engine: httpops.Engine, op: httpops.Operation) -> dict[str, Any]:
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    response = op.response
    assert response is not None
    data: dict[str, Any] = json.loads(response.content)
    data["headers"] = {k.lower(): v for k, v in data["headers"].items()}
    return data


def test_user_agent_and_header_precedence(
    engine_on: EngineFactory, echo_server: HTTPTestServer
) -> None:
    engine = engine_on()
    seen = echoed(engine, engine.get(echo_server.url("/echo")))
    assert seen["headers"]["user-agent"] == f"httpops/{httpops.__version__}"
    engine = engine_on(user_agent="game/2", headers={"X-Token": "config", "X-Keep": "1"})
    seen = echoed(engine, engine.get(echo_server.url("/echo"), headers={"X-Token": "call"}))
    headers = seen["headers"]
    assert (headers["user-agent"], headers["x-token"], headers["x-keep"]) == ("game/2", "call", "1")
    seen = echoed(engine, engine.get(echo_server.url("/echo"), headers={"user-agent": "mine"}))
    assert seen["headers"]["user-agent"] == "mine"


def test_params_are_appended(engine_on: EngineFactory, echo_server: HTTPTestServer) -> None:
    engine = engine_on()
    seen = echoed(engine, engine.get(echo_server.url("/echo"), params={"q": "a b", "n": 3}))
    assert seen["path"] == "/echo?q=a+b&n=3"


def test_get_json_asks_for_json(engine_on: EngineFactory, echo_server: HTTPTestServer) -> None:
    engine = engine_on()
    op = engine.get_json(echo_server.url("/echo"))
    assert engine.wait(op, timeout=10)
    assert op.value["headers"]["Accept"] == "application/json"


@pytest.mark.parametrize(
    ("data", "body", "content_type"),
    [
        ("a=1&b=ü", "a=1&b=ü", "application/x-www-form-urlencoded"),
        ({"a": 1}, '{"a":1}', "application/json"),
        ([1, "x"], '[1,"x"]', "application/json"),
        (b"raw\x01", "raw\x01", None),
    ],
)
def test_post_bodies(
    engine_on: EngineFactory,
    echo_server: HTTPTestServer,
    data: Any,
    body: str,
    content_type: str | None,
) -> None:
    engine = engine_on()
    seen = echoed(engine, engine.post(echo_server.url("/echo"), data))
    assert (seen["method"], seen["body"], seen["content_type"]) == ("POST", body, content_type)
    assert seen["headers"]["content-length"] == str(len(body.encode()))


def test_post_content_type_override_and_post_json(
    engine_on: EngineFactory, echo_server: HTTPTestServer
) -> None:
    engine = engine_on()
    op = engine.post(echo_server.url("/echo"), "<x/>", content_type="application/xml")
    assert echoed(engine, op)["content_type"] == "application/xml"
    op = engine.post_json(echo_server.url("/echo"), {"name": "ü", "n": [1.5]})
    seen = echoed(engine, op)
    assert seen["headers"]["accept"] == "application/json"
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"name": "ü", "n": [1.5]}


def test_facade_request_shape(engine_on: EngineFactory, echo_server: HTTPTestServer) -> None:
    engine = engine_on()
    http = httpops.HTTPFacade(engine)
    http.addCustomHeader({"X-Client": "otc"})
    got: list[Any] = []
    http.postJSON(echo_server.url("/echo"), {"a": 1}, lambda data, err: got.append(data))
    assert engine.run_until_idle(timeout=10)
    headers = {k.lower(): v for k, v in got[0]["headers"].items()}
    assert headers["x-client"] == "otc"
    assert headers["user-agent"] == "Mozilla/5.0"  # OTCv8's default agent
    assert headers["content-type"] == "application/json"


def test_the_url_is_normalised_as_requests_does_on_both_transports(
    engine_on: EngineFactory, echo_server: HTTPTestServer
) -> None:
    engine = engine_on()
    # Percent-encoded unreserved characters are decoded; reserved ones are kept.
    op = engine.get(echo_server.url("/%65cho?s=a%20b"))
    seen = echoed(engine, op)
    assert seen["path"] == "/echo?s=a%20b"
    assert op.response is not None
    assert op.response.url == echo_server.url("/echo?s=a%20b")
    # A non-ASCII query is encoded.
    op = engine.get(echo_server.url("/echo?q=caf\u00e9"))
    assert echoed(engine, op)["path"] == "/echo?q=caf%C3%A9"
    # A URL without a path is sent and reported with "/".
    root = engine.get(echo_server.base_url)
    assert engine.wait(root, timeout=10) and root.response is not None
    assert root.response.url == echo_server.base_url + "/"
