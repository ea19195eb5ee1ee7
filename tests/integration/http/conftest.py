"""Servers for the engine's HTTP integration tests: plain, TLS, and the CA bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import HTTPTestServer, TLSMaterial, make_tls


@pytest.fixture(scope="module")
def http_server() -> Iterator[HTTPTestServer]:
    """The HTTP test app on 127.0.0.1; handlers must not have raised by the end."""
    with HTTPTestServer() as server:
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """A throwaway trustme CA and a server certificate for 127.0.0.1."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tls_material: TLSMaterial) -> Iterator[HTTPTestServer]:
    """The HTTP test app over TLS with the trustme certificate."""
    with HTTPTestServer(tls_context=tls_material.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def ca_bundle(tls_material: TLSMaterial) -> Path:
    """Path of the PEM file holding the throwaway CA."""
    return tls_material.ca_bundle_path


@pytest.fixture
def server(http_server: HTTPTestServer) -> HTTPTestServer:
    """The module's HTTP server with its request log and counters cleared."""
    http_server.clear()
    http_server.reset_counters()
    return http_server
