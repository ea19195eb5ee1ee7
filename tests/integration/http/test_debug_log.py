"""One DEBUG line per finished operation on the httpops logger: method, URL, status, bytes, time."""

from __future__ import annotations

import logging
import re

import pytest

import httpops
from httpops import _engine
from tests.servers import HTTPTestServer

LINE = re.compile(
    r"op (?P<id>\d+) (?P<method>[A-Z]+) (?P<url>\S+) -> (?P<state>\w+) (?P<status>\d+|-), "
    r"(?P<bytes>\d+) bytes in (?P<time>\d+\.\d{3}) s(?P<error>: .*)?$"
)


def lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    found = []
    for record in caplog.records:
        if record.name == "httpops" and record.levelno == logging.DEBUG:
            match = LINE.match(record.getMessage())
            if match:
                found.append(match)
    return found


def test_one_line_per_operation_with_its_figures(
    engine: httpops.Engine, server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="httpops")
    ok = engine.get(server.url("/bytes/1000"))
    progress = engine.get(server.url("/bytes/2000"), on_progress=lambda op: None)
    missing = engine.post(server.url("/status/404"), b"x")
    slow = engine.get(server.url("/slow?delay=5"))
    assert engine.wait(ok, progress, missing, timeout=10)
    slow.cancel()
    engine.poll()
    got = {int(m["id"]): m for m in lines(caplog)}
    assert sorted(got) == sorted(op.id for op in (ok, progress, missing, slow))  # once each
    assert len(lines(caplog)) == 4
    first = got[ok.id]
    assert (first["method"], first["url"], first["state"], first["status"]) == (
        "GET", server.url("/bytes/1000"), "done", "200",
    )  # fmt: skip
    assert first["bytes"] == "1000" and first["error"] is None
    assert 0 < float(first["time"]) < 10
    assert got[progress.id]["bytes"] == "2000"
    failed = got[missing.id]
    assert (failed["method"], failed["state"], failed["status"]) == ("POST", "failed", "404")
    assert failed["error"].startswith(": Invalid http status code (404): POST ")
    canceled = got[slow.id]
    assert (canceled["state"], canceled["status"]) == ("canceled", "-")


def test_silenced_operations_are_logged_too(
    engine: httpops.Engine, server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="httpops")
    with engine.scope() as scope:
        op = scope.get(server.url("/slow?delay=5"))
    engine.poll()
    assert [m["state"] for m in lines(caplog) if int(m["id"]) == op.id] == ["canceled"]


def test_nothing_is_formatted_when_debug_is_off(
    engine: httpops.Engine,
    server: HTTPTestServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="httpops")
    calls: list[httpops.Operation] = []
    monkeypatch.setattr(_engine, "log_completion", lambda op, now: calls.append(op))
    op = engine.get(server.url("/text"))
    assert op.result(timeout=10).status == 200
    assert calls == [] and lines(caplog) == []
