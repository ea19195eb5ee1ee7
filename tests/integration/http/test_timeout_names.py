"""A request that timed out and a wait that ran out, told apart by except clauses (real server)."""

from __future__ import annotations

import pytest

import httpops
from tests.servers import HTTPTestServer


def test_a_wait_that_ran_out_is_a_builtin_timeout_error(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    op = engine.get(server.url("/slow?delay=5"))
    with pytest.raises(TimeoutError) as caught:
        op.result(timeout=0.1)
    assert isinstance(caught.value, httpops.WaitTimeout)
    assert not isinstance(caught.value, httpops.OperationTimeout)
    assert op.cancel()  # the operation went on; it is still ours to cancel


def test_a_request_that_timed_out_is_an_operation_timeout(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    op = engine.get(server.url("/slow?delay=5"), timeout=0.2)
    outcome = ""
    try:
        op.result(timeout=10)
    except TimeoutError:  # the Future idiom: "my wait ran out" -- must not catch this
        outcome = "wait"
    except httpops.OperationTimeout as err:
        outcome = "operation"
        assert isinstance(err, httpops.ReadTimeout)
        assert str(err).startswith(f"timeout: GET {server.url('/slow?delay=5')}: ")
    assert outcome == "operation"
