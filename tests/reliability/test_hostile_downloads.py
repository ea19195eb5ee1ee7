"""Downloads against servers that lie about their bodies: nothing wrong is ever installed.

Each case runs a real server from :mod:`tests.servers.hostile_files` on
127.0.0.1. The promises checked: a body that runs past what its headers
declared fails like a short one does (clear error naming the URL and the
counts, nothing at the target), and an encoding the download did not ask for
is stored as sent, so a small response can never become a huge file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from tests.servers.hostile_files import HostileFileServer

Engines = Callable[..., httpops.Engine]


@pytest.fixture
def hostile() -> Iterator[HostileFileServer]:
    with HostileFileServer() as server:
        yield server


@pytest.fixture
def engine(make_engine: Engines, fast_config: Callable[..., httpops.Config]) -> httpops.Engine:
    return make_engine(fast_config())


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_resumed_206_that_runs_past_its_content_range_fails_and_installs_nothing(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path
) -> None:
    url = hostile.url("/overrun")
    downloads = tmp_path / "downloads"
    first = engine.download(url, "o.bin")
    assert engine.wait(first, timeout=10)
    assert isinstance(first.error, httpops.ConnectionDropped)  # short: the part is kept
    assert any(name.endswith(".httpops-part") for name in _files(downloads))

    second = engine.download(url, "o.bin")
    assert engine.wait(second, timeout=10)
    size = len(hostile.body)
    assert hostile.headers_of("/overrun")[-1]["range"] == f"bytes={size // 2}-"
    assert isinstance(second.error, httpops.VerificationError), second.error
    text = str(second.error)
    assert url in text and "ran past its declared end" in text and f"declared {size}" in text
    assert _files(downloads) == []  # no target, no kept temporary file or metadata
