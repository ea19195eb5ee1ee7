"""Typed results: checked by ``mypy --strict`` in ``make lint``, never run.

Each ``assert_type`` must hold. Each ``# type: ignore[code]`` marks a line
that must fail type checking with exactly that code: with
``warn_unused_ignores`` (part of --strict), a line that stopped failing is
reported as an unused ignore, so the check cannot rot silently.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import httpops

URL = "http://127.0.0.1:8000/api"


def operations_are_typed_by_their_result(engine: httpops.Engine) -> None:
    assert_type(engine.get(URL), httpops.Operation[httpops.Response])
    assert_type(engine.post(URL, b"x"), httpops.Operation[httpops.Response])
    assert_type(engine.get_json(URL), httpops.Operation[Any])
    assert_type(engine.post_json(URL, {"a": 1}), httpops.Operation[Any])
    assert_type(engine.download(URL, "file.bin"), httpops.Operation[str])
    assert_type(engine.download_image(URL), httpops.Operation[str])

    op = engine.get(URL)
    assert_type(op.result(), httpops.Response)
    assert_type(op.result(timeout=5).status_code, int)
    assert_type(op.value, httpops.Response)
    assert_type(op.response, httpops.Response | None)
    assert_type(op.exception(), httpops.OperationError | None)
    assert_type(op.done(), bool)
    assert_type(op.cancelled(), bool)
    assert_type(op.running(), bool)
    print(op.result().status_cod)  # type: ignore[attr-defined]
    engine.get_json(URL).result()["any"]["thing"]  # JSON is Any: anything goes


def the_error_is_typed(engine: httpops.Engine) -> None:
    op = engine.get(URL)
    err = op.error
    assert_type(err, httpops.OperationError | None)
    if err is not None:
        assert_type(err.url, str)
        assert_type(err.method, str)
        assert_type(err.status, int | None)
        assert_type(err.response, httpops.Response | None)
        err.status + 1  # type: ignore[operator]
    if isinstance(err, httpops.HTTPStatusError):
        assert_type(err.status, int)
        err.status + 1


def response_habits(response: httpops.Response) -> None:
    assert_type(response.status_code, int)
    assert_type(response.ok, bool)
    assert_type(response.raise_for_status(), httpops.Response)
    assert_type(response.json(), Any)
    assert_type(response.url, str)
    assert_type(response.history, tuple[httpops.Response, ...])
    response.elapsed.total_seconds()
    response.elapsed + 1.0  # type: ignore[operator]


def per_call_options(engine: httpops.Engine) -> None:
    engine.get(URL, raise_for_status=False)
    engine.post_json(URL, [1], raise_for_status=False)
    engine.get(URL, raise_for_status="no")  # type: ignore[arg-type]
    engine.download(URL, "f", raise_for_status=False)  # type: ignore[call-arg]


def the_old_done_property_is_flagged(op: httpops.Operation[httpops.Response]) -> bool:
    # ``while not op.done:`` -- a method now, so the old test would always be true.
    old = not op.done  # type: ignore[truthy-function]
    return old or not op.done()


def as_completed_keeps_the_type(engine: httpops.Engine) -> None:
    ops = [engine.get(URL), engine.get(URL)]
    for op in httpops.as_completed(ops, timeout=10):
        assert_type(op, httpops.Operation[httpops.Response])
        assert_type(op.result(), httpops.Response)


async def await_gives_the_result(engine: httpops.Engine) -> None:
    assert_type(await engine.get(URL), httpops.Response)
    assert_type(await engine.download(URL, "f"), str)
    assert_type(await engine.get_json(URL), Any)


def the_new_timeout_name() -> None:
    try:
        pass
    except httpops.OperationTimeout as err:
        assert_type(err.url, str)
    except httpops.WaitTimeout:
        pass
    except httpops.TimeoutError_:  # the deprecated name still type-checks for one release
        pass
