"""Fixtures for the download and image tests: engines that write into the test's
own temporary directories (the HTTP test server is tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops


@pytest.fixture
def downloads_dir(tmp_path: Path) -> Path:
    """Where relative download paths resolve (not created: the engine creates it)."""
    return tmp_path / "downloads"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """The image cache directory of this test."""
    return tmp_path / "image-cache"


@pytest.fixture
def dl_config(downloads_dir: Path, cache_dir: Path) -> Callable[..., httpops.Config]:
    """Config factory with this test's directories and a fast progress interval."""

    def make(**overrides: object) -> httpops.Config:
        fields: dict[str, object] = {
            "downloads_dir": str(downloads_dir),
            "image_cache_dir": str(cache_dir),
            "progress_interval": 0.0,
            "read_timeout": 10.0,
        }
        fields.update(overrides)
        return httpops.Config(**fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def dl_engine(
    make_engine: Callable[..., httpops.Engine], dl_config: Callable[..., httpops.Config]
) -> httpops.Engine:
    """An engine writing into this test's directories (closed and leak-checked)."""
    return make_engine(dl_config())
