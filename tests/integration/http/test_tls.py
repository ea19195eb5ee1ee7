"""TLS: certificates are verified by default; a CA bundle or verify=False is explicit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from tests.servers import HTTPTestServer, make_tls

EngineFactory = Callable[..., httpops.Engine]


def test_untrusted_certificate_fails_by_default(
    make_engine: EngineFactory, tls_server: HTTPTestServer
) -> None:
    engine = make_engine()
    op = engine.get(tls_server.url("/json"))
    assert engine.wait(op, timeout=10)
    assert op.state is httpops.State.FAILED
    assert isinstance(op.error, httpops.TLSError)
    assert isinstance(op.error, httpops.ConnectError)
    message = str(op.error)
    assert message.startswith(f"connection error: GET {op.url}: TLS failure")
    assert "certificate" in message.lower()


def test_ca_bundle_is_trusted(
    make_engine: EngineFactory, tls_server: HTTPTestServer, ca_bundle: Path
) -> None:
    engine = make_engine(httpops.Config(verify=str(ca_bundle)))
    op = engine.get_json(tls_server.url("/json"))
    assert op.result(timeout=10) == {"hello": "world", "n": 1}


def test_tls_post_and_body_with_ca_bundle(
    make_engine: EngineFactory, tls_server: HTTPTestServer, ca_bundle: Path
) -> None:
    engine = make_engine(httpops.Config(verify=str(ca_bundle)))
    echoed = engine.post_json(tls_server.url("/echo"), {"a": [1, 2]}).result(timeout=10)
    assert echoed["body"] == '{"a":[1,2]}'
    body = engine.get(tls_server.url("/bytes/300000")).result(timeout=10)
    assert len(body.content) == 300000


def test_verify_false_works_and_logs_a_warning(
    make_engine: EngineFactory, tls_server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="httpops"):
        engine = make_engine(httpops.Config(verify=False))
    warnings = [r for r in caplog.records if r.name == "httpops" and r.levelno == logging.WARNING]
    assert any("verification is DISABLED" in r.getMessage() for r in warnings)
    assert engine.get_json(tls_server.url("/json")).result(timeout=10) == {"hello": "world", "n": 1}


def test_wrong_ca_bundle_still_fails(
    make_engine: EngineFactory, tls_server: HTTPTestServer, tmp_path: Path
) -> None:
    other = make_tls(tmp_path)  # a different throwaway CA
    engine = make_engine(httpops.Config(verify=str(other.ca_bundle_path)))
    op = engine.get(tls_server.url("/json"))
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.TLSError)
