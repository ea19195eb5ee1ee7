"""Fixtures for the reliability tests: leak accounting, misbehaving servers, fast engines.

Every test here runs under :func:`no_leaks` (autouse, so it is set up before
and torn down after every other function-scoped fixture): it snapshots the
process's threads and file descriptors before the servers and engines exist,
and after they are all closed waits -- with a tolerance for the kernel
finishing its closes -- for both to be back at that baseline. Servers are
therefore function-scoped: a server handler that ends is proof that the
client closed its side.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import httpops
from tests.conftest import wait_for
from tests.reliability.support import fd_count, thread_set
from tests.servers import HTTPTestServer, RawTCPServer, WSTestServer
from tests.servers.raw import Handler


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test if a thread or a file descriptor outlives its servers and engines."""
    threads, fds = thread_set(), fd_count()
    yield

    def settled() -> bool:
        return not (thread_set() - threads) and fd_count() <= fds

    # websockets' sync server leaves its selector in a reference cycle: an epoll
    # descriptor that only the cycle collector frees. Sockets never wait for it:
    # one freed by the collector would have failed the test with a ResourceWarning.
    gc.collect()

    if not wait_for(settled, timeout=5.0):
        extra = sorted(t.name for t in thread_set() - threads)
        raise AssertionError(f"leaked threads {extra} or descriptors ({fd_count()} > {fds})")


@pytest.fixture
def raw() -> Iterator[Callable[[Handler], RawTCPServer]]:
    """Factory: a started RawTCPServer running ``handler``; stopped and checked at teardown."""
    servers: list[RawTCPServer] = []

    def start(handler: Handler) -> RawTCPServer:
        server = RawTCPServer(handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        assert server.errors == [], server.errors


@pytest.fixture
def http_server() -> Iterator[HTTPTestServer]:
    """A well-behaved HTTP server (function-scoped: its threads count in the leak check)."""
    with HTTPTestServer() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def ws_server() -> Iterator[WSTestServer]:
    """A well-behaved WebSocket server, function-scoped like the others."""
    with WSTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority (no sockets, so shared)."""
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    """The throwaway CA as a PEM file for ``Config(verify=...)``."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def fast_config(tmp_path: Path) -> Callable[..., httpops.Config]:
    """Config factory with small timeouts so every misbehaving case ends in about a second."""

    def make(**overrides: Any) -> httpops.Config:
        fields: dict[str, Any] = {
            "connect_timeout": 2.0,
            "read_timeout": 0.5,
            "deadline": 10.0,
            "websocket_timeout": 2.0,
            "ws_ping_interval": None,
            "progress_interval": 0.0,
            "max_workers": 4,
            "downloads_dir": str(tmp_path / "downloads"),
            "image_cache_dir": str(tmp_path / "images"),
        }
        fields.update(overrides)
        return httpops.Config(**fields)

    return make
