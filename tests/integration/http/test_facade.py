"""The OTClient-shaped HTTP facade over a real server: callback(data, err) and the on* handlers."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, RawTCPServer, never_answer

EngineFactory = Callable[..., httpops.Engine]
Results = list[tuple[Any, Any]]


@pytest.fixture
def http(engine: httpops.Engine) -> httpops.HTTPFacade:
    return httpops.HTTPFacade(engine)


def collect() -> tuple[Results, Callable[[Any, Any], None]]:
    results: Results = []
    return results, lambda data, err: results.append((data, err))


def settle(http: httpops.HTTPFacade) -> None:
    assert http.engine.run_until_idle(timeout=10)


def test_get_passes_body_text(http: httpops.HTTPFacade, server: HTTPTestServer) -> None:
    results, cb = collect()
    op_id = http.get(server.url("/text"), cb)
    assert isinstance(op_id, int) and op_id in http.operations
    settle(http)
    assert results == [("hello text", None)]
    assert http.operations == {}


def test_get_json_decodes_and_empty_body_is_none(
    http: httpops.HTTPFacade, server: HTTPTestServer
) -> None:
    results, cb = collect()
    http.getJSON(server.url("/json"), cb)
    settle(http)
    http.getJSON(server.url("/json/empty"), cb)
    settle(http)
    assert results == [({"hello": "world", "n": 1}, None), (None, None)]


def test_get_json_invalid_body(http: httpops.HTTPFacade, server: HTTPTestServer) -> None:
    results, cb = collect()
    http.getJSON(server.url("/json/bad"), cb)
    settle(http)
    [(data, err)] = results
    assert data is None
    assert err.startswith("JSON ERROR:") and "{not json" in err


def test_post_json_round_trip(http: httpops.HTTPFacade, server: HTTPTestServer) -> None:
    results, cb = collect()
    http.postJSON(server.url("/echo"), {"name": "knight", "level": 8}, cb)
    settle(http)
    [(data, err)] = results
    assert err is None
    assert json.loads(data["body"]) == {"name": "knight", "level": 8}
    assert data["content_type"] == "application/json"
    assert data["headers"]["Accept"] == "application/json"


@pytest.mark.parametrize(
    ("payload", "content_type", "sent"),
    [
        ("a=1&b=2", "application/x-www-form-urlencoded", "a=1&b=2"),
        ({"k": [1]}, "application/json", '{"k":[1]}'),
        (b"\x00raw", None, "\x00raw"),
    ],
)
def test_post_body_shapes(
    http: httpops.HTTPFacade, server: HTTPTestServer, payload: Any, content_type: Any, sent: str
) -> None:
    results, cb = collect()
    http.post(server.url("/echo"), payload, cb)
    settle(http)
    [(data, err)] = results
    assert err is None
    echoed = json.loads(data)  # post passes the body text, as http.lua does
    assert echoed["body"] == sent and echoed["content_type"] == content_type


def test_http_error_status(http: httpops.HTTPFacade, server: HTTPTestServer) -> None:
    results, cb = collect()
    http.get(server.url("/status/404"), cb)
    settle(http)
    [(data, err)] = results
    assert err.startswith("Invalid http status code (404)")
    assert data == "status 404"  # the error page's body stays available


def test_network_error_strings(http: httpops.HTTPFacade) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    results, cb = collect()
    http.get(f"http://127.0.0.1:{port}/", cb)
    with RawTCPServer(never_answer) as raw:
        http.timeout = 0.3
        http.get(raw.base_url + "/", cb)
        settle(http)
    errors = sorted(err for _, err in results)
    assert errors[0].startswith("connection error:")
    assert errors[1].startswith("timeout:")


def test_cancel_silences_every_callback(http: httpops.HTTPFacade, server: HTTPTestServer) -> None:
    results, cb = collect()
    globals_seen: list[tuple[Any, ...]] = []
    http.onGet = lambda *args: globals_seen.append(args)
    slow = http.get(server.url("/slow?delay=0.2"), cb)
    fast = http.get(server.url("/text"), cb)
    assert http.cancel(slow) is True
    assert slow not in http.operations
    settle(http)
    assert results == [("hello text", None)]
    assert [args[0] for args in globals_seen] == [fast]
    assert http.cancel(slow) is False


def test_cancel_of_a_finished_but_undispatched_op(
    http: httpops.HTTPFacade, server: HTTPTestServer
) -> None:
    results, cb = collect()
    op_id = http.get(server.url("/text"), cb)
    op = http.operations[op_id]
    assert wait_for(lambda: op.claimed, timeout=10)  # done on the worker, not yet polled
    assert http.cancel(op_id) is True
    settle(http)
    assert results == []


def test_custom_header_and_agent_reach_the_server(
    http: httpops.HTTPFacade, server: HTTPTestServer
) -> None:
    http.addCustomHeader({"X-Game": "otc"})
    http.agent = "OTClient/1.0"
    http.get(server.url("/headers"))
    settle(http)
    [request] = server.requests
    assert request.header("X-Game") == "otc"
    assert request.header("User-Agent") == "OTClient/1.0"
    with pytest.raises(httpops.InvalidArgument):
        http.addCustomHeader({"X-Bad": "a\r\nInjected: 1"})


def test_global_handlers_use_the_seed_signatures(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    http = httpops.HTTPFacade(make_engine(httpops.Config(progress_interval=0)))
    seen: dict[str, list[tuple[Any, ...]]] = {}

    def handler(name: str) -> Callable[..., None]:
        return lambda *args: seen.setdefault(name, []).append(args)

    http.onGet, http.onGetProgress = handler("onGet"), handler("onGetProgress")
    http.onPost, http.onPostProgress = handler("onPost"), handler("onPostProgress")
    get_id = http.get(server.url("/text"))
    post_id = http.post(server.url("/status/500"), "x=1")
    settle(http)
    assert seen["onGet"] == [(get_id, server.url("/text"), None, "hello text")]
    assert seen["onGetProgress"][-1] == (get_id, server.url("/text"), 100.0)
    [(op_id, url, err, data)] = seen["onPost"]
    assert (op_id, url, data) == (post_id, server.url("/status/500"), None)
    assert err.startswith("Invalid http status code (500)")
    assert seen["onPostProgress"][-1][:2] == (post_id, server.url("/status/500"))


def test_bad_input_raises_at_the_call(http: httpops.HTTPFacade) -> None:
    # A bad URL is an error callback (OTCv8), see test_facade_otcv8.py.
    with pytest.raises(httpops.InvalidCallback):
        http.get("http://127.0.0.1:1/x", "not callable")  # type: ignore[arg-type]
    with pytest.raises(httpops.InvalidArgument):
        http.postJSON("http://127.0.0.1:1/x", {"nan": float("nan")})
    assert http.operations == {}
