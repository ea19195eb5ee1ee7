"""HTTP/2 on the curl transport (opt-in): many small HTTPS GETs share one connection."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

import httpops
from tests.servers import TLSMaterial, make_tls
from tests.servers.h2_server import H2Server

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    return make_tls(tmp_path_factory.mktemp("h2-tls"))


@pytest.fixture
def h2_server(tls: TLSMaterial) -> Iterator[H2Server]:
    with H2Server(tls.server_context()) as server:
        yield server
        assert server.errors == []


def test_many_gets_are_multiplexed_on_one_connection(
    make_engine: EngineFactory, h2_server: H2Server, tls: TLSMaterial
) -> None:
    config = httpops.Config(transport="curl", http2=True, verify=str(tls.ca_bundle_path))
    engine = make_engine(config)
    ops = [engine.get_json(f"{h2_server.base_url}/n/{i}") for i in range(20)]
    assert engine.wait(*ops, timeout=10)
    assert all(op.state is httpops.State.DONE for op in ops), [str(op.error) for op in ops]
    streams = {op.value["stream"] for op in ops}
    assert len(streams) == 20  # one stream each
    assert h2_server.streams == 20
    assert h2_server.connections == 1
    assert ops[0].response is not None and ops[0].response.status == 200


def test_http2_is_off_by_default(
    make_engine: EngineFactory, h2_server: H2Server, tls: TLSMaterial
) -> None:
    engine = make_engine(httpops.Config(transport="curl", verify=str(tls.ca_bundle_path)))
    op = engine.get(f"{h2_server.base_url}/n/1")
    assert engine.wait(op, timeout=10)
    # The server speaks only h2; offered HTTP/1.1 alone, the client gets nothing it can use.
    assert op.state is httpops.State.FAILED
    assert h2_server.streams == 0


def test_http2_on_the_requests_transport_is_logged_and_ignored(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HTTPOPS_TRANSPORT", raising=False)
    with caplog.at_level(logging.WARNING, logger="httpops"):
        engine = make_engine(httpops.Config(http2=True, transport="requests"))
    assert engine.backend.name == "requests"
    assert "needs the curl transport" in caplog.text


def test_http2_must_be_a_bool() -> None:
    with pytest.raises(httpops.InvalidArgument, match="http2 must be True or False"):
        httpops.Config(http2="yes")  # type: ignore[arg-type]
