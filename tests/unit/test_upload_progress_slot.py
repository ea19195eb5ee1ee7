"""An upload's last progress figure is never replaced by the answer's progress.

Progress events of one operation share one waiting slot (the newest figure
wins), but a request body's final figure -- all of it sent -- keeps its own:
the response's progress comes right after it, often before the host polls
(on the curl transport within microseconds), and a host drawing an upload
bar must see it reach 100 %.
"""

from __future__ import annotations

from httpops._events import Progress
from httpops._operation import Operation
from httpops._queue import EventQueue


def _drain(queue: EventQueue) -> list[Progress]:
    out = []
    while (event := queue.pop()) is not None:
        assert isinstance(event, Progress)
        out.append(event)
    return out


def test_the_final_upload_figure_survives_the_answers_progress() -> None:
    queue = EventQueue()
    op = Operation(None, 1, "put", "PUT", "http://127.0.0.1/sink")
    queue.put(Progress(op, 100, 1000, 0.0, "up"))
    queue.put(Progress(op, 1000, 1000, 0.0, "up"))  # all of the body sent
    queue.put(Progress(op, 10, 300, 0.0))  # the answer begins
    queue.put(Progress(op, 300, 300, 0.0))
    figures = [(e.received, e.total, e.direction) for e in _drain(queue)]
    # The upload's slot ends at 100 %; the answer's figures queue after it.
    assert figures == [(1000, 1000, "up"), (300, 300, "down")]


def test_a_final_upload_figure_with_no_slot_waiting_queues_alone() -> None:
    queue = EventQueue()
    op = Operation(None, 1, "put", "PUT", "http://127.0.0.1/sink")
    queue.put(Progress(op, 1000, 1000, 0.0, "up"))
    queue.put(Progress(op, 300, 300, 0.0))
    queue.put(Progress(op, 1000, 1000, 0.0, "up"))  # a retry sent it all again
    queue.put(Progress(op, 200, 300, 0.0))
    figures = [(e.received, e.total, e.direction) for e in _drain(queue)]
    assert figures == [(1000, 1000, "up"), (1000, 1000, "up"), (200, 300, "down")]
