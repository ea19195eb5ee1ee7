"""The same behaviour on both transports, checked side by side (a fixture parameter).

Redirect hygiene, request shape (no ``Expect: 100-continue``, no invented
``Content-Type``), decoding (gzip for requests, identity for downloads) and
JSON (orjson when installed, the same ``JSON ERROR:`` phrase and values).
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops.transports import body
from tests.servers import HTTPTestServer, RawTCPServer
from tests.servers.raw import read_request_head

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture(params=["requests", "curl"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("HTTPOPS_TRANSPORT", raising=False)
    return str(request.param)


@pytest.fixture
def engine_on(
    transport: str, make_engine: EngineFactory, tmp_path: Path
) -> Callable[..., httpops.Engine]:
    def factory(**settings: object) -> httpops.Engine:
        settings.setdefault("downloads_dir", str(tmp_path))
        engine = make_engine(httpops.Config(transport=transport, **settings))  # type: ignore[arg-type]
        assert engine.backend.name == transport
        return engine

    return factory


def answer(status_line: str, headers: list[tuple[str, str]], payload: bytes = b"") -> RawTCPServer:
    """A raw server that answers every request with this response."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        head = [status_line, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(payload)}"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    return RawTCPServer(handler)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_redirect_to_another_host_drops_authorization_and_cookie(
    host: str, engine_on: Callable[..., httpops.Engine], http_server: HTTPTestServer
) -> None:
    # Another name, or the same name on another port: another host either way.
    target = f"http://{host}:{http_server.port}/headers"
    with answer("HTTP/1.1 302 Found", [("Location", target)]) as redirector:
        engine = engine_on()
        op = engine.get_json(
            redirector.base_url + "/go",
            headers={"Authorization": "Bearer secret", "Cookie": "session=1", "X-Keep": "yes"},
        )
        assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    seen = {k.lower(): v for k, v in op.value.items()}
    assert "authorization" not in seen and "cookie" not in seen
    assert seen["x-keep"] == "yes"
    assert op.response is not None and op.response.url == target


def test_redirect_to_another_scheme_is_refused(engine_on: Callable[..., httpops.Engine]) -> None:
    with answer("HTTP/1.1 302 Found", [("Location", "file:///etc/passwd")]) as redirector:
        engine = engine_on()
        op = engine.get(redirector.base_url + "/go")
        assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.FAILED
    assert isinstance(op.error, httpops.ConnectError)
    assert str(op.error).startswith(f"connection error: GET {op.url}: ")


def test_a_post_has_no_expect_header_and_no_invented_content_type(
    engine_on: Callable[..., httpops.Engine], http_server: HTTPTestServer
) -> None:
    engine = engine_on()
    payload = b"\x00\x01" * 600_000  # big enough for libcurl to consider 100-continue
    op = engine.post(http_server.url("/echo"), payload)
    assert engine.wait(op, timeout=10)
    echoed = op.value.json()
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert "expect" not in headers
    assert echoed["content_type"] is None
    assert echoed["length"] == len(payload)


def test_gzip_is_decoded_for_requests_and_kept_for_downloads(
    engine_on: Callable[..., httpops.Engine],
) -> None:
    plain = b"hello gzip " * 1000
    packed = gzip.compress(plain)
    headers = [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]
    with answer("HTTP/1.1 200 OK", headers, packed) as server:
        engine = engine_on()
        op = engine.get(server.base_url + "/z")
        assert engine.wait(op, timeout=10)
        assert op.state is httpops.State.DONE, op.error
        assert op.value.content == plain
        sent = op.value.headers.get("Content-Encoding")
        assert sent == "gzip"


def test_downloads_ask_for_identity(
    engine_on: Callable[..., httpops.Engine], http_server: HTTPTestServer
) -> None:
    engine = engine_on()
    op = engine.download(http_server.url("/bytes/1000"), "one.bin")
    assert engine.wait(op, timeout=10) and op.state is httpops.State.DONE, op.error
    recorded = [r for r in http_server.requests if r.path == "/bytes/1000"][-1]
    assert recorded.header("Accept-Encoding") == "identity"


def test_bad_json_has_the_same_phrase(
    engine_on: Callable[..., httpops.Engine], http_server: HTTPTestServer
) -> None:
    engine = engine_on()
    op = engine.get_json(http_server.url("/json/bad"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.JSONDecodeError)
    expected = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert str(op.error) == (
        f"JSON ERROR: GET {op.url}: invalid JSON: {expected}; body starts '{{not json'"
    )


@pytest.mark.parametrize(
    "text", ['{"n": NaN}', "[123456789012345678901234567890]", '{"a": [1, 2.5, "x", null]}']
)
def test_json_values_do_not_depend_on_the_decoder(text: str) -> None:
    assert repr(body.loads_json(text.encode())) == repr(json.loads(text))
    assert body.ORJSON  # the fast extra is installed in the test environment


def test_status_errors_keep_the_same_message(
    engine_on: Callable[..., httpops.Engine], http_server: HTTPTestServer
) -> None:
    engine = engine_on()
    op = engine.get(http_server.url("/status/404"))
    assert engine.wait(op, timeout=10)
    assert str(op.error) == f"Invalid http status code (404): GET {op.url}: HTTP 404"
    assert op.error.response is not None and op.error.response.text == "status 404"


def test_proxies_come_from_the_environment_read_once(
    engine_on: Callable[..., httpops.Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []

    def proxy(conn: socket.socket, stop: threading.Event) -> None:
        seen.append(read_request_head(conn).split(b"\r\n", 1)[0])
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied")

    with RawTCPServer(proxy) as server:
        monkeypatch.setenv("http_proxy", server.base_url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        engine = engine_on()
        monkeypatch.delenv("http_proxy")  # read when the engine started, not per request
        op = engine.get("http://example.invalid/through")
        assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.content == b"proxied"
    assert seen == [b"GET http://example.invalid/through HTTP/1.1"]


def test_a_proxy_set_after_start_is_not_used(
    engine_on: Callable[..., httpops.Engine],
    http_server: HTTPTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    engine = engine_on()
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    op = engine.get(http_server.url("/text"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.DONE, op.error


def test_a_retried_status_whose_body_is_over_the_limit_is_still_retried(
    engine_on: Callable[..., httpops.Engine],
) -> None:
    # The retry is judged on the status and headers, as requests does: the
    # 503's body (over max_body_bytes) is never read, on either transport.
    hits: list[int] = []

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        hits.append(1)
        if len(hits) == 1:
            big = b"x" * 200_000
            head = b"HTTP/1.1 503 Busy\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            conn.sendall(head % len(big) + big)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    with RawTCPServer(handler) as server:
        engine = engine_on(max_body_bytes=64 * 1024, retry=httpops.Retry(attempts=2, backoff=0.001))
        op = engine.get(f"{server.base_url}/busy")
        assert engine.wait(op, timeout=10)
        assert op.error is None, op.error
        assert op.value.content == b"ok"
        assert len(hits) == 2
