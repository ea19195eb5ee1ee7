"""Connections that fail: 404, refused, DNS, handshake timeout, dead peer, TLS trust."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import RawTCPServer, WSTestServer, never_answer

EngineFactory = Callable[..., httpops.Engine]


def _fails_with(
    engine: httpops.Engine, rec: Recorder, url: str, **kwargs: object
) -> httpops.OperationError:
    ws = engine.websocket(url, **rec.callbacks(), **kwargs)  # type: ignore[arg-type]
    assert engine.wait(ws.operation, timeout=10)
    assert [e[0] for e in rec.events] == ["error", "close"]
    assert rec.closes == [(1006, "")]
    assert ws.operation.state is httpops.State.FAILED
    (error,) = rec.errors
    assert ws.operation.error is error
    return error


def test_handshake_refused_with_404(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    error = _fails_with(engine, rec, ws_server.url("/reject"))
    assert isinstance(error, httpops.HTTPStatusError)
    assert error.status == 404
    assert str(error).startswith("Invalid http status code (404): WS ")


def test_connection_refused(engine: httpops.Engine, rec: Recorder, refused_url: str) -> None:
    error = _fails_with(engine, rec, refused_url)
    assert isinstance(error, httpops.ConnectError)
    assert str(error) == f"connection error: WS {refused_url}: connection refused"


def test_unresolvable_host(
    engine: httpops.Engine, rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    error = _fails_with(engine, rec, "ws://game.invalid:8080/chat")
    assert isinstance(error, httpops.ResolveError)
    assert str(error).startswith("resolve error: WS ws://game.invalid:8080/chat: ")


def test_handshake_timeout(engine: httpops.Engine, rec: Recorder) -> None:
    with RawTCPServer(never_answer) as silent:
        error = _fails_with(engine, rec, f"ws://127.0.0.1:{silent.port}/", timeout=0.3)
    assert isinstance(error, httpops.ConnectTimeout)
    assert str(error).endswith("no connection or handshake within 0.3s")
    assert str(error).startswith("timeout: WS ")


def test_no_pong_means_a_dead_peer(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(
        ws_server.url("/noping"), **rec.callbacks(), ping_interval=0.1, ping_timeout=0.3
    )
    ws.send("still echoed")
    assert engine.wait(ws.operation, timeout=5)
    assert rec.messages == ["still echoed"]
    assert [e[0] for e in rec.events] == ["open", "message", "error", "close"]
    (error,) = rec.errors
    assert isinstance(error, httpops.ReadTimeout)
    assert str(error).startswith("timeout: WS ")
    assert "no pong within 0.3s" in str(error)
    assert rec.closes == [(1006, "")]


def test_pings_answered_keep_the_socket_open(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(
        ws_server.url("/echo"), **rec.callbacks(), ping_interval=0.05, ping_timeout=0.2
    )
    # Several ping rounds pass; the socket must still be open afterwards.
    assert not engine.wait(ws.operation, timeout=0.6)
    ws.send("alive")
    assert pump(engine, lambda: rec.messages == ["alive"])
    assert rec.errors == []
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


def test_wss_with_the_engine_ca_bundle(
    make_engine: EngineFactory, wss_server: WSTestServer, ca_bundle: Path, rec: Recorder
) -> None:
    engine = make_engine(httpops.Config(verify=str(ca_bundle)))
    ws = engine.websocket(wss_server.url("/echo"), **rec.callbacks())
    ws.send("secret")
    ws.send(b"\x01" * 70_000)  # larger than one TLS record
    assert pump(engine, lambda: len(rec.messages) == 2)
    assert rec.messages == ["secret", b"\x01" * 70_000]
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert rec.closes == [(1000, "")]


def test_wss_rejects_an_untrusted_certificate_by_default(
    engine: httpops.Engine, wss_server: WSTestServer, rec: Recorder
) -> None:
    error = _fails_with(engine, rec, wss_server.url("/echo"))
    assert isinstance(error, httpops.TLSError)
    assert "certificate verify failed" in str(error)


def test_wss_without_verification_when_asked(
    make_engine: EngineFactory, wss_server: WSTestServer, rec: Recorder
) -> None:
    engine = make_engine(httpops.Config(verify=False))
    ws = engine.websocket(wss_server.url("/echo"), **rec.callbacks())
    ws.send("insecure but explicit")
    assert pump(engine, lambda: rec.messages == ["insecure but explicit"])
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
