"""Shared fixtures: engines that are always closed and checked for leaked threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from tests.servers import HTTPTestServer

# The suite runs once per transport: tests/run_both.sh sets HTTPOPS_TRANSPORT=curl
# for its second pass. Unset, it means requests here, where the default ("auto")
# would pick curl wherever pycurl is installed. Subprocesses (CLI, demo) inherit it.
os.environ.setdefault("HTTPOPS_TRANSPORT", "requests")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait for ``condition`` with a timeout, on an Event rather than a bare sleep."""
    tick = threading.Event()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        tick.wait(0.005)
    return condition()


# Where the platform's per-user directories come from (platformdirs reads these).
_HOME_VARIABLES = ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point HOME and the XDG directories at a temporary home for the whole run.

    Engines created with a default ``Config()`` put downloads in the user data
    dir and images in the user cache dir; in the test suite both are under
    this directory, never under the real home (subprocesses inherit it too).
    """
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("USERPROFILE", str(home))  # Windows' home
        for name in _HOME_VARIABLES:
            patch.setenv(name, str(home / name.lower()))
        for name in ("APPDATA", "LOCALAPPDATA"):  # Windows' user data and cache
            patch.setenv(name, str(home / name.lower()))
        assert os.path.expanduser("~") == str(home)
        yield home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the curl transport, leave out tests of the requests transport's worker model
    and the known curl gaps (``curl_gap``, listed in docs/transports.md)."""
    if os.environ.get("HTTPOPS_TRANSPORT", "").strip().lower() != "curl":
        return

    def requests_only(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(name) for name in ("requests_transport", "curl_gap"))

    kept = [item for item in items if not requests_only(item)]
    deselected = [item for item in items if requests_only(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="module")
def http_server() -> Iterator[HTTPTestServer]:
    """The HTTP test app on 127.0.0.1, one per module; its handlers must not have
    raised by the end. (tests/reliability makes one per test instead.)"""
    with HTTPTestServer() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def server(http_server: HTTPTestServer) -> HTTPTestServer:
    """The module's HTTP server with its request log and counters cleared."""
    http_server.clear()
    http_server.reset_counters()
    return http_server


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
