"""Shared fixtures: engines that are always closed and checked for leaked threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import httpops


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait for ``condition`` with a timeout, on an Event rather than a bare sleep."""
    tick = threading.Event()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        tick.wait(0.005)
    return condition()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the curl transport, leave out tests of the requests transport's worker model."""
    if os.environ.get("HTTPOPS_TRANSPORT", "").strip().lower() != "curl":
        return
    kept = [item for item in items if item.get_closest_marker("requests_transport") is None]
    deselected = [item for item in items if item.get_closest_marker("requests_transport")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _httpops_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("httpops-")}


@pytest.fixture
def make_engine() -> Iterator[Callable[..., httpops.Engine]]:
    """Factory for engines; each is closed at teardown and must leave no thread behind."""
    before = _httpops_threads()
    engines: list[httpops.Engine] = []

    def factory(config: httpops.Config | None = None, **kwargs: object) -> httpops.Engine:
        engine = httpops.Engine(config, **kwargs)  # type: ignore[arg-type]
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.close(timeout=5.0)
    assert wait_for(lambda: not (_httpops_threads() - before), timeout=5.0), (
        f"threads leaked: {sorted(t.name for t in _httpops_threads() - before)}"
    )


@pytest.fixture
def engine(make_engine: Callable[..., httpops.Engine]) -> httpops.Engine:
    """A default-config engine, closed and leak-checked at teardown."""
    return make_engine()
