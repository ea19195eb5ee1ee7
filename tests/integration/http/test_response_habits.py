"""Response habits of requests/httpx users, and raise_for_status=False per call (real servers)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

import httpops
from tests.servers import HTTPTestServer
from tests.servers.api_answers import APIAnswersServer


@pytest.fixture(scope="module")
def api() -> Iterator[APIAnswersServer]:
    with APIAnswersServer() as server:
        yield server


def test_status_code_ok_json_and_elapsed_as_timedelta(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    response = engine.get(server.url("/json")).result(timeout=10)
    assert response.status_code == response.status == 200
    assert response.ok
    assert response.json() == {"hello": "world", "n": 1}
    assert response.raise_for_status() is response  # chains on success
    assert response.method == "GET"
    slow = engine.get(server.url("/slow?delay=0.2")).result(timeout=10)
    assert isinstance(slow.elapsed, datetime.timedelta)
    assert datetime.timedelta(seconds=0.2) <= slow.elapsed < datetime.timedelta(seconds=10)


def test_url_after_redirects_and_history(engine: httpops.Engine, api: APIAnswersServer) -> None:
    response = engine.get(api.url("/hop/2?end=200")).result(timeout=10)
    assert response.url == api.url("/hop/0?end=200")
    assert [r.status_code for r in response.history] == [302, 302]
    assert [r.url for r in response.history] == [
        api.url("/hop/2?end=200"),
        api.url("/hop/1?end=200"),
    ]
    assert all(r.headers["Location"].startswith("/hop/") for r in response.history)
    assert all(isinstance(r.elapsed, datetime.timedelta) for r in response.history)
    assert engine.get(api.url("/problem/200")).result(timeout=10).history == ()


def test_a_non_2xx_is_still_an_error_by_default(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    op = engine.get(api.url("/problem/409"))
    with pytest.raises(httpops.HTTPStatusError) as caught:
        op.result(timeout=10)
    assert caught.value.status == 409 and op.value is None
    assert caught.value.response is not None and caught.value.response.json()["status"] == 409


def test_raise_for_status_false_delivers_the_response(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    url = api.url("/problem/409")
    op = engine.get(url, raise_for_status=False)
    response = op.result(timeout=10)
    assert op.error is None and op.state is httpops.State.DONE
    assert response is op.response and response.status_code == 409 and not response.ok
    assert response.json() == {"error": "Conflict", "status": 409}
    with pytest.raises(httpops.HTTPStatusError) as caught:
        response.raise_for_status()
    assert caught.value.status == 409 and caught.value.response is response
    assert str(caught.value) == f"Invalid http status code (409): GET {url}: HTTP 409"


def test_get_json_with_raise_for_status_false_decodes_the_error_body(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    op = engine.get_json(api.url("/problem/404"), raise_for_status=False)
    assert op.result(timeout=10) == {"error": "Not Found", "status": 404}
    assert op.response is not None and op.response.status == 404


def test_an_error_body_that_is_not_json_still_fails_get_json(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    op = engine.get_json(api.url("/page/404"), raise_for_status=False)
    with pytest.raises(httpops.JSONDecodeError) as caught:
        op.result(timeout=10)
    assert caught.value.response is not None and caught.value.response.status == 404


def test_post_and_post_json_with_raise_for_status_false(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    response = engine.post(api.url("/problem/422"), b"x", raise_for_status=False).result(10)
    assert response.status == 422 and response.method == "POST"
    data = engine.post_json(api.url("/problem/422"), {"a": 1}, raise_for_status=False).result(10)
    assert data == {"error": "Unprocessable", "status": 422}


def test_redirect_to_an_error_keeps_url_and_history(
    engine: httpops.Engine, api: APIAnswersServer
) -> None:
    response = engine.get(api.url("/hop/1?end=404"), raise_for_status=False).result(timeout=10)
    assert response.status == 404 and response.url == api.url("/hop/0?end=404")
    assert [r.status for r in response.history] == [302]


def test_raise_for_status_must_be_a_bool(engine: httpops.Engine) -> None:
    for value in (None, 0, "no"):
        with pytest.raises(httpops.InvalidArgument, match="raise_for_status must be a bool"):
            engine.get("http://127.0.0.1:9/x", raise_for_status=value)  # type: ignore[arg-type]


def test_a_response_built_with_seconds_reports_a_timedelta() -> None:
    response = httpops.Response(204, "No Content", httpops.Headers(), b"", "http://x/", 1.5)
    assert response.elapsed == datetime.timedelta(seconds=1.5)
    assert response.history == () and response.status_code == 204
