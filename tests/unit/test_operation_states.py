"""The operation state machine, asserted as a table (no sockets, no threads)."""

from __future__ import annotations

import itertools
import re

import pytest

from httpops import Operation, State
from httpops._operation import TRANSITIONS, IllegalTransition

ALLOWED = {
    (State.QUEUED, State.RUNNING),
    (State.QUEUED, State.FAILED),
    (State.QUEUED, State.CANCELED),
    (State.RUNNING, State.DONE),
    (State.RUNNING, State.FAILED),
    (State.RUNNING, State.CANCELED),
}


def _op_in(state: State) -> Operation:
    op = Operation(None, 1, "get", "GET", "http://127.0.0.1/")
    op._state = state
    return op


@pytest.mark.parametrize(("start", "end"), list(itertools.product(State, State)))
def test_every_transition_is_allowed_exactly_when_listed(start: State, end: State) -> None:
    op = _op_in(start)
    if (start, end) in ALLOWED:
        op._move_to(end)
        assert op.state is end
    else:
        with pytest.raises(IllegalTransition):
            op._move_to(end)
        assert op.state is start


def test_table_matches_the_documented_diagram() -> None:
    listed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert listed == ALLOWED


def test_claim_succeeds_once() -> None:
    op = _op_in(State.RUNNING)
    assert op._claim() is True
    assert op._claim() is False
    assert op.claimed


def test_done_only_in_terminal_states() -> None:
    assert [s for s in State if _op_in(s).done()] == [State.DONE, State.FAILED, State.CANCELED]


def test_result_of_a_detached_failed_operation_raises_its_error() -> None:
    from httpops import ConnectError

    op = _op_in(State.FAILED)
    op.error = ConnectError("GET", op.url, "connection refused")
    with pytest.raises(
        ConnectError, match=re.escape("connection error: GET http://127.0.0.1/: connection refused")
    ):
        op.result()
