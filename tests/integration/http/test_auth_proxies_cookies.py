"""Per-call auth=, Config(proxies=...), engine.cookies, Config(cookies=False) (issue 11 item 3)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import httpops
from tests.servers import HTTPTestServer
from tests.servers.upload_server import UploadServer

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    with UploadServer(tmp_path_factory.mktemp("spool")) as server:
        yield server


@pytest.fixture
def other(sink: UploadServer) -> UploadServer:
    sink.clear()
    return sink


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY", "no_proxy", "NO_PROXY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


# -- auth --------------------------------------------------------------------------------


def test_basic_auth_pair(engine: httpops.Engine, server: HTTPTestServer) -> None:
    engine.get(server.url("/echo"), auth=("ann", "pässword")).result(timeout=10)
    sent = server.requests[-1].header("Authorization")
    assert sent == "Basic " + base64.b64encode("ann:pässword".encode()).decode()


def test_bearer_auth_overrides_an_authorization_header(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    op = engine.put(
        server.url("/echo"), b"x", auth=httpops.BearerAuth("t0k"),
        headers={"authorization": "Basic old"},
    )  # fmt: skip
    op.result(timeout=10)
    headers = server.requests[-1].headers
    assert [v for k, v in headers.items() if k.lower() == "authorization"] == ["Bearer t0k"]


def test_auth_on_every_method_and_json(engine: httpops.Engine, server: HTTPTestServer) -> None:
    auth = httpops.BasicAuth("u", "p")
    ops = [
        engine.get_json(server.url("/json"), auth=auth),
        engine.post(server.url("/echo"), b"", auth=auth),
        engine.post_json(server.url("/echo"), {}, auth=auth),
        engine.request("OPTIONS", server.url("/echo"), auth=auth),
        engine.request_json("DELETE", server.url("/echo"), auth=auth),
    ]
    assert engine.wait(*ops, timeout=10) and all(op.error is None for op in ops)
    assert [r.header("Authorization") for r in server.requests[-5:]] == [auth.header()] * 5


def test_auth_is_dropped_on_a_redirect_to_another_host(
    engine: httpops.Engine, server: HTTPTestServer, other: UploadServer
) -> None:
    # 127.0.0.1 -> localhost: another host name, the same loopback machine.
    target = f"http://localhost:{other.port}/sink"
    op = engine.get(
        other.url(f"/redirect-to?url={quote(target)}"), auth=httpops.BearerAuth("secret")
    )
    summary = op.result(timeout=10).json()
    assert summary["path"] == "/sink"
    assert "Authorization" in other.summaries[0]["headers"]
    assert "Authorization" not in summary["headers"]


def test_secrets_stay_out_of_repr() -> None:
    assert "hunter2" not in repr(httpops.BasicAuth("ann", "hunter2"))
    assert "tok3n" not in repr(httpops.BearerAuth("tok3n"))


@pytest.mark.parametrize(
    ("auth", "match"),
    [
        (("a", "b", "c"), "pair"),
        (("a:b", "c"), "':'"),
        ("token", "auth must be"),
        ((1, 2), "must be str"),
    ],
)
def test_bad_auth_is_rejected_at_the_call(engine: httpops.Engine, auth: object, match: str) -> None:
    with pytest.raises(httpops.InvalidArgument, match=match):
        engine.get("http://127.0.0.1:1/", auth=auth)  # type: ignore[arg-type]
    with pytest.raises(httpops.InvalidArgument, match=r"Bearer|token"):
        httpops.BearerAuth("a\r\nX: y")
    assert engine.operations == {}


# -- proxies -----------------------------------------------------------------------------


def test_config_proxies_send_requests_through_the_proxy(
    make_engine: EngineFactory, server: HTTPTestServer, no_proxy_env: None
) -> None:
    engine = make_engine(httpops.Config(proxies={"http": server.base_url}))
    # game.invalid is never resolved: the proxy (our loopback server) gets the request.
    echoed = engine.get("http://game.invalid/echo?x=1").result(timeout=10).json()
    assert echoed["path"] == "http://game.invalid/echo?x=1"
    assert engine.proxies == {"http": server.base_url}


def test_environment_proxies_are_used_and_proxies_empty_turns_them_off(
    make_engine: EngineFactory,
    server: HTTPTestServer,
    other: UploadServer,
    no_proxy_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", server.base_url)
    proxied = make_engine()
    direct = make_engine(httpops.Config(proxies={}))
    monkeypatch.delenv("http_proxy")  # read once, at engine creation
    # /echo: the proxy (the app server) echoes it, the sink (when reached directly) spools it.
    proxied.get(other.url("/echo")).result(timeout=10)
    assert server.requests[-1].path == other.url("/echo")
    assert other.summaries == []
    before = len(server.requests)
    direct.get(other.url("/echo")).result(timeout=10)
    assert len(server.requests) == before
    assert [s["path"] for s in other.summaries] == ["/echo"]


def test_no_key_bypasses_the_configured_proxy(
    make_engine: EngineFactory, server: HTTPTestServer, other: UploadServer, no_proxy_env: None
) -> None:
    engine = make_engine(httpops.Config(proxies={"http": server.base_url, "no": "127.0.0.1"}))
    engine.get(other.url("/sink")).result(timeout=10)
    assert [s["path"] for s in other.summaries] == ["/sink"]
    assert all(not r.path.startswith("http://") for r in server.requests)


@pytest.mark.parametrize(
    ("proxies", "match"),
    [({"ftp": "http://p:1"}, "unknown key"), ({"http": "p:1"}, "URL"), ([], "dict")],
)
def test_bad_proxies_rejected(proxies: object, match: str) -> None:
    with pytest.raises(httpops.InvalidArgument, match=match):
        httpops.Config(proxies=proxies)  # type: ignore[arg-type]


# -- cookies -----------------------------------------------------------------------------


def test_cookie_view_reads_sets_and_clears(engine: httpops.Engine, server: HTTPTestServer) -> None:
    engine.get(server.url("/cookies/set?session=abc")).result(timeout=10)
    jar = engine.cookies
    assert jar.enabled and jar.get("session") == "abc" and "session" in jar
    jar.set("lang", "pl", domain="127.0.0.1")
    assert engine.get(server.url("/cookies")).result(timeout=10).json() == {
        "session": "abc", "lang": "pl",
    }  # fmt: skip
    jar.clear()
    assert len(engine.cookies) == 0
    assert engine.get(server.url("/cookies")).result(timeout=10).json() == {}


def test_cookies_persist_across_engines(
    make_engine: EngineFactory, server: HTTPTestServer, tmp_path: Path
) -> None:
    first = make_engine()
    first.get(server.url("/cookies/set?login=xyz")).result(timeout=10)
    saved = tmp_path / "cookies.txt"
    first.cookies.save(saved)
    assert "login\txyz" in saved.read_text()
    second = make_engine()
    assert second.cookies.load(saved) == 1
    assert second.get(server.url("/cookies")).result(timeout=10).json() == {"login": "xyz"}
    assert isinstance(second.cookies.jar, __import__("http.cookiejar").cookiejar.CookieJar)


def test_cookies_false_keeps_and_sends_nothing(
    make_engine: EngineFactory, server: HTTPTestServer, other: UploadServer
) -> None:
    engine = make_engine(httpops.Config(cookies=False))
    engine.get(server.url("/cookies/set?session=abc")).result(timeout=10)
    assert engine.get(server.url("/cookies")).result(timeout=10).json() == {}
    # Not even within one redirect chain: a cookie set by the 302 is not sent on.
    op = engine.get(other.url(f"/redirect-to?url={quote('/sink')}&cookie=hop%3D1"))
    assert "Cookie" not in op.result(timeout=10).json()["headers"]
    cookies = engine.cookies
    assert not cookies.enabled and len(cookies) == 0 and cookies.get("session") is None
    with pytest.raises(httpops.InvalidArgument, match="cookies are off"):
        cookies.set("a", "b", domain="127.0.0.1")


def test_a_redirect_cookie_is_sent_on_when_cookies_are_on(
    engine: httpops.Engine, other: UploadServer
) -> None:
    # The counterpart of the test above: the same chain does carry the cookie.
    op = engine.get(other.url(f"/redirect-to?url={quote('/sink')}&cookie=hop%3D1"))
    assert op.result(timeout=10).json()["headers"].get("Cookie") == "hop=1"


def test_bad_cookie_arguments(engine: httpops.Engine) -> None:
    with pytest.raises(httpops.InvalidArgument, match="without"):
        engine.cookies.set("a;b", "v", domain="127.0.0.1")
    with pytest.raises(httpops.InvalidArgument, match="empty"):
        engine.cookies.set("a", "v", domain="")
    with pytest.raises(httpops.InvalidArgument, match="cookies must be"):
        httpops.Config(cookies="no")  # type: ignore[arg-type]
