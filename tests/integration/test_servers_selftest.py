"""Self-test of tests/servers: each route does what it says, TLS works, stop() leaves no thread."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.servers import (
    HTTPTestServer,
    RawTCPServer,
    TLSMaterial,
    WSTestServer,
    close_immediately,
    content_crc32,
    content_for,
    content_sha256,
    garbage_response,
    make_tls,
    never_answer,
)

Response = tuple[int, http.client.HTTPMessage, bytes]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as srv:
        yield srv
        assert srv.errors == []


@pytest.fixture(scope="module")
def ws_server() -> Iterator[WSTestServer]:
    with WSTestServer() as srv:
        yield srv


def request(
    srv: HTTPTestServer,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request on a fresh connection, fully read and closed."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        with resp:
            return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def ws_connect(url: str, context: ssl.SSLContext | None = None) -> ClientConnection:
    # No client keepalive: its thread outlives close() briefly and would look like a server leak.
    return connect(
        url, ssl=context, proxy=None, open_timeout=5, close_timeout=2, ping_interval=None
    )


# -- content helpers ----------------------------------------------------------------------------


def test_content_helpers_match_the_definition() -> None:
    n = 100_003
    expected = bytes(i % 251 for i in range(n))
    assert content_for(n) == expected
    assert content_for(n, start=70_000) == expected[70_000:]
    assert content_sha256(n) == hashlib.sha256(expected).hexdigest()
    assert content_crc32(n) == zlib.crc32(expected)


# -- HTTP routes --------------------------------------------------------------------------------


def test_json_and_text_routes(server: HTTPTestServer) -> None:
    status, headers, body = request(server, "/json?x=1")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {"hello": "world", "n": 1}
    assert request(server, "/json/empty")[::2] == (200, b"")
    status, headers, body = request(server, "/json/bad")
    assert (status, headers["Content-Type"], body) == (200, "application/json", b"{not json")
    status, headers, body = request(server, "/text")
    assert (status, headers["Content-Type"], body) == (
        200,
        "text/plain; charset=utf-8",
        b"hello text",
    )
    assert request(server, "/nope")[0] == 404


def test_bytes_plain_chunked_and_unframed(server: HTTPTestServer) -> None:
    n = 300_001
    status, headers, body = request(server, f"/bytes/{n}")
    assert (status, headers["Content-Length"], body) == (200, str(n), content_for(n))
    status, headers, body = request(server, f"/bytes/{n}?chunked=1")
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    assert body == content_for(n)
    status, headers, body = request(server, f"/bytes/{n}?nolength=1")
    assert "Content-Length" not in headers and headers["Connection"] == "close"
    assert body == content_for(n)
    big = 32 * 1024 * 1024
    status, _, body = request(server, f"/bytes/{big}")
    assert hashlib.sha256(body).hexdigest() == content_sha256(big)


def test_echo_with_length_and_chunked_bodies(server: HTTPTestServer) -> None:
    _, _, body = request(
        server, "/echo", "POST", "héllo".encode(), {"Content-Type": "text/plain", "X-A": "1"}
    )
    echoed = json.loads(body)
    assert echoed["method"] == "POST" and echoed["body"] == "héllo" and echoed["length"] == 6
    assert echoed["content_type"] == "text/plain" and echoed["headers"]["X-A"] == "1"

    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("PUT", "/echo", body=iter([b"ab", b"\xff", b"cd"]), encode_chunked=True)
        with conn.getresponse() as resp:
            echoed = json.loads(resp.read())
    finally:
        conn.close()
    assert echoed["method"] == "PUT" and echoed["length"] == 5
    assert echoed["body"] == "ab\ufffdcd"
    assert echoed["headers"]["Transfer-Encoding"] == "chunked"


def test_status_and_retry_after(server: HTTPTestServer) -> None:
    status, headers, body = request(server, "/status/418?retry_after=7")
    assert (status, body, headers["Retry-After"]) == (418, b"status 418", "7")
    status, headers, body = request(server, "/status/204")
    assert (status, body) == (204, b"")


def test_flaky_counts_per_key(server: HTTPTestServer) -> None:
    results = [request(server, "/flaky/selftest/2") for _ in range(3)]
    assert [status for status, _, _ in results] == [503, 503, 200]
    assert results[0][1]["Retry-After"] == "0" and results[2][2] == b"ok"
    assert request(server, "/flaky/other/1")[0] == 503
    server.reset_counters()
    assert request(server, "/flaky/selftest/1")[0] == 503


def test_slow_and_drip_take_their_time(server: HTTPTestServer) -> None:
    started = time.monotonic()
    assert request(server, "/slow?delay=0.2")[::2] == (200, b"ok")
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    status, headers, body = request(server, "/drip?bytes=4&interval=0.05")
    assert (status, headers["Content-Length"], body) == (200, "4", content_for(4))
    assert time.monotonic() - started >= 0.2


def test_headers_and_cookies(server: HTTPTestServer) -> None:
    _, _, body = request(server, "/headers", headers={"X-Test": "yes"})
    assert json.loads(body)["X-Test"] == "yes"
    _, headers, body = request(server, "/cookies/set?a=1&b=two")
    assert body == b"ok"
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=two; Path=/"]
    _, _, body = request(server, "/cookies", headers={"Cookie": "a=1; b=two"})
    assert json.loads(body) == {"a": "1", "b": "two"}


def test_redirects(server: HTTPTestServer) -> None:
    status, headers, _ = request(server, "/redirect/2")
    assert (status, headers["Location"]) == (302, "/redirect/1")
    assert request(server, "/redirect/0")[1]["Location"] == "/json"
    assert request(server, "/redirect-loop")[1]["Location"] == "/redirect-loop"
    assert request(server, "/redirect/0?absolute=1")[1]["Location"] == server.url("/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(server.url("/redirect/3"), timeout=5) as resp:
        assert resp.url == server.url("/json") and json.loads(resp.read())["hello"] == "world"


def test_truncate_closes_early(server: HTTPTestServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("GET", "/truncate?length=1000&send=300")
        with conn.getresponse() as resp:
            assert resp.headers["Content-Length"] == "1000"
            with pytest.raises(http.client.IncompleteRead) as info:
                resp.read()
    finally:
        conn.close()
    assert info.value.partial == content_for(300)


def test_file_full_and_ranges(server: HTTPTestServer) -> None:
    size = 5000
    status, headers, body = request(server, f"/file/a.bin?size={size}")
    assert (status, body) == (200, content_for(size))
    etag = headers["ETag"]
    assert etag == '"a.bin-5000"' and headers["Accept-Ranges"] == "bytes"
    assert headers["Last-Modified"].endswith("GMT")

    status, headers, body = request(
        server, f"/file/a.bin?size={size}", headers={"Range": "bytes=1000-", "If-Range": etag}
    )
    assert (status, headers["Content-Range"]) == (206, "bytes 1000-4999/5000")
    assert body == content_for(size)[1000:]
    status, headers, body = request(
        server, f"/file/a.bin?size={size}", headers={"Range": "bytes=-10"}
    )
    assert (status, headers["Content-Range"], len(body)) == (206, "bytes 4990-4999/5000", 10)
    status, headers, _ = request(
        server, f"/file/a.bin?size={size}", headers={"Range": "bytes=9000-"}
    )
    assert (status, headers["Content-Range"]) == (416, "bytes */5000")

    def ranged(query: str, extra: dict[str, str] | None = None) -> Response:
        return request(
            server,
            f"/file/a.bin?size={size}{query}",
            headers={"Range": "bytes=100-", **(extra or {})},
        )

    assert ranged("", {"If-Range": '"stale"'})[0] == 200
    assert ranged("&norange=1")[0] == 200
    assert "Accept-Ranges" not in ranged("&norange=1")[1]
    status, headers, body = ranged("&bad_range=1")
    assert (status, headers["Content-Range"], body) == (206, "bytes 0-4999/5000", content_for(size))
    assert ranged("&etag=v2")[1]["ETag"] == '"v2"'
    assert request(server, f"/file/a.bin?size={size}", headers={"If-None-Match": etag})[0] == 304
    assert request(server, "/file/default")[1]["Content-Length"] == str(1024 * 1024)


def test_file_drop_after_only_on_first_request(server: HTTPTestServer) -> None:
    path = "/file/dropper.bin?size=100000&drop_after=4096"

    def dropped_read() -> bytes:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        try:
            conn.request("GET", path)
            with conn.getresponse() as resp, pytest.raises(http.client.IncompleteRead) as info:
                resp.read()
        finally:
            conn.close()
        return info.value.partial

    assert dropped_read() == content_for(4096)
    status, _, body = request(server, path, headers={"Range": "bytes=4096-"})
    assert (status, body) == (206, content_for(100_000)[4096:])
    server.reset_counters()
    assert dropped_read() == content_for(4096)


def test_images_etag_and_hits(server: HTTPTestServer) -> None:
    signatures = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF89a"}
    for kind, signature in signatures.items():
        status, headers, body = request(server, f"/image/{kind}")
        assert status == 200 and headers["Content-Type"] == f"image/{kind}"
        assert body.startswith(signature)
        revalidated = request(server, f"/image/{kind}", headers={"If-None-Match": headers["ETag"]})
        assert revalidated[0] == 304 and revalidated[2] == b""
    assert server.hits("/image/png") >= 2
    status, headers, body = request(server, "/image/html")
    assert (status, headers["Content-Type"], body) == (
        200,
        "text/html; charset=utf-8",
        b"<html>error</html>",
    )


def test_requests_are_recorded_and_keep_alive_reuses_one_port(server: HTTPTestServer) -> None:
    server.clear()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("POST", "/echo?k=v", body=b"xyz", headers={"X-Id": "7"})
            with conn.getresponse() as resp:
                resp.read()
    finally:
        conn.close()
    assert server.wait_for_requests(3)
    recorded = server.requests
    assert len(recorded) == 3 and server.peer_ports() == {recorded[0].peer[1]}
    first = recorded[0]
    assert (first.method, first.path, first.route, first.body) == (
        "POST",
        "/echo?k=v",
        "/echo",
        b"xyz",
    )
    assert first.header("x-id") == "7" and first.peer[0] == "127.0.0.1"
    request(server, "/json")
    assert len(server.peer_ports()) == 2
    server.clear()
    assert server.requests == []


# -- TLS ----------------------------------------------------------------------------------------


def test_https_with_the_ca_bundle(tls: TLSMaterial) -> None:
    with HTTPTestServer(tls.server_context()) as srv:
        assert srv.base_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(tls.ca_bundle_path))
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        with opener.open(srv.url("/json"), timeout=5) as resp:
            assert json.loads(resp.read()) == {"hello": "world", "n": 1}
        # Without the CA the handshake must fail (the server survives it).
        untrusting = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        )
        with pytest.raises(urllib.error.URLError) as info:
            untrusting.open(srv.url("/json"), timeout=5)
        assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
        with opener.open(srv.url("/redirect/0?absolute=1"), timeout=5) as resp:
            assert resp.url == srv.url("/json")
            resp.read()
        assert srv.errors == []


# -- WebSocket ----------------------------------------------------------------------------------


def test_ws_echo_text_and_binary(ws_server: WSTestServer) -> None:
    for path in ("/echo", "/json"):
        with ws_connect(ws_server.url(path)) as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
            ws.send(b"\x00\x01")
            assert ws.recv(timeout=5) == b"\x00\x01"
            assert ws.ping().wait(5)  # normal paths answer pings
    assert ws_server.wait_for_connections(2)


def test_ws_close_with_code_and_reason(ws_server: WSTestServer) -> None:
    with ws_connect(ws_server.url("/close?code=4001&reason=bye")) as ws:
        ws.send("go")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (4001, "bye")


def test_ws_crash_drops_without_close_frame(ws_server: WSTestServer) -> None:
    with ws_connect(ws_server.url("/crash")) as ws:
        ws.send("go")
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd is None  # no close frame arrived


def test_ws_burst(ws_server: WSTestServer) -> None:
    with ws_connect(ws_server.url("/burst?n=50&size=100")) as ws:
        ws.send("go")
        messages = [ws.recv(timeout=5) for _ in range(50)]
    assert all(isinstance(m, str) and len(m) == 100 for m in messages)
    assert [str(m).rstrip(".") for m in messages] == [str(i) for i in range(50)]


def test_ws_noping_never_pongs(ws_server: WSTestServer) -> None:
    with ws_connect(ws_server.url("/noping")) as ws:
        pong = ws.ping()
        ws.send("still alive")
        assert ws.recv(timeout=5) == "still alive"  # the echo came back after the ping...
        assert not pong.wait(0.2)  # ...but no pong did


def test_ws_reject_answers_404(ws_server: WSTestServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        ws_connect(ws_server.url("/reject"))
    assert info.value.response.status_code == 404
    assert "/reject" in ws_server.rejected


def test_wss_with_the_ca_bundle(tls: TLSMaterial) -> None:
    with WSTestServer(tls.server_context()) as srv:
        assert srv.base_url.startswith("wss://127.0.0.1:")
        with ws_connect(srv.url("/echo"), tls.client_context()) as ws:
            ws.send("secure")
            assert ws.recv(timeout=5) == "secure"


# -- raw TCP ------------------------------------------------------------------------------------


def test_raw_handlers() -> None:
    with RawTCPServer(never_answer) as srv, socket.create_connection(srv.address, 5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(1)

    with RawTCPServer(garbage_response) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            conn.request("GET", "/")
            with pytest.raises(http.client.BadStatusLine):
                conn.getresponse()
        finally:
            conn.close()

    with RawTCPServer(close_immediately) as srv, socket.create_connection(srv.address, 5) as sock:
        assert srv.wait_for_connections(1)
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
        assert srv.errors == []


# -- stop() leaves nothing behind ---------------------------------------------------------------


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_http_stop_ends_idle_keepalive_and_slow_requests(tls: TLSMaterial) -> None:
    for context in (None, tls.server_context()):
        before = set(threading.enumerate())
        srv = HTTPTestServer(context).start()
        client_context = tls.client_context() if context else None
        raw_idle = socket.create_connection((srv.host, srv.port), 5)
        idle = (
            client_context.wrap_socket(raw_idle, server_hostname="127.0.0.1")
            if client_context
            else raw_idle
        )
        slow = socket.create_connection((srv.host, srv.port), 5)
        slow = (
            client_context.wrap_socket(slow, server_hostname="127.0.0.1")
            if client_context
            else slow
        )
        with idle, slow:
            idle.sendall(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(4096).startswith(b"HTTP/1.1 200")  # now idle in keep-alive
            slow.sendall(b"GET /slow?delay=30 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert srv.wait_for_requests(2)
            started = time.monotonic()
            srv.stop()
            assert time.monotonic() - started < 2
        assert _new_threads(before) == []


def test_ws_and_raw_stop_leave_no_thread() -> None:
    before = set(threading.enumerate())
    srv = WSTestServer().start()
    with ws_connect(srv.url("/echo")) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
        srv.stop()  # closes the open connection with 1001
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1001
    assert _new_threads(before) == []

    raw = RawTCPServer(never_answer).start()
    with socket.create_connection(raw.address, 5):
        assert raw.wait_for_connections(1)
        raw.stop()
    assert _new_threads(before) == []


def test_restartable_context_manager_and_base_url() -> None:
    srv = HTTPTestServer()
    with srv:
        first = srv.base_url
        assert first.startswith("http://127.0.0.1:")
    with srv:
        assert request(srv, "/json")[0] == 200
    with pytest.raises(RuntimeError):
        _ = srv.base_url
