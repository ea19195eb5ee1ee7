"""The HTTP facade behaves like OTCv8 (issue 10): real servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, WSTestServer, content_crc32, content_for
from tests.servers.otcv8_routes import OTCv8Server

EngineFactory = Callable[..., httpops.Engine]
Calls = list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def otc_server() -> Iterator[OTCv8Server]:
    with OTCv8Server() as server:
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def ws_server() -> Iterator[WSTestServer]:
    with WSTestServer() as server:
        yield server


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


@pytest.fixture
def http(make_engine: EngineFactory, downloads: Path) -> httpops.HTTPFacade:
    engine = make_engine(
        httpops.Config(downloads_dir=str(downloads), connect_timeout=5, raise_callback_errors=True)
    )
    return httpops.HTTPFacade(engine)


def settle(http: httpops.HTTPFacade) -> None:
    assert http.engine.run_until_idle(timeout=10)


def recorder() -> tuple[Calls, Callable[..., None]]:
    calls: Calls = []
    return calls, lambda *args: calls.append(args)


def goto(server: HTTPTestServer, status: int, target: str | None) -> str:
    query = "" if target is None else f"&to={quote(target, safe='')}"
    return server.url(f"/goto?status={status}{query}")


# -- 1, 2: download paths are OTCv8 paths; the callback gets `file` back -----------------------


def test_download_paths_are_relative_to_the_downloads_dir(
    http: httpops.HTTPFacade, otc_server: OTCv8Server, downloads: Path
) -> None:
    calls, cb = recorder()
    url = otc_server.url("/file/upd?size=3000")
    for file in ("/init.lua", "/data/things/1098/Tibia.spr", "//twice.bin"):
        http.download(url, file, cb)
    settle(http)
    crc = f"{content_crc32(3000) & 0xFFFFFFFF:08x}"
    assert sorted(calls) == sorted(
        [("/init.lua", crc, None), ("/data/things/1098/Tibia.spr", crc, None),
         ("//twice.bin", crc, None)]
    )  # fmt: skip
    assert (downloads / "init.lua").read_bytes() == content_for(3000)
    assert (downloads / "data/things/1098/Tibia.spr").read_bytes() == content_for(3000)
    assert http.downloadsDir == str(downloads)
    assert http.getFile("/init.lua") == content_for(3000)
    assert http.g_http.getFile("/downloads/data/things/1098/Tibia.spr") == content_for(3000)
    assert http.getFile("/never.lua") is None
    assert set(http.g_http.downloads()) == {
        "/init.lua",
        "/data/things/1098/Tibia.spr",
        "/twice.bin",
    }
    http.clearDownloads()
    assert http.getFile("/init.lua") is None
    assert not (downloads / "init.lua").exists()


def test_download_refuses_dotdot_and_reports_errors_with_the_file(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    for bad in ("../x.bin", "/a/../../x.bin", "a/.."):
        with pytest.raises(httpops.InvalidArgument):
            http.download(otc_server.url("/text"), bad)
    calls, cb = recorder()
    url = otc_server.url("/status/404")
    http.download(url, "/missing.bin", cb)
    settle(http)
    assert calls == [
        ("/missing.bin", "00000000", f"Invalid http status code (404): GET {url}: HTTP 404")
    ]


# -- 3: POST through redirects ---------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302])
def test_post_moved_from_http_to_https_on_the_same_host_is_reposted(
    make_engine: EngineFactory,
    otc_server: OTCv8Server,
    tls_server: HTTPTestServer,
    ca_bundle: Path,
    status: int,
) -> None:
    http = httpops.HTTPFacade(make_engine(httpops.Config(verify=str(ca_bundle))))
    calls, cb = recorder()
    target = tls_server.url("/echo")  # same host name, another port
    assert target.startswith("https://127.0.0.1:")
    http.postJSON(goto(otc_server, status, target), {"account": "a", "password": "p"}, cb)
    http.post(goto(otc_server, status, target), "user=a&pass=p", cb)
    settle(http)
    by_type = {type(data): data for data, _ in calls}
    assert all(err is None for _, err in calls)
    sent_json = by_type[dict]
    assert sent_json["method"] == "POST"
    assert json.loads(sent_json["body"]) == {"account": "a", "password": "p"}
    assert sent_json["content_type"] == "application/json"
    sent_form = json.loads(by_type[str])
    assert sent_form["method"] == "POST" and sent_form["body"] == "user=a&pass=p"


def test_other_redirects_follow_rfc_9110_and_drop_authorization_across_hosts(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    calls, cb = recorder()
    http.addCustomHeader({"Authorization": "Bearer secret"})
    http.postJSON(goto(otc_server, 303, otc_server.url("/echo")), {"a": 1}, cb)
    http.postJSON(goto(otc_server, 302, otc_server.url("/echo")), {"a": 1}, cb)  # http -> http
    other_host = otc_server.url("/echo").replace("127.0.0.1", "localhost")
    http.postJSON(goto(otc_server, 307, other_host), {"a": 1}, cb)
    settle(http)
    [see_other, found, temporary] = sorted(
        (data for data, _ in calls), key=lambda d: (d["method"], "Authorization" in d["headers"])
    )
    assert see_other["method"] == found["method"] == "GET"
    assert temporary["method"] == "POST" and json.loads(temporary["body"]) == {"a": 1}
    assert "Authorization" not in temporary["headers"]  # another host


# -- 5: the capitalised aliases --------------------------------------------------------------


def test_websocket_aliases_exist() -> None:
    assert httpops.HTTPFacade.WebSocket is httpops.HTTPFacade.webSocket
    assert httpops.HTTPFacade.WebSocketJSON is httpops.HTTPFacade.webSocketJSON
    assert httpops.HTTP.WebSocketJSON.__func__ is httpops.HTTPFacade.webSocketJSON  # type: ignore[attr-defined]


# -- 6: a bad URL is an error callback; a URL without a scheme is http:// --------------------


def test_bad_url_is_an_error_callback_with_an_id(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    calls, cb = recorder()
    seen: Calls = []
    http.onGet = lambda *args: seen.append(args)
    ids = [
        http.get("ftp://127.0.0.1/x", cb),
        http.getJSON("http://", cb),
        http.post("http://127.0.0.1:99999/x", "a=1", cb),
        http.download("ftp://127.0.0.1/x", "x.bin", cb),
        http.downloadImage("gopher://h/x.png", cb),
    ]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 5
    assert calls == []  # never inside the call
    settle(http)
    assert len(calls) == 5
    for args in calls:
        assert args[-1].startswith("Invalid url"), args
    assert len(seen) == 2 and all(args[2].startswith("Invalid url") for args in seen)
    assert http.operations == {}


def test_url_without_a_scheme_is_http(http: httpops.HTTPFacade, otc_server: OTCv8Server) -> None:
    calls, cb = recorder()
    http.get(f"127.0.0.1:{otc_server.port}/text", cb)
    settle(http)
    assert calls == [("hello text", None)]


# -- 7: progress is an integer 0-100, reported only when the length is known ------------------


def test_progress_never_gets_none(http: httpops.HTTPFacade, otc_server: OTCv8Server) -> None:
    progress: Calls = []
    http.onGetProgress = lambda *args: progress.append(args)
    unsized = http.get(otc_server.url("/nolength/300000?pieces=4&gap=0.15"))
    http.get(otc_server.url("/bytes/300000"))
    dl_progress, on_progress = recorder()
    slow = otc_server.url("/nolength/300000?pieces=4&gap=0.15")  # reports while unknown
    http.download(slow, "nolength.bin", None, on_progress)
    settle(http)
    assert progress, "the response with a Content-Length reports progress"
    assert all(op_id != unsized for op_id, _, _ in progress)  # no length: never reported
    for _, _, value in progress:
        assert isinstance(value, int) and 0 <= value <= 100
    # No Content-Length: never called, not even with the closing 100 (OTCv8).
    assert dl_progress == []
    assert (Path(http.downloadsDir) / "nolength.bin").stat().st_size == 300000
    sized, on_sized = recorder()
    http.download(otc_server.url("/file/p?size=300000"), "sized.bin", None, on_sized)
    settle(http)
    assert sized and all(isinstance(p, int) and isinstance(s, float) for p, s in sized)
    assert sized[-1][0] == 100


# -- 8: postJSON sends a str unchanged -------------------------------------------------------


def test_post_json_sends_a_str_unchanged_and_encodes_a_dict(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    calls, cb = recorder()
    http.postJSON(otc_server.url("/echo"), '{"type":"login","n":1}', cb)
    settle(http)
    http.postJSON(otc_server.url("/echo"), {"type": "login"}, cb)
    settle(http)
    assert calls[0][0]["body"] == '{"type":"login","n":1}'
    assert json.loads(calls[1][0]["body"]) == {"type": "login"}


# -- 9: callbacks get as many arguments as they take -----------------------------------------


class Counter:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, data: Any) -> None:
        self.seen.append(data)


def test_callbacks_get_only_the_arguments_they_take(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    one: list[Any] = []
    none: list[int] = []
    star: Calls = []
    counter = Counter()
    http.get(otc_server.url("/text"), lambda data: one.append(data))
    http.get(otc_server.url("/text"), lambda: none.append(1))
    http.get(otc_server.url("/text"), lambda *args: star.append(args))
    http.get(otc_server.url("/text"), counter)
    http.get(otc_server.url("/text"), one.append)  # a builtin bound method
    http.download(otc_server.url("/file/a?size=10"), "a.bin", lambda path: one.append(path))
    globals_seen: list[Any] = []
    http.onGet = lambda operation_id: globals_seen.append(operation_id)
    settle(http)
    assert sorted(map(str, one)) == ["a.bin", "hello text", "hello text"]
    assert none == [1] and star == [("hello text", None)] and counter.seen == ["hello text"]
    assert len(globals_seen) == 5 and all(isinstance(i, int) for i in globals_seen)


def test_websocket_callbacks_get_only_the_arguments_they_take(
    http: httpops.HTTPFacade, ws_server: WSTestServer
) -> None:
    got: list[Any] = []
    ws = http.webSocket(
        ws_server.url("/echo"),
        {"onOpen": lambda: got.append("open"), "onMessage": lambda msg: got.append(msg)},
    )
    assert wait_for(lambda: http.engine.poll() >= 0 and "open" in got, timeout=10)
    ws.send("hi")
    assert wait_for(lambda: http.engine.poll() >= 0 and "hi" in got, timeout=10)
    ws.close()
    settle(http)


# -- 11: TLS: verification stays on, and the error says how to port ---------------------------


def test_certificate_failure_names_set_verify_and_set_verify_fixes_it(
    http: httpops.HTTPFacade, tls_server: HTTPTestServer, ca_bundle: Path
) -> None:
    calls, cb = recorder()
    http.get(tls_server.url("/text"), cb)
    settle(http)
    [(data, err)] = calls
    assert data is None and "HTTP.setVerify" in err and "certificate" in err.lower()
    calls.clear()
    http.setVerify(str(ca_bundle))
    http.get(tls_server.url("/text"), cb)
    settle(http)
    http.setVerify(False)
    http.get(tls_server.url("/text"), cb)
    settle(http)
    assert calls == [("hello text", None), ("hello text", None)]
    with pytest.raises(httpops.InvalidArgument):
        http.setVerify(str(ca_bundle) + ".missing")
    with pytest.raises(httpops.InvalidArgument):
        http.setVerify(1)  # type: ignore[arg-type]


# -- 12: 3xx without Location, the agent, an empty JSON message -----------------------------


def test_redirect_without_location_is_an_error(
    http: httpops.HTTPFacade, otc_server: OTCv8Server
) -> None:
    calls, cb = recorder()
    http.get(goto(otc_server, 302, None), cb)
    http.getJSON(goto(otc_server, 301, None), cb)
    settle(http)
    assert len(calls) == 2
    for _, err in calls:
        assert err.startswith("Invalid http status code (30")


def test_default_agent_is_otcv8s(http: httpops.HTTPFacade, otc_server: OTCv8Server) -> None:
    calls, cb = recorder()
    http.getJSON(otc_server.url("/headers"), cb)
    settle(http)
    assert calls[0][0]["User-Agent"] == "Mozilla/5.0"
    http.g_http.setUserAgent("OTCv8/3.2")
    http.getJSON(otc_server.url("/headers"), cb)
    settle(http)
    assert calls[1][0]["User-Agent"] == "OTCv8/3.2"
    with pytest.raises(httpops.InvalidArgument):
        http.g_http.setUserAgent("a\r\nX: y")


def test_empty_message_on_a_json_socket_is_none(
    http: httpops.HTTPFacade, ws_server: WSTestServer
) -> None:
    got: list[Any] = []
    errors: list[Any] = []
    ws = http.webSocketJSON(
        ws_server.url("/echo"),
        {"onMessage": lambda msg, _id: got.append(msg), "onError": lambda e, _id: errors.append(e)},
    )
    ws.send("")
    ws.send({"a": 1})
    assert wait_for(lambda: http.engine.poll() >= 0 and len(got) == 2, timeout=10)
    assert got == [None, {"a": 1}] and errors == []
    ws.close()
    settle(http)


# -- 13: g_http ------------------------------------------------------------------------------


def test_g_http_cancel_of_a_websocket_still_delivers_on_close(
    http: httpops.HTTPFacade, ws_server: WSTestServer
) -> None:
    events: list[str] = []
    callbacks = {
        "onOpen": lambda *a: events.append("open"),
        "onMessage": lambda m, _id: events.append(f"msg:{m}"),
        "onClose": lambda *a: events.append("close"),
    }
    ws = http.WebSocket(ws_server.url("/echo"), callbacks)
    assert wait_for(lambda: http.engine.poll() >= 0 and "open" in events, timeout=10)
    assert http.g_http.wsSend(ws.id, "ping")
    assert wait_for(lambda: http.engine.poll() >= 0 and "msg:ping" in events, timeout=10)
    assert http.g_http.cancel(ws.id)
    assert wait_for(lambda: http.engine.poll() >= 0 and "close" in events, timeout=10)
    assert not http.g_http.wsSend(ws.id, "late")
    assert not http.g_http.cancel(ws.id)
    # HTTP.cancel, by contrast, silences the socket: no onClose.
    silenced: list[str] = []
    ws2 = http.webSocket(ws_server.url("/echo"), {"onClose": lambda *a: silenced.append("close")})
    assert http.cancel(ws2.id)
    settle(http)
    assert silenced == []
    assert http._sockets == {}  # nothing kept for a socket that never reaches onClose


def test_g_http_ws_close_and_cancel_of_a_request(
    http: httpops.HTTPFacade, ws_server: WSTestServer, otc_server: OTCv8Server
) -> None:
    closed: list[str] = []
    ws = http.webSocket(ws_server.url("/echo"), {"onClose": lambda m: closed.append(m)})
    http.g_http.wsClose(ws.id)
    assert wait_for(lambda: http.engine.poll() >= 0 and closed != [], timeout=10)
    calls, cb = recorder()
    op_id = http.get(otc_server.url("/slow?delay=10"), cb)
    assert http.g_http.cancel(op_id)
    settle(http)
    assert len(calls) == 1 and calls[0][1].startswith("canceled")


def test_module_level_g_http_is_the_default_facades() -> None:
    assert httpops.g_http is httpops.HTTP.g_http
    assert httpops.facade.g_http is httpops.HTTP.g_http
