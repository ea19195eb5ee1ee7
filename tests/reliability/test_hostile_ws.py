"""Hostile WebSocket peers (issue 9): every limit holds, in time, with one error and one close.

Each peer is a raw socket from :mod:`tests.servers.hostile_ws` that does what
a well-behaved server never would: drips or floods its handshake, ignores
our close frame while flooding, stops reading, floods pings or fragments,
sends invalid close frames. The autouse leak check of this package finds
threads and descriptors back at their baseline after each test.
"""

from __future__ import annotations

import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import trustme

import httpops
from tests.conftest import wait_for
from tests.reliability.support import Ending, assert_error, finish
from tests.servers import RawTCPServer
from tests.servers import hostile_ws as hw
from tests.servers import misbehaving as mb
from tests.servers.raw import Handler

Start = Callable[[Handler], RawTCPServer]
MakeEngine = Callable[..., httpops.Engine]
FastConfig = Callable[..., httpops.Config]
SLACK = 1.5


class Socket:
    """Callbacks of one WebSocket, recorded."""

    def __init__(self) -> None:
        self.opens = 0
        self.messages = 0
        self.errors: list[httpops.OperationError] = []
        self.closes: list[tuple[int, str]] = []
        self.ending = Ending()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_open": self.on_open,
            "on_message": self.on_message,
            "on_error": self.on_error,
            "on_close": self.on_close,
        }

    def on_open(self, ws: Any, reconnected: bool) -> None:
        self.opens += 1

    def on_message(self, ws: Any, message: Any) -> None:
        self.messages += 1

    def on_error(self, ws: Any, error: httpops.OperationError) -> None:
        self.errors.append(error)

    def on_close(self, ws: Any, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        self.ending(ws)


def _url(server: RawTCPServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}/{path}"


def _maybe_tls(scheme: str, ca: trustme.CA, handler: Handler) -> Handler:
    """``handler`` as is for ws://, behind TLS with a certificate from ``ca`` for wss://."""
    if scheme == "ws":
        return handler
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return mb.tls(context, handler)


def _close_code(record: hw.Record) -> int | None:
    """The code of the first close frame the client sent, if any."""
    closes = record.opcodes(0x8)
    if not closes or len(closes[0]) < 2:
        return None
    code: int = struct.unpack("!H", closes[0][:2])[0]
    return code


@pytest.fixture
def short_close(monkeypatch: pytest.MonkeyPatch) -> float:
    """Wait 0.5 s (not 3 s) for the server's close frame, to keep these tests fast."""
    monkeypatch.setattr("httpops._ws_writer.CLOSE_TIMEOUT", 0.5)
    return 0.5


# --- item 12: fragments ----------------------------------------------------------------------


def test_endless_one_byte_fragments_hit_the_fragment_cap(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    # 1-byte continuations would take millions of frames to reach the byte limit.
    server = raw(hw.endless_fragments(1))
    engine = make_engine(fast_config(ws_max_fragments=512))
    sock = Socket()
    ws = engine.websocket(_url(server, "fragments"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK)
    assert_error(ws.operation, "body too large", "512 fragments")
    assert len(sock.errors) == 1 and len(sock.closes) == 1


def test_fragments_count_toward_the_size_limit_as_they_arrive(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    server = raw(hw.endless_fragments(1024))
    engine = make_engine(fast_config(ws_max_message_bytes=64 * 1024, ws_max_fragments=10**6))
    sock = Socket()
    ws = engine.websocket(_url(server, "big"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK)
    assert_error(ws.operation, "body too large", "exceeds the limit of 65536")


def test_a_fragmented_message_arrives_whole(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    # 7-byte fragments split the 2-byte "é" across frames: decoded only once joined.
    text = "".join(f"part{i:04d}-é" for i in range(1000))
    whole = text.encode()
    parts = [whole[i : i + 7] for i in range(0, len(whole), 7)]
    server = raw(hw.fragmented(parts))
    engine = make_engine(fast_config())
    got: list[Any] = []
    ws = engine.websocket(_url(server, "parts"), on_message=lambda w, m: got.append(m))
    assert wait_for(lambda: engine.poll() >= 0 and len(got) == 2, timeout=5)
    assert got == [text, "after"]
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


# --- item 14: header injection -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subprotocols": ["chat\r\nX-Injected:1"]},
        {"subprotocols": ["chat,other"]},
        {"subprotocols": ["chat\x00"]},
        {"subprotocols": [""]},
        {"headers": {"Origin": "http://a\r\nX-Injected: 1"}},
        {"headers": {"Cookie": "a=b\r\nX-Injected: 1"}},
        {"headers": {"X-Bad\r\nName": "v"}},
    ],
)
def test_header_injection_is_refused_at_the_call(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, kwargs: dict[str, Any]
) -> None:
    record = hw.Record()
    server = raw(hw.invalid_close(b"", record))
    engine = make_engine(fast_config())
    with pytest.raises(httpops.InvalidArgument):
        engine.websocket(_url(server, "inject"), **kwargs)
    assert server.accepted == 0


def test_a_valid_subprotocol_is_offered(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    record = hw.Record()
    server = raw(hw.invalid_close(struct.pack("!H", 1000), record))
    engine = make_engine(fast_config())
    ws = engine.websocket(_url(server, "proto"), subprotocols=["chat.v2"])
    assert engine.wait(ws.operation, timeout=5)
    assert b"Sec-WebSocket-Protocol: chat.v2\r\n" in record.requests[0]
    assert ws.subprotocol == "chat.v2"
    assert ws.operation.state is httpops.State.DONE


# --- item 18: reconnect backoff ------------------------------------------------------------


@pytest.mark.parametrize("backoff", [0, 0.0, 0.05])
def test_reconnect_refuses_a_backoff_that_would_spin(backoff: float) -> None:
    with pytest.raises(httpops.InvalidArgument, match=r"backoff must be >= 0\.1"):
        httpops.Reconnect(attempts=None, backoff=backoff)


@pytest.mark.slow
def test_reconnects_to_a_resetting_peer_are_paced(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    server = raw(hw.invalid_close(b"\x03\xe8", hw.Record()))
    engine = make_engine(fast_config())
    policy = httpops.Reconnect(attempts=None, backoff=0.1, max_backoff=0.1, jitter=1.0,
                               on_server_close=True)  # fmt: skip
    ws = engine.websocket(_url(server, "again"), reconnect=policy)
    _pump(engine, 1.0)
    attempts = server.accepted
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    # One second at >= 0.1 s per delay: at most ~10 connections (1,170/s without the floor).
    assert 2 <= attempts <= 12, attempts


# --- item 19: invalid close frames -----------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        (struct.pack("!H", 999), 1002),
        (struct.pack("!H", 1005), 1002),
        (struct.pack("!H", 2000), 1002),
        (b"\x03", 1002),
        (struct.pack("!H", 1000) + b"\xff\xfe bad", 1007),
    ],
)
def test_an_invalid_close_frame_is_answered_with_the_rfc_code(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, payload: bytes, answer: int
) -> None:
    record = hw.Record()
    server = raw(hw.invalid_close(payload, record))
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket(_url(server, "close"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK)
    assert wait_for(lambda: _close_code(record) is not None, timeout=2)
    assert _close_code(record) == answer
    assert_error(ws.operation, "connection error", "protocol error")


# A masked server frame: mask bit and key, then the payload XORed with it.
_MASKED = bytes([0x81, 0x80 | 2]) + b"\x01\x02\x03\x04" + bytes([ord("h") ^ 1, ord("i") ^ 2])


@pytest.mark.parametrize(
    "data",
    [
        bytes([0x80 | 0x40 | 0x1, 2]) + b"hi",  # RSV1 set, no extension agreed
        bytes([0x80 | 0x20 | 0x1, 2]) + b"hi",  # RSV2
        hw.frame(0x3, b"x"),  # a reserved (unknown) data opcode
        hw.frame(0xB, b"x"),  # a reserved control opcode
        hw.frame(0x9, b"p", fin=False),  # a fragmented ping
        hw.frame(0x9, b"p" * 126),  # a ping over 125 bytes
        _MASKED,  # servers never mask
    ],
    ids=["rsv1", "rsv2", "opcode-3", "opcode-b", "fragmented-ping", "long-ping", "masked"],
)
def test_a_malformed_frame_header_is_answered_1002(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, data: bytes
) -> None:
    record = hw.Record()
    server = raw(hw.sends(data, record))
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket(_url(server, "frame"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK)
    assert wait_for(lambda: _close_code(record) is not None, timeout=2)
    assert _close_code(record) == 1002
    assert_error(ws.operation, "connection error", "protocol error")
    assert sock.messages == 0  # nothing of the bad frame reached the host


def test_a_valid_close_frame_is_echoed(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    record = hw.Record()
    server = raw(hw.invalid_close(struct.pack("!H", 4001) + "bye ✓".encode(), record))
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket(_url(server, "ok"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK)
    assert sock.closes == [(4001, "bye ✓")] and not sock.errors
    assert wait_for(lambda: _close_code(record) is not None, timeout=2)
    assert _close_code(record) == 4001


def _thread_cpu(name: str) -> float:
    """CPU seconds used so far by the live thread called ``name``."""
    for thread in threading.enumerate():
        if thread.name == name and thread.native_id is not None:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in ticks
    raise AssertionError(f"no thread {name}")


def _pump(engine: httpops.Engine, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.poll()
        time.sleep(0.01)


# --- item 11: the byte high-water mark -------------------------------------------------------


@pytest.mark.slow
def test_the_byte_high_water_mark_stops_reading(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    server = raw(hw.stream(100, 64 * 1024))
    engine = make_engine(fast_config(ws_high_water=1000, ws_high_water_bytes=256 * 1024))
    sock = Socket()
    ws = engine.websocket(_url(server, "bytes"), **sock.callbacks())
    # Not polled: the reader must stop at 256 KiB (4 messages), not at 1000 messages.
    assert wait_for(lambda: ws.undelivered >= 4, timeout=5)
    assert not wait_for(lambda: ws.undelivered > 5, timeout=0.5), ws.undelivered
    assert ws.undelivered_bytes <= 256 * 1024 + 64 * 1024
    # Nothing was dropped: polling brings every message.
    assert wait_for(lambda: engine.poll() >= 0 and sock.messages == 100, timeout=5)
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


# --- item 9: closing against a flood ---------------------------------------------------------


def _flooded(raw: Start, engine: httpops.Engine, record: hw.Record) -> tuple[Any, Socket]:
    """A socket to a flooding server, paused at its high-water mark (64 messages)."""
    server = raw(hw.close_flood(record))
    sock = Socket()
    ws = engine.websocket(_url(server, "flood"), **sock.callbacks())
    assert wait_for(lambda: ws.undelivered >= 64, timeout=5)
    return ws, sock


def test_close_drops_a_flood_and_ends_in_time(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    engine = make_engine(fast_config(ws_high_water=64))
    record = hw.Record()
    ws, sock = _flooded(raw, engine, record)
    sock.ending.started = time.monotonic()
    ws.close()
    # Before the fix the reader stopped pausing once closing and queued ~100k/s.
    assert not wait_for(lambda: ws.undelivered > 64, timeout=0.5), ws.undelivered
    finish(engine, ws.operation, sock.ending, limit=short_close + SLACK)
    assert sock.closes == [(1000, "")]
    assert sock.messages <= 64
    assert _close_code(record) == 1000


def test_engine_close_drops_a_flood_and_ends_in_time(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    engine = make_engine(fast_config(ws_high_water=64))
    record = hw.Record()
    ws, _sock = _flooded(raw, engine, record)
    started = time.monotonic()
    engine.close(timeout=5.0)
    assert time.monotonic() - started <= short_close + SLACK
    assert len(engine.events) <= 64 + 8, len(engine.events)
    assert not [t.name for t in threading.enumerate() if t.name.startswith(f"httpops-ws-{ws.id}")]


# --- item 2: the opening handshake -------------------------------------------------------------


@pytest.mark.slow
def test_a_dripped_handshake_fails_within_the_timeout(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    # 2 bytes/s: every read returns well within the timeout, so only a deadline stops it.
    server = raw(hw.drip_handshake(rate=2.0))
    engine = make_engine(fast_config(websocket_timeout=1.0))
    sock = Socket()
    ws = engine.websocket(_url(server, "drip"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=1.0 + 0.5)
    assert_error(ws.operation, "timeout", "handshake within 1s")
    assert len(sock.errors) == 1 and sock.opens == 0


@pytest.mark.slow
def test_a_dripped_tls_handshake_fails_within_the_timeout(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, ca: trustme.CA, ca_bundle: str
) -> None:
    # CPython bounds the whole TLS handshake by the socket's timeout; the upgrade after
    # it only gets what is left of the same deadline.
    tls_server = raw(_maybe_tls("wss", ca, hw.silent))
    relay = raw(hw.drip_relay(tls_server.port, rate=50.0))
    engine = make_engine(fast_config(websocket_timeout=1.0, verify=ca_bundle))
    sock = Socket()
    ws = engine.websocket(f"wss://127.0.0.1:{relay.port}/drip", **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=1.0 + 0.5)
    assert_error(ws.operation, "timeout", "handshake within 1s")


def test_endless_handshake_header_lines_are_capped(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    server = raw(hw.endless_header_lines)
    engine = make_engine(fast_config(websocket_timeout=10.0))
    sock = Socket()
    ws = engine.websocket(_url(server, "headers"), **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=SLACK * 2)
    assert_error(ws.operation, "connection error", "handshake response head exceeds 65536 bytes")
    assert len(sock.errors) == 1 and sock.opens == 0


# --- item 10: a peer that stops reading --------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ws", "wss"])
@pytest.mark.slow
def test_a_peer_that_stops_reading_is_dead_even_during_a_big_send(
    raw: Start,
    make_engine: MakeEngine,
    fast_config: FastConfig,
    ca: trustme.CA,
    ca_bundle: str,
    scheme: str,
) -> None:
    # Over TLS too: ssl retries a blocking socket's write forever, a timeout-mode one not.
    interval, timeout = 0.3, 0.3
    server = raw(_maybe_tls(scheme, ca, hw.stops_reading))
    engine = make_engine(
        fast_config(ws_ping_interval=interval, ws_ping_timeout=timeout, verify=ca_bundle)
    )
    sock = Socket()
    url = f"{scheme}://127.0.0.1:{server.port}/stuck"
    ws = engine.websocket(url, **sock.callbacks())
    assert wait_for(lambda: engine.poll() >= 0 and sock.opens == 1, timeout=5)
    sock.ending.started = time.monotonic()
    assert ws.send(b"x" * (8 * 1024 * 1024))  # far more than the kernel buffers hold
    finish(engine, ws.operation, sock.ending, limit=interval + timeout + 1.0)
    assert_error(ws.operation, "timeout", "read nothing")
    assert len(sock.errors) == 1 and len(sock.closes) == 1


# --- item 13: ping flood -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_ping_flood_neither_pins_a_core_nor_gets_a_pong_each(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig, short_close: float
) -> None:
    record = hw.Record()
    flood = 1.0
    server = raw(hw.ping_flood(record, flood))
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket(_url(server, "pings"), **sock.callbacks())
    assert wait_for(lambda: engine.poll() >= 0 and sock.opens == 1, timeout=5)
    reader = f"httpops-ws-{ws.id}"
    cpu = _thread_cpu(reader)
    _pump(engine, flood)
    used = _thread_cpu(reader) - cpu
    pongs = len(record.opcodes(0xA))
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert used < 0.4 * flood, f"reader used {used:.2f} CPU-s in {flood}s"
    assert 1 <= pongs <= 3 * (flood + 1) / 0.1, pongs  # at most ~one per 0.1 s
    assert sock.closes and not sock.errors


# --- item 17: proxy variables, read once ----------------------------------------------------


def test_proxy_variables_are_read_when_the_engine_is_created(
    raw: Start,
    make_engine: MakeEngine,
    fast_config: FastConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxied, direct = hw.Record(), hw.Record()
    proxy = raw(hw.proxy_recorder(proxied))
    target = raw(hw.invalid_close(struct.pack("!H", 1000), direct))
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    with_proxy = make_engine(fast_config())
    monkeypatch.delenv("http_proxy")
    monkeypatch.delenv("HTTP_PROXY")
    without = make_engine(fast_config())
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")  # too late for both

    ws = without.websocket(_url(target, "direct"))
    assert without.wait(ws.operation, timeout=5)
    assert len(direct.requests) == 1 and proxied.requests == []

    ws = with_proxy.websocket(_url(target, "proxied"))
    assert with_proxy.wait(ws.operation, timeout=5)
    assert [r.split(b"\r\n")[0] for r in proxied.requests] == [
        f"CONNECT 127.0.0.1:{target.port} HTTP/1.1".encode()
    ]
    assert len(direct.requests) == 1


# --- issue 10 item 4: the idle timeout ---------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ws", "wss"])
@pytest.mark.slow
def test_idle_timeout_fails_a_silent_socket_once(
    raw: Start,
    make_engine: MakeEngine,
    fast_config: FastConfig,
    ca: trustme.CA,
    ca_bundle: str,
    scheme: str,
) -> None:
    server = raw(_maybe_tls(scheme, ca, hw.silent))
    engine = make_engine(fast_config(verify=ca_bundle))
    sock = Socket()
    url = f"{scheme}://127.0.0.1:{server.port}/silent"
    ws = engine.websocket(url, idle_timeout=1.0, **sock.callbacks())
    finish(engine, ws.operation, sock.ending, limit=1.0 + SLACK)
    assert sock.ending.elapsed >= 1.0
    assert_error(ws.operation, "timeout", "no message for 1s")
    assert [str(e) for e in sock.errors] == [str(ws.operation.error)]
    assert len(sock.closes) == 1


@pytest.mark.slow
def test_messages_keep_an_idle_socket_open(
    raw: Start, make_engine: MakeEngine, fast_config: FastConfig
) -> None:
    server = raw(hw.ticking(interval=0.15, count=6))
    engine = make_engine(fast_config())
    sock = Socket()
    ws = engine.websocket_json(_url(server, "ticks"), idle_timeout=0.45, **sock.callbacks())
    # 6 messages 0.15 s apart: 0.9 s in all, twice the idle timeout.
    assert wait_for(lambda: engine.poll() >= 0 and sock.messages == 6, timeout=5)
    assert not sock.errors and not sock.closes
    finish(engine, ws.operation, sock.ending, limit=5)
    assert_error(ws.operation, "timeout", "no message for 0.45s")


@pytest.mark.parametrize("value", [0, -1, float("inf"), "1"])
def test_idle_timeout_is_checked_at_the_call(engine: httpops.Engine, value: Any) -> None:
    with pytest.raises(httpops.InvalidArgument, match="idle_timeout"):
        engine.websocket("ws://127.0.0.1:9/x", idle_timeout=value)
