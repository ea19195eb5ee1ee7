"""Shared fixtures of the transport tests, which name their transport explicitly.

The environment must not override it (``HTTPOPS_TRANSPORT``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops


@pytest.fixture(autouse=True)
def _no_transport_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPOPS_TRANSPORT", raising=False)


@pytest.fixture
def curl_engine(
    make_engine: Callable[..., httpops.Engine], tmp_path: Path
) -> Callable[..., httpops.Engine]:
    """Factory: an engine on the curl transport (downloads under ``tmp_path``)."""

    def factory(**settings: object) -> httpops.Engine:
        settings.setdefault("downloads_dir", str(tmp_path / "downloads"))
        engine = make_engine(httpops.Config(transport="curl", **settings))  # type: ignore[arg-type]
        assert engine.backend.name == "curl"
        return engine

    return factory
