"""Echo of text, binary and JSON; send before open; JSON errors; polling-thread callbacks."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import httpops
from tests.integration.websocket.conftest import Recorder, pump
from tests.servers import RawTCPServer, WSTestServer, never_answer

EngineFactory = Callable[..., httpops.Engine]


def test_echo_text_binary_and_json_in_order(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/echo"), **rec.callbacks())
    # Sent before the socket opened: queued and flushed on open, in order.
    assert ws.send("héllo")
    assert ws.send(b"\x00\xff binary")
    assert ws.send({"a": [1, 2.5, None]})
    assert ws.state == "connecting"
    assert pump(engine, lambda: len(rec.messages) == 3)
    assert rec.messages == ["héllo", b"\x00\xff binary", '{"a":[1,2.5,null]}']
    assert rec.events[0] == ("open", False)
    assert ws.state == "open"
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert rec.closes == [(1000, "")]
    assert ws.state == "closed"
    assert ws.operation.state is httpops.State.DONE
    assert ws.operation.value == (1000, "")
    assert rec.threads == {threading.current_thread().name}


def test_json_socket_decodes_on_the_session_and_reports_bad_json(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket_json(ws_server.url("/json"), **rec.callbacks())
    ws.send({"hp": 100, "name": "knight"})
    ws.send("not json " + "x" * 200)
    ws.send([1, 2, 3])
    assert pump(engine, lambda: len(rec.messages) == 2 and len(rec.errors) == 1)
    assert rec.messages == [{"hp": 100, "name": "knight"}, [1, 2, 3]]
    (error,) = rec.errors
    assert isinstance(error, httpops.JSONDecodeError)
    assert str(error).startswith("JSON ERROR: ")
    assert error.snippet == ("not json " + "x" * 200)[:100]
    # A bad message is an error event, not a close: the socket stays open.
    assert rec.closes == []
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert rec.closes == [(1000, "")]


def test_large_messages_and_many_small_ones_arrive_whole_and_in_order(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/echo"), **rec.callbacks())
    big = bytes(range(256)) * 4096  # 1 MiB: goes through the writer thread, not direct
    texts = [f"message {i}" for i in range(500)]
    ws.send(big)
    for text in texts:
        assert ws.send(text)
    assert pump(engine, lambda: len(rec.messages) == 501, timeout=10)
    assert rec.messages[0] == big
    assert rec.messages[1:] == texts
    ws.close()
    assert engine.wait(ws.operation, timeout=5)


def test_global_listeners_get_operation_id_and_message(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    seen: list[tuple[str, int, object]] = []
    engine.connect(
        on_ws_open=lambda op_id, msg: seen.append(("open", op_id, msg)),
        on_ws_message=lambda op_id, msg: seen.append(("message", op_id, msg)),
        on_ws_close=lambda op_id, msg: seen.append(("close", op_id, msg)),
    )
    ws = engine.websocket(ws_server.url("/echo"))
    ws.send("ping?")
    assert pump(engine, lambda: any(kind == "message" for kind, _, _ in seen))
    ws.close(4000, "done here")
    assert engine.wait(ws.operation, timeout=5)
    assert seen == [
        ("open", ws.id, ws.url),
        ("message", ws.id, "ping?"),
        ("close", ws.id, "4000: done here"),
    ]


def test_callbacks_run_only_on_the_polling_thread_never_inside_send(
    engine: httpops.Engine, ws_server: WSTestServer, rec: Recorder
) -> None:
    ws = engine.websocket(ws_server.url("/burst?n=200&size=32"), **rec.callbacks())
    ws.send("go")
    assert rec.events == []  # nothing runs until poll()
    poller_done = threading.Event()

    def poller() -> None:
        pump(engine, lambda: len(rec.messages) == 200)
        ws.close()
        engine.wait(ws.operation, timeout=5)
        poller_done.set()

    thread = threading.Thread(target=poller, name="script-poller")
    thread.start()
    thread.join(10)
    assert poller_done.is_set()
    assert rec.threads == {"script-poller"}
    assert [m[: m.index(".")] for m in rec.messages] == [str(i) for i in range(200)]


def test_send_rejects_bad_types_and_unserialisable_json(
    engine: httpops.Engine, ws_server: WSTestServer
) -> None:
    ws = engine.websocket(ws_server.url("/echo"))
    with pytest.raises(httpops.InvalidArgument, match="message must be str, bytes"):
        ws.send(42)  # type: ignore[arg-type]
    with pytest.raises(httpops.InvalidArgument, match="not JSON-serialisable"):
        ws.send({"x": float("nan")})
    with pytest.raises(httpops.InvalidArgument, match="close code"):
        ws.close(1005)
    ws.close()
    assert engine.wait(ws.operation, timeout=5)
    assert ws.send("too late") is False


def test_outbound_queue_is_bounded(make_engine: EngineFactory) -> None:
    engine = make_engine(httpops.Config(ws_send_queue=3))
    with RawTCPServer(never_answer) as silent:
        # The handshake never completes, so every message waits in the queue.
        ws = engine.websocket(f"ws://127.0.0.1:{silent.port}/", timeout=5)
        results = [ws.send(f"m{i}") for i in range(5)]
        assert results == [True, True, True, False, False]
        ws.close()
        assert engine.wait(ws.operation, timeout=5)
    assert ws.operation.value == (1000, "")
