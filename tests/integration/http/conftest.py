"""Servers for the engine's HTTP integration tests: plain, TLS, and the CA bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import HTTPTestServer, TLSMaterial, make_tls


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
