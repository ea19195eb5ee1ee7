"""POST through redirects: 307/308 re-send the body (engine), 303 turns into GET."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

import httpops
from httpops._redirects import OTCV8_REDIRECTS, RFC9110, redirect_method
from tests.servers.otcv8_routes import OTCv8Server


@pytest.fixture(scope="module")
def otc_server() -> Iterator[OTCv8Server]:
    with OTCv8Server() as server:
        yield server
        assert server.errors == []


def goto(server: OTCv8Server, status: int, target: str) -> str:
    return server.url(f"/goto?status={status}&to={quote(target, safe='')}")


@pytest.mark.parametrize("status", [307, 308])
def test_engine_post_body_is_resent_through_307_308(
    engine: httpops.Engine, otc_server: OTCv8Server, status: int
) -> None:
    op = engine.post(goto(otc_server, status, otc_server.url("/echo")), "a=1&b=2", timeout=2)
    response = op.result(timeout=10)
    echoed = json.loads(response.content)
    assert echoed["method"] == "POST"
    assert echoed["body"] == "a=1&b=2"
    assert echoed["length"] == 7


def test_engine_post_json_body_is_resent_through_307(
    engine: httpops.Engine, otc_server: OTCv8Server
) -> None:
    op = engine.post_json(goto(otc_server, 307, otc_server.url("/echo")), {"k": "v"}, timeout=2)
    echoed = op.result(timeout=10)
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"k": "v"}


@pytest.mark.parametrize("status", [301, 302, 303])
def test_engine_post_becomes_get_through_301_302_303(
    engine: httpops.Engine, otc_server: OTCv8Server, status: int
) -> None:
    op = engine.post(goto(otc_server, status, otc_server.url("/echo")), "secret", timeout=2)
    echoed = json.loads(op.result(timeout=10).content)
    assert echoed["method"] == "GET" and echoed["body"] == ""


def test_redirect_rule_as_data() -> None:
    up = ("http://h:80/login", "https://h:443/login")
    assert redirect_method("POST", 302, *up, RFC9110) == ("GET", False)
    assert redirect_method("POST", 302, *up, OTCV8_REDIRECTS) == ("POST", True)
    assert redirect_method("POST", 301, *up, OTCV8_REDIRECTS) == ("POST", True)
    assert redirect_method("POST", 303, *up, OTCV8_REDIRECTS) == ("GET", False)
    other = ("http://h/login", "https://other/login")
    assert redirect_method("POST", 302, *other, OTCV8_REDIRECTS) == ("GET", False)
    down = ("https://h/login", "http://h/login")
    assert redirect_method("POST", 301, *down, OTCV8_REDIRECTS) == ("GET", False)
    assert redirect_method("POST", 308, *other, RFC9110) == ("POST", True)
    assert redirect_method("HEAD", 303, *other, RFC9110) == ("HEAD", False)
