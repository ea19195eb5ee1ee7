"""WebSocket pieces without sockets: arguments, error names, close frames, the ping clock."""

from __future__ import annotations

import socket
import ssl
import types
from collections.abc import Callable

import pytest
import websocket

import httpops
from httpops._facade_websocket import _callbacks
from httpops._ws_connect import close_payload, parse_close, translate
from httpops._ws_handle import close_message
from httpops._ws_policy import DEAD, PING, PauseClock, PingClock

URL = "ws://127.0.0.1:9/x"
EngineFactory = Callable[..., httpops.Engine]


@pytest.mark.parametrize(
    ("url", "kwargs", "error", "message"),
    [
        ("http://127.0.0.1/x", {}, httpops.InvalidURL, "expected ws://, wss://"),
        ("ws://", {}, httpops.InvalidURL, "no host"),
        (URL, {"on_message": 3}, httpops.InvalidCallback, "on_message must be callable"),
        (URL, {"timeout": 0}, httpops.InvalidArgument, "timeout must be"),
        (URL, {"ping_interval": -1}, httpops.InvalidArgument, "ping_interval must be"),
        (URL, {"ping_timeout": None}, httpops.InvalidArgument, "ping_timeout must be"),
        (URL, {"reconnect": 3}, httpops.InvalidArgument, "reconnect must be a httpops.Reconnect"),
        (URL, {"json": "yes"}, httpops.InvalidArgument, "json must be a bool"),
        (URL, {"headers": {"Bad\n": "x"}}, httpops.InvalidArgument, "header"),
        (URL, {"subprotocols": "chat"}, httpops.InvalidArgument, "subprotocols must be a list"),
    ],
)
def test_bad_arguments_are_rejected_at_the_call(
    engine: httpops.Engine,
    url: str,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        engine.websocket(url, **kwargs)  # type: ignore[arg-type]
    assert engine.operations == {}


def test_a_closed_engine_refuses_new_sockets(make_engine: EngineFactory) -> None:
    engine = make_engine()
    engine.close()
    with pytest.raises(httpops.EngineClosed):
        engine.websocket(URL)


def test_facade_callbacks_from_dict_object_or_none() -> None:
    def fn(message: object, op_id: int) -> None:
        return None

    assert _callbacks({"onOpen": fn})["onOpen"] is fn
    assert _callbacks(types.SimpleNamespace(onClose=fn))["onClose"] is fn
    assert _callbacks(None) == dict.fromkeys(("onOpen", "onMessage", "onClose", "onError"))
    with pytest.raises(httpops.InvalidCallback, match=r"callbacks\.onError"):
        _callbacks({"onError": "nope"})


@pytest.mark.parametrize(
    ("exc", "kind", "start"),
    [
        (websocket.WebSocketAddressException("x"), httpops.ResolveError, "resolve error"),
        (socket.gaierror(-2, "unknown"), httpops.ResolveError, "resolve error"),
        (ConnectionRefusedError(111, "refused"), httpops.ConnectError, "connection error"),
        (TimeoutError("timed out"), httpops.ConnectTimeout, "timeout"),
        (websocket.WebSocketTimeoutException("t"), httpops.ConnectTimeout, "timeout"),
        (ssl.SSLCertVerificationError("verify"), httpops.TLSError, "connection error"),
        (
            websocket.WebSocketBadStatusException("no", 403),
            httpops.HTTPStatusError,
            "Invalid http status code (403)",
        ),
        (ConnectionResetError(104, "reset"), httpops.ConnectionDropped, "connection error"),
    ],
)
def test_translate_keeps_the_stable_phrases(
    exc: BaseException, kind: type[httpops.OperationError], start: str
) -> None:
    error = translate(exc, URL, handshake=True, timeout=2.0)
    assert type(error) is kind
    assert str(error).startswith(f"{start}: WS {URL}: ")


def test_a_timeout_after_the_handshake_is_a_read_timeout() -> None:
    error = translate(TimeoutError("t"), URL, handshake=False, timeout=2.0)
    assert isinstance(error, httpops.ReadTimeout)


def test_close_frames_round_trip() -> None:
    assert parse_close(close_payload(4001, "bye ✓")) == (4001, "bye ✓")
    assert parse_close(b"") == (1005, "")
    assert close_message(1000, "") == "1000"
    assert close_message(4001, "bye") == "4001: bye"


def test_ping_clock_pings_judges_and_forgives_a_paused_reader() -> None:
    clock = PingClock(interval=1.0, timeout=0.5)
    pauses = PauseClock()
    start = clock.next_ping - 1.0
    job, wait = clock.check(start + 0.2, 0.0, pauses)
    assert job is None and wait == pytest.approx(0.8)
    assert clock.check(start + 1.0, 0.0, pauses)[0] is PING
    job, wait = clock.check(start + 1.2, 0.0, pauses)
    assert job is None and wait == pytest.approx(0.3)
    # Answered: back to waiting for the next ping.
    job, wait = clock.check(start + 1.3, start + 1.1, pauses)
    assert job is None and wait == pytest.approx(0.7)
    assert clock.check(start + 2.0, start + 1.1, pauses)[0] is PING
    # No pong, but the reader is paused for backpressure: not judged while it lasts ...
    pauses.pause(start + 2.3)
    assert clock.check(start + 2.6, start + 1.1, pauses) == (None, None)
    pauses.resume(start + 2.8)
    # ... and the wait for the pong is longer by the pause (0.5 s): due at 3.0, not 2.5.
    job, wait = clock.check(start + 2.9, start + 1.1, pauses)
    assert job is None and wait == pytest.approx(0.1)
    assert clock.check(start + 3.0, start + 1.1, pauses)[0] is DEAD


def test_no_ping_interval_means_no_pings() -> None:
    assert PingClock(interval=None, timeout=0.5).check(10**9, 0.0, PauseClock()) == (None, None)
