"""The curl transport admits waiting transfers by ``priority=`` (FIFO within one).

The requests transport's version (tests/integration/scheduling) holds its
one worker busy; the curl transport runs every request at once, so here the
network thread's active set is cut to one transfer: the rest wait in its
queue and must reach the server highest priority first once the blocker
ends. The server's arrival log is the proof.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import httpops
from httpops.transports import curl
from tests.servers.paced import PacedServer

QUEUED = [("a", 0), ("b", 0), ("login", 10), ("c", 5), ("d", 0), ("bg", -1)]
ORDER = ["login", "c", "a", "b", "d", "bg"]


@pytest.fixture
def paced() -> Iterator[PacedServer]:
    with PacedServer() as server:
        yield server


@pytest.mark.parametrize("kind", ["get", "post_json"])
def test_waiting_transfers_start_by_priority(
    kind: str,
    paced: PacedServer,
    make_engine: Callable[..., httpops.Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(curl, "_MAX_ACTIVE", 1)
    engine = make_engine(httpops.Config(transport="curl", retry=None))

    def start(name: str, priority: int) -> httpops.Operation:
        url = paced.url(f"/gate/{name}")
        if kind == "post_json":
            return engine.post_json(url, {"x": 1}, priority=priority)
        return engine.get(url, priority=priority)

    ops = [start("block", 0)]
    assert paced.wait_arrivals(1)
    ops += [start(name, priority) for name, priority in QUEUED]
    paced.open_gate()
    assert engine.wait(*ops, timeout=10)
    assert [op.state for op in ops] == [httpops.State.DONE] * len(ops)
    assert [path.rsplit("/", 1)[1] for path in paced.arrivals[1:]] == ORDER


def test_one_priority_stays_fifo(
    paced: PacedServer,
    make_engine: Callable[..., httpops.Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(curl, "_MAX_ACTIVE", 1)
    engine = make_engine(httpops.Config(transport="curl"))
    ops = [engine.get(paced.url(f"/gate/n{i}")) for i in range(5)]
    paced.open_gate()
    assert engine.wait(*ops, timeout=10)
    assert paced.arrivals == [f"/gate/n{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("soft", "bound"),
    [(1024, 768), (20_000, 19_744), (100, 64), (10**7, 65_536)],
)
def test_the_active_set_is_bounded_by_the_open_file_limit(
    soft: int, bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each transfer in libcurl holds a socket: a bound of the old fixed 10,000 put the
    # 10,001st request (a short GET behind 10,000 long-polls) in a queue for a minute.
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (soft, resource.RLIM_INFINITY))
    assert curl.active_bound() == bound


def test_an_unlimited_open_file_limit_gives_the_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    monkeypatch.setattr(resource, "getrlimit", lambda which: unlimited)
    assert curl.active_bound() == 65_536
