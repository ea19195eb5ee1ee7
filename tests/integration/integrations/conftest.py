"""Fixtures for the loop-adapter tests: the HTTP test server, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import HTTPTestServer


@pytest.fixture(scope="module")
def http_server() -> Iterator[HTTPTestServer]:
    """The HTTP test app on 127.0.0.1; its handlers must not have raised by the end."""
    with HTTPTestServer() as server:
        yield server
        assert server.errors == []
