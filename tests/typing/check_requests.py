"""Every method, uploads and auth are typed: checked by ``mypy --strict`` in ``make lint``.

Never run. A ``# type: ignore[code]`` marks a line that must fail type
checking with that code (``warn_unused_ignores`` reports one that stopped failing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing_extensions import assert_type

import httpops

URL = "http://127.0.0.1:8000/api"


def every_method_returns_a_typed_operation(engine: httpops.Engine) -> None:
    assert_type(engine.request("OPTIONS", URL), httpops.Operation[httpops.Response])
    assert_type(engine.request_json("PUT", URL, json={}), httpops.Operation[Any])
    assert_type(engine.put(URL, {"a": 1}), httpops.Operation[httpops.Response])
    assert_type(engine.patch(URL, json=[1]), httpops.Operation[httpops.Response])
    assert_type(engine.delete(URL, retry=None), httpops.Operation[httpops.Response])
    assert_type(engine.head(URL, timeout=3), httpops.Operation[httpops.Response])
    assert_type(engine.cookies.get("session"), str | None)


def keywords_are_checked(engine: httpops.Engine) -> None:
    engine.put(URL, Path("crash.dmp"), auth=httpops.BearerAuth("t"))
    engine.post(URL, {"build": "1"}, files={"dump": Path("crash.dmp")})
    engine.get(URL, auth=("user", "password"))
    engine.put(URL, b"x", retry=3)  # type: ignore[arg-type]
    engine.patch(URL, b"x", auth="token")  # type: ignore[arg-type]
    engine.delete(URL, timeot=3)  # type: ignore[call-arg]
    engine.get(URL, auth="token")  # type: ignore[arg-type]
