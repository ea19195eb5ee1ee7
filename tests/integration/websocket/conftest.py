"""Servers and helpers for the WebSocket integration tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import httpops
from tests.servers import TLSMaterial, WSTestServer, make_tls


@pytest.fixture(scope="module")
def ws_server() -> Iterator[WSTestServer]:
    """The WebSocket test server on 127.0.0.1 (plain ws://)."""
    with WSTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def ws_tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """A throwaway trustme CA and a certificate for 127.0.0.1."""
    return make_tls(tmp_path_factory.mktemp("ws-tls"))


@pytest.fixture(scope="module")
def wss_server(ws_tls: TLSMaterial) -> Iterator[WSTestServer]:
    """The WebSocket test server over TLS (wss://)."""
    with WSTestServer(tls_context=ws_tls.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def ca_bundle(ws_tls: TLSMaterial) -> Path:
    """The PEM file of the throwaway CA."""
    return ws_tls.ca_bundle_path


@pytest.fixture
def refused_url() -> str:
    """A ws:// URL on a 127.0.0.1 port that nobody listens on."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"ws://127.0.0.1:{port}/echo"


class Recorder:
    """Records every WebSocket callback with the thread it ran on."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()

    def _note(self, *event: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def on_open(self, ws: Any, reconnected: bool) -> None:
        self._note("open", reconnected)

    def on_message(self, ws: Any, message: Any) -> None:
        self._note("message", message)

    def on_error(self, ws: Any, error: httpops.OperationError) -> None:
        self._note("error", error)

    def on_close(self, ws: Any, code: int, reason: str) -> None:
        self._note("close", code, reason)

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_open": self.on_open,
            "on_message": self.on_message,
            "on_error": self.on_error,
            "on_close": self.on_close,
        }

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [event[1:] for event in self.events if event[0] == kind]

    @property
    def messages(self) -> list[Any]:
        return [event[0] for event in self.of("message")]

    @property
    def errors(self) -> list[httpops.OperationError]:
        return [event[0] for event in self.of("error")]

    @property
    def closes(self) -> list[tuple[Any, ...]]:
        return self.of("close")


@pytest.fixture
def rec() -> Recorder:
    """A fresh callback recorder."""
    return Recorder()


def pump(engine: httpops.Engine, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``engine`` on this thread until ``condition()`` holds or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        engine.poll()
        if condition():
            return True
        engine.events.wait_nonempty(0.02)
    engine.poll()
    return condition()
