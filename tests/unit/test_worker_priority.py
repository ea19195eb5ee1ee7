"""Worker threads can run at a lower OS priority than the host (Linux)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

import pytest

import httpops
from httpops._transfer import Outcome
from httpops._worker import TaskContext

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread priority is Linux-only"
)


def _own_niceness(_ctx: TaskContext) -> Outcome:
    return Outcome(value=os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))


@pytest.mark.parametrize("niceness", [0, 7])
def test_workers_are_niceness_steps_below_the_host(
    make_engine: Callable[..., httpops.Engine], niceness: int
) -> None:
    host = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    engine = make_engine(httpops.Config(worker_niceness=niceness))
    op = engine._start("get", "GET", "http://127.0.0.1/", _own_niceness)
    assert op.result(timeout=5) == min(host + niceness, 19)
    # The host thread itself is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == host


@pytest.mark.parametrize("bad", [-1, 20, 2.5, True])
def test_worker_niceness_is_validated(bad: object) -> None:
    with pytest.raises(httpops.InvalidArgument, match="worker_niceness"):
        httpops.Config(worker_niceness=bad)  # type: ignore[arg-type]
