"""Every method (issue 11 item 1): request(), put/patch/delete/head, options, JSON, retries."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import httpops
from tests.servers import HTTPTestServer

EngineFactory = Callable[..., httpops.Engine]

FAST = httpops.Retry(attempts=3, backoff=0.001, max_backoff=0.01)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_request_sends_each_method(
    engine: httpops.Engine, server: HTTPTestServer, method: str
) -> None:
    op = engine.request(method.lower(), server.url("/echo"), params={"q": "1"})
    response = op.result(timeout=10)
    assert response.json()["method"] == method
    assert server.requests[-1].method == method
    assert server.requests[-1].path == "/echo?q=1"


def test_put_patch_delete_shortcuts(engine: httpops.Engine, server: HTTPTestServer) -> None:
    put = engine.put(server.url("/echo"), {"name": "ann"})
    patch = engine.patch(server.url("/echo"), json={"level": 3})
    delete = engine.delete(server.url("/echo"), headers={"X-Why": "logout"})
    assert engine.wait(put, patch, delete, timeout=10)
    assert put.value.json()["body"] == '{"name":"ann"}'
    assert put.value.json()["content_type"] == "application/json"
    assert patch.value.json()["method"] == "PATCH"
    assert json.loads(patch.value.json()["body"]) == {"level": 3}
    deleted = delete.value.json()
    assert deleted["method"] == "DELETE" and deleted["headers"]["X-Why"] == "logout"
    assert put.kind == patch.kind == delete.kind == "request"


def test_empty_put_sends_content_length_zero(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    engine.put(server.url("/echo")).result(timeout=10)
    engine.delete(server.url("/echo")).result(timeout=10)
    put, delete = server.requests[-2:]
    assert put.header("Content-Length") == "0"
    assert delete.method == "DELETE" and delete.body == b""


def test_head_has_status_and_headers_but_no_body(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    op = engine.head(server.url("/bytes/5000"))
    response = op.result(timeout=10)
    assert response.status == 200
    assert response.headers["Content-Length"] == "5000"
    assert response.content == b""
    assert server.requests[-1].method == "HEAD"


def test_head_of_a_body_bigger_than_the_memory_limit(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    # HEAD announces the GET's size; no body follows, so max_body_bytes does not apply.
    engine = make_engine(httpops.Config(max_body_bytes=1000))
    response = engine.head(server.url("/bytes/50000")).result(timeout=10)
    assert response.headers["Content-Length"] == "50000"


def test_request_json_decodes_the_answer(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.request_json("PUT", server.url("/echo"), json=[1, 2])
    value = op.result(timeout=10)
    assert value["method"] == "PUT" and json.loads(value["body"]) == [1, 2]
    assert value["headers"]["Accept"] == "application/json"


def test_json_keyword_on_post(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.post(server.url("/echo"), json={"a": None})
    assert op.result(timeout=10).json()["body"] == '{"a":null}'


def test_request_raise_for_status_false(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.delete(server.url("/status/409"), raise_for_status=False)
    assert op.result(timeout=10).status == 409


def test_status_error_names_the_method(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.patch(server.url("/status/404"), b"x")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError)
    assert "PATCH" in str(op.error) and "/status/404" in str(op.error)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "OPTIONS"])
def test_idempotent_methods_are_retried(
    make_engine: EngineFactory, server: HTTPTestServer, method: str
) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    path = f"/flaky/m-{method}/2"
    op = engine.request(method, server.url(path))
    assert op.result(timeout=10).status == 200
    assert server.hits(path) == 3


def test_patch_is_not_retried_unless_asked(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    op = engine.patch(server.url("/flaky/patch/1"), b"p")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and server.hits("/flaky/patch/1") == 1
    asked = httpops.Retry(attempts=2, backoff=0.001, retry_non_idempotent=True)
    op = engine.patch(server.url("/flaky/patch2/1"), b"p", retry=asked)
    assert op.result(timeout=10).status == 200
    assert server.hits("/flaky/patch2/1") == 2


def test_per_call_retry_overrides_the_config(
    make_engine: EngineFactory, server: HTTPTestServer
) -> None:
    engine = make_engine(httpops.Config(retry=FAST))
    op = engine.get(server.url("/flaky/off/1"), retry=None)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError)
    assert server.hits("/flaky/off/1") == 1
    plain = make_engine()  # no retry in its config: the call asks for one
    op = plain.put(server.url("/flaky/on/2"), b"x", retry=FAST)
    assert op.result(timeout=10).status == 200
    assert server.hits("/flaky/on/2") == 3


def test_get_progress_listener_sees_gets_of_request(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    seen: list[int] = []
    engine.connect(on_get=lambda op_id, url, err, data: seen.append(op_id))
    op = engine.request("GET", server.url("/json"))
    engine.wait(op, timeout=10)
    assert seen == [op.id]


@pytest.mark.parametrize(
    "method", ["", "GE T", "CONNECT", 7, "P\r\nX"], ids=["empty", "space", "connect", "int", "crlf"]
)
def test_bad_method_is_rejected_at_the_call(engine: httpops.Engine, method: object) -> None:
    with pytest.raises(httpops.InvalidArgument, match="method"):
        engine.request(method, "http://127.0.0.1:1/")  # type: ignore[arg-type]


def test_bad_retry_and_json_combination_rejected(engine: httpops.Engine) -> None:
    with pytest.raises(httpops.InvalidArgument, match="retry"):
        engine.put("http://127.0.0.1:1/", retry=3)  # type: ignore[arg-type]
    with pytest.raises(httpops.InvalidArgument, match="json="):
        engine.request("POST", "http://127.0.0.1:1/", data=b"x", json={})
    assert engine.operations == {}
