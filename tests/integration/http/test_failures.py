"""Each network failure becomes the operation's error, with a message naming it and the URL."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import httpops
from tests.servers import (
    HTTPTestServer,
    RawTCPServer,
    close_immediately,
    content_for,
    garbage_response,
    never_answer,
)

EngineFactory = Callable[..., httpops.Engine]


def fail(engine: httpops.Engine, op: httpops.Operation) -> httpops.OperationError:
    """Wait for ``op``, check it failed without raising into the host, return its error."""
    assert engine.wait(op, timeout=15)
    assert op.state is httpops.State.FAILED, op
    assert isinstance(op.error, httpops.OperationError)
    assert op.error.method == op.method and op.error.url == op.url
    with pytest.raises(type(op.error)):
        op.result(timeout=1)
    return op.error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(engine: httpops.Engine) -> None:
    url = f"http://127.0.0.1:{free_port()}/x"
    err = fail(engine, engine.get(url))
    assert type(err) is httpops.ConnectError
    assert str(err) == f"connection error: GET {url}: connection refused"


def test_dns_failure(engine: httpops.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = "http://no-such-host.invalid/x"
    err = fail(engine, engine.get(url))
    assert isinstance(err, httpops.ResolveError)
    assert str(err) == f"resolve error: GET {url}: could not resolve host 'no-such-host.invalid'"


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full, so a new connect() hangs (Linux drops the SYN)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    filler = socket.create_connection(("127.0.0.1", port))
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        probe.connect(("127.0.0.1", port))
    except TimeoutError:
        pass
    else:
        pytest.skip("this OS accepts connections past the listen backlog")
    finally:
        probe.close()
    yield port
    filler.close()
    listener.close()


def test_connect_timeout(engine: httpops.Engine, full_backlog: int) -> None:
    url = f"http://127.0.0.1:{full_backlog}/x"
    err = fail(engine, engine.get(url, timeout=0.3))
    assert isinstance(err, httpops.ConnectTimeout)
    assert not isinstance(err, TimeoutError)  # only a wait that ran out is one
    assert str(err) == f"timeout: GET {url}: no connection within 0.3s (connect timeout)"


def test_read_timeout(engine: httpops.Engine) -> None:
    with RawTCPServer(never_answer) as raw:
        url = raw.base_url + "/x"
        err = fail(engine, engine.get(url, timeout=0.3))
    assert isinstance(err, httpops.ReadTimeout)
    assert str(err) == f"timeout: GET {url}: no data for 0.3s (read timeout)"


def test_deadline_exceeded_mid_body(engine: httpops.Engine, server: HTTPTestServer) -> None:
    url = server.url("/drip?bytes=200&interval=0.02")
    err = fail(engine, engine.get(url, deadline=0.3))
    assert isinstance(err, httpops.DeadlineExceeded)
    assert str(err) == f"timeout: GET {url}: not finished within the 0.3s deadline"


def test_deadline_exceeded_waiting_for_headers(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    url = server.url("/slow?delay=3")
    err = fail(engine, engine.get(url, deadline=0.3))
    assert isinstance(err, httpops.DeadlineExceeded), err


def test_connection_dropped_mid_body(engine: httpops.Engine, server: HTTPTestServer) -> None:
    url = server.url("/truncate?length=1000&send=100")
    err = fail(engine, engine.get(url))
    assert isinstance(err, httpops.ConnectionDropped)
    assert str(err).startswith(f"connection error: GET {url}: connection closed before the body")


@pytest.mark.parametrize("handler", [garbage_response, close_immediately])
def test_broken_peer(engine: httpops.Engine, handler: Callable[..., None]) -> None:
    with RawTCPServer(handler) as raw:
        url = raw.base_url + "/x"
        err = fail(engine, engine.get(url))
    assert isinstance(err, httpops.ConnectError)
    assert str(err).startswith(f"connection error: GET {url}: ")


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/bytes/5000", "Content-Length 5000 exceeds the limit of 1024"),
        ("/bytes/5000?chunked=1", "body exceeds the limit of 1024 bytes"),
        ("/bytes/5000?nolength=1", "body exceeds the limit of 1024 bytes"),
    ],
)
def test_body_too_large(
    make_engine: EngineFactory, server: HTTPTestServer, path: str, detail: str
) -> None:
    engine = make_engine(httpops.Config(max_body_bytes=1024, chunk_size=1024))
    url = server.url(path)
    err = fail(engine, engine.get(url))
    assert isinstance(err, httpops.BodyTooLarge)
    assert str(err) == f"body too large: GET {url}: {detail}"


def test_body_at_the_limit_is_fine(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine(httpops.Config(max_body_bytes=5000))
    assert len(engine.get(server.url("/bytes/5000?chunked=1")).result(timeout=10).content) == 5000


def test_http_error_status_keeps_the_body(engine: httpops.Engine, server: HTTPTestServer) -> None:
    url = server.url("/status/404")
    op = engine.get(url)
    err = fail(engine, op)
    assert isinstance(err, httpops.HTTPStatusError) and err.status == 404
    assert str(err) == f"Invalid http status code (404): GET {url}: HTTP 404"
    assert op.response is not None and op.response is err.response
    assert op.response.status == 404 and op.response.text == "status 404"


def test_http_error_status_of_a_json_call(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.get_json(server.url("/status/503"))
    err = fail(engine, op)
    assert isinstance(err, httpops.HTTPStatusError) and err.status == 503
    assert op.response is not None and op.response.content == b"status 503"


def test_invalid_json(engine: httpops.Engine, server: HTTPTestServer) -> None:
    url = server.url("/bytes/300")
    op = engine.get_json(url)
    err = fail(engine, op)
    assert isinstance(err, httpops.JSONDecodeError)
    snippet = content_for(300)[:100].decode("utf-8", errors="replace")[:100]
    assert err.snippet == snippet
    assert str(err).startswith(f"JSON ERROR: GET {url}: invalid JSON: ")
    assert repr(snippet) in str(err)
    assert op.response is not None and op.response.content == content_for(300)


def test_short_invalid_json_quotes_the_body(engine: httpops.Engine, server: HTTPTestServer) -> None:
    err = fail(engine, engine.get_json(server.url("/json/bad")))
    assert str(err).endswith("body starts '{not json'")


def test_too_many_redirects(make_engine: EngineFactory, server: HTTPTestServer) -> None:
    engine = make_engine(httpops.Config(max_redirects=3))
    url = server.url("/redirect-loop")
    err = fail(engine, engine.get(url))
    assert isinstance(err, httpops.TooManyRedirects)
    assert str(err) == f"redirect error: GET {url}: more than 3 redirects"
    assert server.hits("/redirect-loop") == 4


def test_redirects_are_followed(engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = engine.get_json(server.url("/redirect/2"))
    assert op.result(timeout=10) == {"hello": "world", "n": 1}
    assert op.response is not None and op.response.url == server.url("/json")


def test_failures_never_raise_into_poll(engine: httpops.Engine, server: HTTPTestServer) -> None:
    urls = [f"http://127.0.0.1:{free_port()}/", server.url("/status/500"), server.url("/json/bad")]
    ops = [engine.get_json(url) for url in urls]
    assert engine.run_until_idle(timeout=10)
    assert [op.state for op in ops] == [httpops.State.FAILED] * 3
