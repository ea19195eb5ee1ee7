"""Bodies are decoded on the worker; the facade never decodes one on the polling thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpops
from tests.servers.content import content_for
from tests.servers.http_server import HTTPTestServer


def test_text_of_an_error_page_is_decoded_before_the_host_sees_it(
    make_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = make_engine()
    op = engine.get(server.url("/status/404"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError)
    assert op.response is not None
    assert op.response._text == "status 404"  # already decoded: reading it costs nothing


def test_json_operations_do_not_also_decode_text(
    make_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = make_engine()
    op = engine.get_json(server.url("/json"))
    assert op.result(timeout=10) == {"hello": "world", "n": 1}
    assert op.response is not None and op.response._text is None


def test_facade_passes_text_for_text_and_bytes_for_binary(
    make_engine: Callable[..., httpops.Engine], server: HTTPTestServer
) -> None:
    engine = make_engine()
    http = httpops.HTTPFacade(engine)
    got: dict[str, Any] = {}
    http.get(server.url("/text"), lambda data, err: got.update(text=(data, err)))
    http.get(server.url("/bytes/3000"), lambda data, err: got.update(binary=(data, err)))
    assert engine.run_until_idle(timeout=10)
    assert got["text"] == ("hello text", None)
    assert got["binary"] == (content_for(3000), None)
