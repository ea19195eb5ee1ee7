"""Choosing a transport: Config(transport=...), HTTPOPS_TRANSPORT, the libcurl floor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

import httpops
from httpops import transports

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPOPS_TRANSPORT", raising=False)


@pytest.fixture
def check_memo() -> Iterator[None]:
    """Restore the once-per-process curl check after a test fakes it."""
    saved, logged = list(transports._CURL_CHECK), list(transports._FALLBACK_LOGGED)
    yield
    transports._CURL_CHECK[:] = saved
    transports._FALLBACK_LOGGED[:] = logged


def test_the_default_is_auto_so_curl_where_pycurl_is_installed(
    no_env: None, check_memo: None, make_engine: EngineFactory
) -> None:
    assert httpops.Config().transport == "auto"
    assert make_engine().backend.name == "curl"  # make test installs the fast extra
    transports._CURL_CHECK[:] = [(False, "No module named 'pycurl'")]
    assert make_engine().backend.name == "requests"  # a plain install: requests


def test_unknown_transport_is_refused_at_the_call() -> None:
    with pytest.raises(httpops.InvalidArgument, match="transport must be"):
        httpops.Config(transport="urllib")


@pytest.mark.parametrize("name", ["requests", "curl"])
def test_config_picks_the_transport(no_env: None, name: str, make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(transport=name))
    assert engine.backend.name == name


def test_environment_overrides_the_config(
    monkeypatch: pytest.MonkeyPatch, make_engine: EngineFactory
) -> None:
    monkeypatch.setenv("HTTPOPS_TRANSPORT", "requests")
    assert make_engine(httpops.Config(transport="curl")).backend.name == "requests"
    monkeypatch.setenv("HTTPOPS_TRANSPORT", "curl")
    assert make_engine(httpops.Config(transport="requests")).backend.name == "curl"
    monkeypatch.setenv("HTTPOPS_TRANSPORT", "bogus")
    with pytest.raises(httpops.InvalidArgument, match="HTTPOPS_TRANSPORT must be one of"):
        make_engine()


def test_auto_uses_curl_when_it_can_run(no_env: None, make_engine: EngineFactory) -> None:
    assert transports.curl_available() == (True, "")
    assert make_engine(httpops.Config(transport="auto")).backend.name == "curl"


def test_auto_falls_back_with_one_logged_line(
    no_env: None,
    check_memo: None,
    make_engine: EngineFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transports._CURL_CHECK[:] = [(False, "libcurl 7.29.0 is older than 8.0.0")]
    transports._FALLBACK_LOGGED.clear()
    with caplog.at_level(logging.INFO, logger="httpops"):
        first = make_engine(httpops.Config(transport="auto"))
        second = make_engine(httpops.Config(transport="auto"))
    assert first.backend.name == second.backend.name == "requests"
    lines = [r.getMessage() for r in caplog.records if "transport 'auto'" in r.getMessage()]
    assert lines == ["transport 'auto': using requests (libcurl 7.29.0 is older than 8.0.0)"]
    with pytest.raises(httpops.InvalidArgument, match="transport 'curl' cannot run: libcurl 7"):
        make_engine(httpops.Config(transport="curl"))


def test_a_custom_stream_transport_runs_on_workers(
    no_env: None, make_engine: EngineFactory
) -> None:
    from httpops._requests_transport import RequestsTransport

    engine = make_engine(httpops.Config(transport="curl"), transport=RequestsTransport())
    assert engine.backend.name == "requests"


def test_an_unused_curl_engine_starts_no_thread(no_env: None, make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(transport="curl"))
    assert engine.threads() == []
    engine.close(timeout=1)
    assert engine.threads() == []
