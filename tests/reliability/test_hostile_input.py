"""Hostile input, property-based: it works, or it is refused at the call -- never a worker crash.

How no case reaches anything but 127.0.0.1:

* Inputs whose host is random (URLs) go to an engine whose transport is
  :class:`PrepareOnly`: it builds each request exactly as ``requests`` would
  (URL parsing, IDNA, percent-encoding, header checks) and then answers it
  itself, so nothing is resolved or sent. A URL the engine accepted but
  ``requests`` cannot send surfaces as an "internal error" and fails the test.
* Inputs that only change the path, headers, body, file name or timeouts
  go to real local servers, end to end.
* WebSocket URLs and non-callable callbacks are checked against a *closed*
  engine: validation runs before the closed check, so every input is either
  refused for what it is or reaches ``EngineClosed`` -- never the network.

Every accepted operation must complete exactly once without an "internal
error", and nothing may be logged as one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import httpops
from httpops._requests_transport import RequestsTransport
from httpops._response import Headers
from httpops._transport import Request, UploadProgress
from tests.servers import HTTPTestServer, RawTCPServer, content_for
from tests.servers import misbehaving as mb

FEW = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CANNED = b'{"ok": true}'


class _CannedStream:
    status, reason, url = 200, "OK", ""
    headers = Headers([("Content-Type", "application/json")])

    def __init__(self) -> None:
        self._body = CANNED

    def read_chunk(self, size: int) -> bytes:
        data, self._body = self._body[:size], self._body[size:]
        return data

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class PrepareOnly(RequestsTransport):
    """Prepares every request with requests' own code, then answers it without sending."""

    def open(
        self,
        request: Request,
        on_upload: UploadProgress | None = None,
        canceled: Callable[[], bool] | None = None,
    ) -> _CannedStream:
        self._prepare(self._session(), request, request.body)  # raises what send() would
        return _CannedStream()


