"""The transport tests name their transport explicitly; the environment must not override it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_transport_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPOPS_TRANSPORT", raising=False)
