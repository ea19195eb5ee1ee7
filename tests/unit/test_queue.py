"""EventQueue: FIFO, in-place coalescing of progress, wakeup on empty -> non-empty."""

from __future__ import annotations

import threading

from httpops._events import Completion, Progress
from httpops._operation import Operation, State
from httpops._queue import EventQueue


def op(op_id: int) -> Operation:
    return Operation(None, op_id, "get", "GET", f"http://127.0.0.1/{op_id}")


def drain(queue: EventQueue) -> list[object]:
    out = []
    while (event := queue.pop()) is not None:
        out.append(event)
    return out


def test_fifo_order_across_operations() -> None:
    queue = EventQueue()
    a, b = op(1), op(2)
    events = [
        Completion(a, State.DONE),
        Progress(b, 10, 100, 0.0),
        Completion(b, State.DONE),
    ]
    for event in events:
        queue.put(event)
    assert len(queue) == 3
    assert drain(queue) == events
    assert queue.pop() is None


def test_waiting_progress_is_updated_in_place() -> None:
    queue = EventQueue()
    a, b = op(1), op(2)
    first = Progress(a, 10, 100, 1.0)
    queue.put(first)
    queue.put(Progress(b, 5, 50, 0.0))
    queue.put(Progress(a, 60, 100, 2.0, "up"))
    queue.put(Progress(a, 90, 100, 3.0))
    assert len(queue) == 2
    events = drain(queue)
    assert events[0] is first  # the slot kept its place...
    assert (first.received, first.total, first.speed, first.direction) == (90, 100, 3.0, "down")
    assert isinstance(events[1], Progress) and events[1].op is b


def test_progress_stays_before_its_completion() -> None:
    queue = EventQueue()
    a = op(1)
    queue.put(Progress(a, 10, 100, 0.0))
    done = Completion(a, State.DONE)
    queue.put(done)
    queue.put(Progress(a, 100, 100, 0.0))  # a late report coalesces into the earlier slot
    events = drain(queue)
    assert len(events) == 2
    assert isinstance(events[0], Progress) and events[0].received == 100
    assert events[1] is done


def test_popped_progress_frees_the_slot() -> None:
    queue = EventQueue()
    a = op(1)
    queue.put(Progress(a, 10, 100, 0.0))
    assert isinstance(queue.pop(), Progress)
    queue.put(Progress(a, 20, 100, 0.0))
    queue.put(Progress(a, 30, 100, 0.0))
    [event] = drain(queue)
    assert isinstance(event, Progress) and event.received == 30


def test_completions_are_never_coalesced() -> None:
    queue = EventQueue()
    a = op(1)
    for _ in range(3):
        queue.put(Completion(a, State.DONE))
    assert len(drain(queue)) == 3


def test_wakeup_only_on_empty_to_non_empty() -> None:
    calls: list[int] = []
    queue = EventQueue(on_wakeup=lambda: calls.append(len(queue)))
    a, b = op(1), op(2)
    queue.put(Progress(a, 1, 10, 0.0))
    queue.put(Progress(a, 2, 10, 0.0))  # coalesced: not a new event
    queue.put(Completion(b, State.DONE))
    assert calls == [1]
    drain(queue)
    queue.put(Completion(a, State.DONE))
    assert calls == [1, 1]


def test_wakeup_hook_runs_without_the_lock_held() -> None:
    """The hook may look at the queue (e.g. len()) and put from another thread."""
    seen: list[bool] = []
    queue = EventQueue()

    def hook() -> None:
        acquired = queue._lock.acquire(blocking=False)
        seen.append(acquired)
        if acquired:
            queue._lock.release()

    queue.on_wakeup = hook
    queue.put(Completion(op(1), State.DONE))
    assert seen == [True]


def test_wait_nonempty_wakes_on_put_and_times_out() -> None:
    queue = EventQueue()
    assert queue.wait_nonempty(0.01) is False
    result: list[bool] = []
    waiting = threading.Event()

    def waiter() -> None:
        waiting.set()
        result.append(queue.wait_nonempty(10))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(5)
    queue.put(Completion(op(1), State.DONE))
    thread.join(5)
    assert result == [True]
    assert queue.wait_nonempty(0) is True


def test_many_producers_one_consumer_lose_nothing() -> None:
    queue = EventQueue()
    ops = [op(i) for i in range(1, 9)]

    def produce(o: Operation) -> None:
        for n in range(500):
            queue.put(Progress(o, n, 500, 0.0))
        queue.put(Completion(o, State.DONE))

    threads = [threading.Thread(target=produce, args=(o,)) for o in ops]
    for thread in threads:
        thread.start()
    seen: list[object] = []
    while len([e for e in seen if isinstance(e, Completion)]) < len(ops):
        queue.wait_nonempty(1)
        seen.extend(drain(queue))
    for thread in threads:
        thread.join(5)
    seen.extend(drain(queue))
    for o in ops:
        mine = [e for e in seen if getattr(e, "op", None) is o]
        assert isinstance(mine[-1], Completion)
        assert sum(isinstance(e, Completion) for e in mine) == 1
        received = [e.received for e in mine if isinstance(e, Progress)]
        assert received == sorted(received) and received[-1] == 499