class InternalErrors(logging.Handler):
    """Collects "internal error" records of the httpops logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "internal error" in record.getMessage():
            self.records.append(record)


@pytest.fixture(autouse=True)
def internal_errors() -> Iterator[InternalErrors]:
    handler = InternalErrors()
    logger = logging.getLogger("httpops")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    assert handler.records == [], [r.getMessage() for r in handler.records]


def _settle(engine: httpops.Engine, op: httpops.Operation) -> None:
    """The accepted operation completes, once, and not with an internal error."""
    calls: list[int] = []
    op.callback = lambda done: calls.append(done.id)
    assert engine.wait(op, timeout=10)
    assert engine.run_until_idle(timeout=5)
    assert calls == [op.id]
    assert "internal error" not in str(op.error)


# --- URLs ------------------------------------------------------------------------------------

_hosts = st.one_of(
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6})?\Z"),
    st.text(min_size=1, max_size=12),
    st.sampled_from(
        [
            "127.0.0.1",
            "[::1]",
            "[zz]",
            "xn--",
            "a..b",
            "☃.example",
            "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",
        ]
    ),
)
_urls = st.builds(
    lambda scheme, host, port, path, query: (
        f"{scheme}://{host}{'' if port is None else f':{port}'}/{path}?{query}"
    ),
    st.sampled_from(["http", "https", "HTTP", "ws", "ftp", "", "javascript"]),
    _hosts,
    st.one_of(st.none(), st.integers(-5, 70_000)),
    st.text(max_size=20),
    st.text(max_size=20),
)


def test_random_urls_work_or_are_refused_at_the_call(tmp_path: Path) -> None:
    with httpops.Engine(httpops.Config(downloads_dir=str(tmp_path)), transport=PrepareOnly()) as e:

        @FEW
        @given(url=st.one_of(_urls, st.text(max_size=40)))
        def check(url: str) -> None:
            try:
                op = e.get_json(url)
            except httpops.InvalidURL:
                return
            assert not any(ch in url for ch in "\r\n\0 \t")
            _settle(e, op)
            assert op.state is httpops.State.DONE, op.error
            assert op.value == {"ok": True}

        check()


@FEW
@given(url=_urls, at=st.integers(0, 200), junk=st.sampled_from(["\r\n", "\n", "\r", "\0"]))
def test_cr_lf_in_a_url_is_always_refused(url: str, at: int, junk: str) -> None:
    injected = url[:at] + junk + "X-Injected: 1" + url[at:]
    with httpops.Engine(transport=PrepareOnly()) as engine:
        with pytest.raises(httpops.InvalidURL):
            engine.get(injected)
        with pytest.raises(httpops.InvalidURL):
            engine.websocket(injected.replace("http", "ws", 1))
        assert engine.operations == {}


@FEW
@given(url=st.one_of(_urls.map(lambda u: u.replace("http", "ws", 1)), st.text(max_size=40)))
def test_websocket_urls_are_validated_before_anything_starts(url: str) -> None:
    engine = httpops.Engine()
    engine.close()
    with pytest.raises(httpops.UsageError) as caught:
        engine.websocket(url)
    if any(ch in url for ch in "\r\n\0 \t"):
        assert isinstance(caught.value, httpops.InvalidURL)


def test_unicode_paths_and_queries_reach_the_local_server(http_server: HTTPTestServer) -> None:
    with httpops.Engine() as engine:

        @FEW
        @given(path=st.text(max_size=30), query=st.text(max_size=30))
        def check(path: str, query: str) -> None:
            try:
                op = engine.get(f"{http_server.base_url}/fuzz/{path}?{query}")
            except httpops.InvalidURL:
                assert any(not ch.isprintable() or ch in "\r\n\t\0 " for ch in path + query)
                return
            _settle(engine, op)
            assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 404

        check()


# --- headers ---------------------------------------------------------------------------------


def test_headers_work_end_to_end_or_are_refused_at_the_call(http_server: HTTPTestServer) -> None:
    with httpops.Engine() as engine:

        @FEW
        @given(
            name=st.one_of(st.text(max_size=12), st.from_regex(r"\AX-[A-Za-z0-9-]{1,10}\Z")),
            value=st.text(max_size=20),
        )
        def check(name: str, value: str) -> None:
            try:
                op = engine.get_json(f"{http_server.base_url}/headers", headers={name: value})
            except httpops.InvalidArgument:
                return
            assert not any(ch in name + value for ch in "\r\n\0")
            _settle(engine, op)
            assert op.state is httpops.State.DONE, op.error
            echoed = {k.lower(): v for k, v in op.value.items()}
            if name.lower() not in ("host", "content-length", "connection"):
                assert echoed[name.lower()].strip() == value.strip()

        check()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "ok\r\nX-Injected: 1"},
        {"X-A\r\nX-Injected": "1"},
        {"X-A": "ok\nSet-Cookie: a=b"},
        {"X-A": "nul\0byte"},
        {"Bad Name": "1"},
        {"X-A": " leading space"},
        {"X-A": "snow ☃"},
    ],
)
def test_header_injection_is_refused_everywhere(headers: dict[str, str]) -> None:
    with httpops.Engine(transport=PrepareOnly()) as engine:
        with pytest.raises(httpops.InvalidArgument):
            engine.get("http://127.0.0.1:9/", headers=headers)
        with pytest.raises(httpops.InvalidArgument):
            engine.websocket("ws://127.0.0.1:9/", headers=headers)
    with pytest.raises(httpops.InvalidArgument):
        httpops.Config(headers=headers)


# --- JSON ------------------------------------------------------------------------------------

_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**5000), max_value=10**5000),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            str(value)  # Python refuses ints of more than 4300 digits
        except ValueError:
            return False
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def test_json_payloads_round_trip_or_are_refused_at_the_call(http_server: HTTPTestServer) -> None:
    with httpops.Engine() as engine:

        @FEW
        @given(payload=_json)
        def check(payload: Any) -> None:
            try:
                op = engine.post_json(f"{http_server.base_url}/echo", payload)
            except httpops.InvalidArgument:
                assert not _finite(payload)
                return
            assert _finite(payload)
            _settle(engine, op)
            assert json.loads(op.value["body"]) == payload

        check()


@pytest.mark.parametrize(
    "payload",
    [
        float("nan"),
        [1, float("inf")],
        {"n": 10**5000},
        {1, 2},
        {("tuple",): 1},
        pytest.param("deep", id="nested-100000"),
    ],
)
def test_unsendable_json_is_refused_at_the_call(payload: Any) -> None:
    if payload == "deep":
        payload = []
        for _ in range(100_000):
            payload = [payload]
    with httpops.Engine(transport=PrepareOnly()) as engine:
        with pytest.raises(httpops.InvalidArgument, match="not JSON-serialisable"):
            engine.post_json("http://127.0.0.1:9/", payload)
        with pytest.raises(httpops.InvalidArgument):
            engine.post("http://127.0.0.1:9/", payload if isinstance(payload, list) else [payload])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "JSON ERROR"),
        (b"1" * 5000, "JSON ERROR"),
        (b'{"a": NaN, "b": -Infinity}', None),
        (b"\xff\xfe not utf-8", "JSON ERROR"),
    ],
    ids=["nested-100000", "5000-digits", "nan", "binary"],
)
def test_hostile_json_from_a_server_fails_the_operation_not_the_worker(
    body: bytes, expected: str | None, raw: Callable[..., RawTCPServer]
) -> None:
    server = raw(mb.json_body(body))
    with httpops.Engine() as engine:
        op = engine.get_json(f"{server.base_url}/evil")
        _settle(engine, op)
    if expected is None:  # Python's json reads NaN and Infinity: documented, not an error
        assert math.isnan(op.value["a"]) and op.value["b"] == -math.inf
    else:
        assert str(op.error).startswith(f"{expected}: GET {server.base_url}/evil"), op.error


# --- download file names ---------------------------------------------------------------------

_parts = st.one_of(
    st.sampled_from(
        ["..", ".", "", "a", "CON", "NUL", "aux.txt", "COM1", "LPT9", "~", "-", ".hidden",
         "x.httpops-part", ".x.httpops-part.json", "ünï", "a b", "..\\x", "C:", "con.txt."]
    ),
    st.text(max_size=6),
)  # fmt: skip


def test_download_names_stay_inside_the_downloads_dir(
    http_server: HTTPTestServer, tmp_path: Path
) -> None:
    root = tmp_path / "downloads"
    with httpops.Engine(httpops.Config(downloads_dir=str(root))) as engine:

        @FEW
        @given(parts=st.lists(_parts, min_size=1, max_size=4))
        def check(parts: list[str]) -> None:
            name = "/".join(parts)
            if name.startswith("/"):
                return  # absolute paths are the caller's explicit choice, taken as given
            try:
                op = engine.download(f"{http_server.base_url}/bytes/32", name)
            except httpops.InvalidArgument:
                return
            _settle(engine, op)
            if op.error is not None:  # e.g. a name that is a directory by now: a file error
                assert str(op.error).startswith("error: GET"), op.error
                return
            real = os.path.realpath(op.path or "")
            assert os.path.commonpath([real, os.path.realpath(root)]) == os.path.realpath(root)
            assert Path(real).read_bytes() == content_for(32)

        check()


def test_a_symlink_out_of_the_downloads_dir_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "downloads", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    with httpops.Engine(httpops.Config(downloads_dir=str(root)), transport=PrepareOnly()) as e:
        for name in ("escape/x.bin", "../outside/x.bin", "a/../../outside/x.bin"):
            with pytest.raises(httpops.InvalidArgument, match="escapes the downloads directory"):
                e.download("http://127.0.0.1:9/x", name)
    assert list(outside.iterdir()) == []


# --- callbacks and timeouts ------------------------------------------------------------------

_not_callable = st.one_of(
    st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
    st.builds(object), st.builds(dict),
)  # fmt: skip


@FEW
@given(value=_not_callable, where=st.integers(0, 7))
def test_non_callable_callbacks_are_refused_at_the_call(value: Any, where: int) -> None:
    engine = httpops.Engine()
    engine.close()  # validation only: see the module docstring
    calls: list[Callable[[], Any]] = [
        lambda: engine.get("http://127.0.0.1:9/", value),
        lambda: engine.post("http://127.0.0.1:9/", b"", value),
        lambda: engine.get("http://127.0.0.1:9/", on_progress=value),
        lambda: engine.download("http://127.0.0.1:9/", "x.bin", value),
        lambda: engine.download_image("http://127.0.0.1:9/", value),
        lambda: engine.websocket("ws://127.0.0.1:9/", on_message=value),
        lambda: engine.connect(on_get=value),
        lambda: engine.set_wakeup(value),
    ]
    if value is None and where == 7:
        calls[where]()  # set_wakeup(None) removes the wake-up hook
    elif value is None:  # "no callback": refused only for being closed (a listener: for None)
        with pytest.raises((httpops.EngineClosed, httpops.InvalidCallback)):
            calls[where]()
    else:
        with pytest.raises(httpops.InvalidCallback):
            calls[where]()


_timeouts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([1e-300, 5e-324, 1e10, 1e20, 1e308, 2**63, True, "1", None, [1]]),
)


def test_absurd_timeouts_work_or_are_refused_at_the_call(http_server: HTTPTestServer) -> None:
    with httpops.Engine() as engine:

        @FEW
        @given(timeout=_timeouts, deadline=_timeouts)
        def check(timeout: Any, deadline: Any) -> None:
            try:
                op = engine.get(f"{http_server.base_url}/json", timeout=timeout, deadline=deadline)
            except httpops.InvalidArgument:
                return
            _settle(engine, op)
            if op.error is not None:  # a tiny timeout or deadline: a timeout, said as such
                assert isinstance(op.error, httpops.OperationTimeout), op.error

        check()


def _sane(value: Any) -> bool:
    """A duration every layer below (sockets, locks) can take."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 < value <= threading.TIMEOUT_MAX
    )


@FEW
@given(value=_timeouts)
def test_absurd_durations_in_config_and_waits(value: Any) -> None:
    for field in ("connect_timeout", "read_timeout", "deadline", "websocket_timeout"):
        try:
            httpops.Config(**{field: value})
        except httpops.InvalidArgument:
            assert not _sane(value) and not (field == "deadline" and value is None)
    with httpops.Engine() as engine:
        for call in (
            lambda: engine.wait(timeout=value),
            lambda: engine.run_until_idle(timeout=value),
            lambda: engine.poll(budget=value),
        ):
            try:
                call()
            except httpops.InvalidArgument:
                pass
