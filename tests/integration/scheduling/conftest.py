"""Fixtures for the priority, bandwidth and group-progress tests: the paced server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from tests.servers.paced import PacedServer


@pytest.fixture
def paced() -> Iterator[PacedServer]:
    """A fresh paced server per test (its request log is the test's own)."""
    with PacedServer() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path) -> Callable[..., httpops.Config]:
    """Config factory writing downloads into this test's directory."""

    def make(**overrides: object) -> httpops.Config:
        fields: dict[str, object] = {
            "downloads_dir": str(tmp_path / "downloads"),
            "image_cache_dir": str(tmp_path / "image-cache"),
            "progress_interval": 0.0,
        }
        fields.update(overrides)
        return httpops.Config(**fields)  # type: ignore[arg-type]

    return make
