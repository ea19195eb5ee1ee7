"""The reader, the writer and a direct send share one socket without racing on it.

Regression tests for a flake (about 1 run in 12 of this folder under load):
over TLS, a read racing a write inside OpenSSL came back as an EOF ("connection
closed without a close frame" on a healthy connection); and at the end of the
stream websocket-client closed the socket on the reader thread while the writer
or a direct send still used it (its descriptor number free for the next socket:
"Bad file descriptor", a negative descriptor in a direct send). Each race is
made certain here by holding one thread at the risky point (an Event-gated
hook) until the other has had its chance.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import httpops
from httpops import _ws_session
from tests.conftest import wait_for
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import WSTestServer

EngineFactory = Callable[..., httpops.Engine]
GATE = 1.0  # seconds a gated thread waits for the other one at most


def _ours() -> bool:
    return threading.current_thread().name.startswith("httpops-ws-")


@pytest.mark.slow
def test_tls_reader_and_writer_never_meet_inside_openssl(
    make_engine: EngineFactory,
    wss_server: WSTestServer,
    ca_bundle: Path,
    rec: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    armed = threading.Event()
    reader_inside = threading.Event()
    writer_came = threading.Event()
    inside: list[str] = []  # threads now inside an SSLSocket call of ours
    overlaps: list[tuple[str, list[str]]] = []
    lock = threading.Lock()
    real_recv, real_send = ssl.SSLSocket.recv, ssl.SSLSocket.send

    def enter(kind: str) -> None:
        with lock:
            if inside:
                overlaps.append((kind, list(inside)))
            inside.append(kind)

    def leave(kind: str) -> None:
        with lock:
            inside.remove(kind)

    def recv(self: ssl.SSLSocket, *args: Any) -> bytes:
        if not (_ours() and armed.is_set()):
            return real_recv(self, *args)
        enter("recv")
        try:
            if not reader_inside.is_set():
                reader_inside.set()  # once: hold this read open until the writer tried
                writer_came.wait(GATE)
            return real_recv(self, *args)
        finally:
            leave("recv")

    def send(self: ssl.SSLSocket, *args: Any) -> int:
        if not (_ours() and armed.is_set()):
            return real_send(self, *args)
        writer_came.set()
        enter("send")
        try:
            return real_send(self, *args)
        finally:
            leave("send")

    monkeypatch.setattr(ssl.SSLSocket, "recv", recv)
    monkeypatch.setattr(ssl.SSLSocket, "send", send)
    engine = make_engine(httpops.Config(verify=str(ca_bundle)))
    ws = engine.websocket(wss_server.url("/echo"), **rec.callbacks())
    assert pump(engine, lambda: rec.of("open") != [])
    armed.set()
    assert reader_inside.wait(5)  # the reader is inside a read now, and stays there
    ws.send("while the reader reads")
    assert pump(engine, lambda: rec.messages == ["while the reader reads"])
    assert overlaps == []
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert rec.closes == [(1000, "")]


def test_the_socket_is_closed_only_after_the_writer_and_a_direct_send(
    engine: httpops.Engine,
    ws_server: WSTestServer,
    rec: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eof_seen = threading.Event()
    closed_under: list[str] = []  # who still used the socket when it was closed
    sessions: list[_ws_session.Session] = []
    calls: list[int] = []
    real_write_nowait, real_lost = _ws_session.write_nowait, _ws_session.Session._lost
    real_close = socket.socket.close

    def write_nowait(ws: Any, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 2:  # the send racing the end: wait until the reader saw it
            eof_seen.wait(GATE)
        return real_write_nowait(ws, data)

    def lost(self: _ws_session.Session, exc: Exception) -> Any:
        eof_seen.set()
        return real_lost(self, exc)

    def close(self: socket.socket) -> None:
        if _ours() and self.fileno() >= 0:
            name = threading.current_thread().name
            writers = [t for t in threading.enumerate() if t.name == f"{name}-send"]
            if any(t.is_alive() for t in writers):
                closed_under.append("writer")
            if any(s._direct_busy for s in sessions):
                closed_under.append("direct send")
        real_close(self)

    monkeypatch.setattr(_ws_session, "write_nowait", write_nowait)
    monkeypatch.setattr(_ws_session.Session, "_lost", lost)
    monkeypatch.setattr(socket.socket, "close", close)
    ws = engine.websocket(ws_server.url("/crash"), **rec.callbacks())
    session = ws._session
    sessions.append(session)
    assert pump(engine, lambda: rec.of("open") != [])
    assert wait_for(lambda: session._direct is not None, timeout=5)  # sends go direct
    assert ws.send("crash now")  # the server reads it and drops the TCP connection
    assert wait_for(lambda: len(calls) == 1, timeout=5)
    assert ws.send("too late")  # a direct send, held until the reader saw the end
    assert eof_seen.is_set()
    assert engine.wait(ws.operation, timeout=5)
    assert closed_under == []
    (error,) = rec.errors
    assert isinstance(error, httpops.ConnectionDropped)
    assert rec.closes == [(1006, "")]
