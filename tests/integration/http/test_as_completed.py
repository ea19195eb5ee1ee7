"""httpops.as_completed over real requests: finished first, errors yielded too, the rest go on."""

from __future__ import annotations

import httpops
from tests.servers import HTTPTestServer


def test_yields_each_request_as_it_finishes(engine: httpops.Engine, server: HTTPTestServer) -> None:
    slow = engine.get(server.url("/slow?delay=0.5"))
    missing = engine.get(server.url("/status/404"))
    fast = engine.get_json(server.url("/json"))
    order = list(httpops.as_completed([slow, missing, fast], timeout=10))
    assert order[-1] is slow  # 0.5 s behind the other two
    assert set(order[:2]) == {missing, fast}
    assert fast.result() == {"hello": "world", "n": 1}
    error = missing.exception()
    assert isinstance(error, httpops.HTTPStatusError) and error.status == 404
    assert slow.result().text == "ok"


def test_timeout_leaves_the_unfinished_running(
    engine: httpops.Engine, server: HTTPTestServer
) -> None:
    fast = engine.get(server.url("/text"))
    slow = engine.get(server.url("/slow?delay=5"))
    seen = []
    try:
        for op in httpops.as_completed([fast, slow], timeout=0.5):
            seen.append(op)
    except TimeoutError as exc:  # a WaitTimeout, as concurrent.futures.as_completed raises
        assert isinstance(exc, httpops.WaitTimeout)
    assert seen == [fast]
    assert slow.running() and slow.cancel()
