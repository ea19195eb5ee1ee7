"""The demo: `python -m httpops.demo` end to end, its report logic, and the demo server."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from httpops.demo import DemoGame, DemoServer, Shot, file_bytes, main, png_bytes, run_demo
from httpops.demo.chat import ChatServer, bot_reply
from httpops.demo.loop import PlainView
from httpops.demo.shots import DemoReport
from httpops.demo.stats import Samples, percentile
from httpops.demo.summary import sparkline, summary_lines
from tests.conftest import wait_for

EngineFactory = Callable[..., httpops.Engine]
ROOT = Path(__file__).resolve().parents[2]


def _demo_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("httpops-")}


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """The demo server on an ephemeral port; its handlers must not have failed."""
    with DemoServer() as server:
        yield server
        assert server.errors == []


# -- the demo itself ------------------------------------------------------------------


@pytest.mark.slow
def test_python_m_httpops_demo_runs_and_exits_0() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "httpops.demo", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert "\x1b[" not in out  # not a terminal: plain lines, no live panel
    assert "result       OK (exit 0)" in out
    assert re.search(r"frame time\s+p50 [\d.]+ ms\s+p99 [\d.]+ ms\s+max [\d.]+ ms", out), out
    # The deliberate failure arrives with OTCv8's phrase; the cancel silences its callback.
    assert re.search(r"getJSON /api/fail -> ERROR Invalid http status code \(500\)", out), out
    assert re.search(r"HTTP.cancel -> True at \d+% of download 8m", out), out
    assert "1 failed as expected, 1 canceled (callback never ran)" in out
    assert "downloads    3 of 3 complete with the right CRC32" in out
    assert "images       8 of 8 loaded, 4 from the cache (server saw 4)" in out
    assert "scene town -> dungeon: scope.close() canceled 2 operations" in out
    assert "scenes       town -> dungeon: 2 operations canceled by scope.close()" in out
    assert "websocket    7 messages received, closed 1000" in out
    # Every result line comes from the main thread, which runs the loop.
    results = [line for line in out.splitlines() if " -> " in line and "HTTP.cancel" not in line]
    results = [line for line in results if line.startswith("[frame") and "scene town" not in line]
    assert len(results) >= 15
    assert all("MainThread]" in line for line in results), results
    landed = re.search(r"callbacks\s+(\d+) of (\d+) ran on the loop thread", out)
    assert landed is not None and landed.group(1) == landed.group(2) == str(len(results))


def test_run_demo_in_process_reports_every_result_on_the_loop_thread() -> None:
    before = _demo_threads()
    out = io.StringIO()
    report = run_demo(seconds=0.5, out=out, mode="plain")
    assert report.exit_code == 0, out.getvalue()
    assert report.frames >= 25  # ~30 frames at 60 Hz, plus any waited for results
    kinds = {shot.expect for shot in report.shots}
    assert kinds == {"ok", "error", "cancel", "scope"}
    assert {shot.kind for shot in report.shots} == {"request", "download", "image", "websocket"}
    landed = [shot for shot in report.shots if shot.landed]
    assert landed and all(shot.on_loop_thread for shot in landed)
    assert all(not s.landed for s in report.shots if s.expect in ("cancel", "scope"))
    assert report.listener_calls["HTTP.onGet"] >= 2
    assert report.listener_calls["HTTP.onDownload"] >= 3
    assert report.image_requests == 4  # the second round came from the cache
    assert wait_for(lambda: not (_demo_threads() - before), timeout=5.0), _demo_threads()


def test_rich_panel_shows_bars_timings_and_chat() -> None:
    from rich.console import Console

    from httpops.demo.panel import RichView

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=110, color_system=None)
    view = RichView(console)
    out = io.StringIO()
    with DemoServer() as server, httpops.Engine() as engine:
        game = DemoGame(httpops.HTTPFacade(engine), server.base_url, ws_url=server.ws_url,
                        seconds=0.5, view=view)  # fmt: skip
        view.start()
        game.run()
        view.stop(game)
    console.print(view.render(game))
    text = buffer.getvalue()
    assert "httpops demo - 60 fps - scene: dungeon" in text
    assert re.search(r"frame time\s+p50 [\d.]+ ms\s+p99", text)
    assert any(ch in text for ch in "▁▂▃▄▅▆▇█")  # the sparkline
    assert re.search(r"download 4m\s+━+\s+100\.0", text), text
    assert "npc: hello knight" in text and "canceled" in text
    assert "images 8 loaded, 4 from the cache" in text
    del out


def test_ctrl_c_ends_the_run_with_a_summary_and_exit_0() -> None:
    out = io.StringIO()
    calls = {"n": 0}

    def sleep(seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt
        threading.Event().wait(seconds)

    with DemoServer() as server, httpops.Engine() as engine:
        game = DemoGame(httpops.HTTPFacade(engine), server.base_url, ws_url=server.ws_url,
                        seconds=5, view=PlainView(out), sleep=sleep)  # fmt: skip
        report = game.run()
    # A frame that overran its slot skips its sleep, so on a loaded machine the
    # 20th sleep can come a frame or two later.
    assert report.interrupted and 20 <= report.frames <= 25
    assert report.abandoned and report.exit_code == 0
    text = "\n".join(summary_lines(report))
    assert "stopped      by Ctrl-C" in text and "result       OK (exit 0)" in text


def test_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--seconds", "--fps", "--budget", "--window", "--plain", "--save-frame"):
        assert option in text


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--seconds", "0"])
    assert exit_info.value.code == 2
    assert "--seconds" in capsys.readouterr().err


def _report(*shots: Shot, interrupted: bool = False) -> DemoReport:
    return DemoReport(list(shots), Samples(), Samples(), 1.0, 60.0, interrupted=interrupted)


def _shot(expect: str, **changes: object) -> Shot:
    shot = Shot("x", frame=1, fired_at=0.0, expect=expect, expect_error="Invalid http")
    shot.landed_frame, shot.on_loop_thread = 2, True
    if expect == "error":
        shot.err = "Invalid http status code (500): GET u: HTTP 500"
    if expect in ("cancel", "scope"):
        shot.landed_frame, shot.canceled = None, True
    for name, value in changes.items():
        setattr(shot, name, value)
    return shot


def test_exit_code_is_1_unless_every_expected_result_arrived_as_expected() -> None:
    good = [_shot("ok"), _shot("error"), _shot("cancel"), _shot("scope")]
    assert _report(*good).exit_code == 0
    assert _report(_shot("ok", landed_frame=None), *good[1:]).exit_code == 1  # missing
    assert _report(_shot("ok", on_loop_thread=False), *good[1:]).exit_code == 1
    assert _report(_shot("ok", err="timeout: GET u: ..."), *good[1:]).exit_code == 1
    assert _report(_shot("ok", want_messages=3, messages=2), *good[1:]).exit_code == 1
    assert _report(good[0], _shot("error", err=None), *good[2:]).exit_code == 1
    assert _report(*good[:2], _shot("cancel", landed_frame=5), good[3]).exit_code == 1
    assert _report(*good[:2], _shot("cancel", canceled=False), good[3]).exit_code == 1
    assert _report(*good[:2], _shot("cancel", err="partial file"), good[3]).exit_code == 1
    assert _report(*good[:3], _shot("scope", landed_frame=9)).exit_code == 1  # called back
    assert _report(*good[:3]).exit_code == 1  # no scene switch was tried
    # Ctrl-C: what is still in flight is not held against the run; wrong results are.
    assert _report(_shot("ok", landed_frame=None), interrupted=True).exit_code == 0
    assert _report(_shot("ok", err="boom"), interrupted=True).exit_code == 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 99) == 7.0


# -- the demo server ------------------------------------------------------------------


def test_json_endpoints(make_engine: EngineFactory, demo_server: DemoServer) -> None:
    engine = make_engine()
    player = engine.get_json(demo_server.url("/api/player/3")).result(timeout=10)
    assert player["id"] == 3 and player["name"] == "player-3"
    scores = engine.get_json(demo_server.url("/api/highscores")).result(timeout=10)["scores"]
    assert len(scores) == 10 and scores[0]["rank"] == 1
    index = engine.get_json(demo_server.url("/")).result(timeout=10)
    assert "/api/echo" in index["routes"]
    slow = engine.get_json(demo_server.url("/api/slow?delay=0.05")).result(timeout=10)
    assert slow == {"delay": 0.05}


def test_echo_returns_json_text_and_headers(
    make_engine: EngineFactory, demo_server: DemoServer
) -> None:
    engine = make_engine()
    url = demo_server.url("/api/echo")
    answer = engine.post_json(url, {"a": [1, 2]}, headers={"X-Demo-Player": "knight"}).result(
        timeout=10
    )
    assert answer["echo"] == {"a": [1, 2]}
    assert answer["headers"] == {"X-Demo-Player": "knight"}
    assert answer["agent"].startswith("httpops/")
    form = engine.post(url, "name=knight").result(timeout=10).json()
    assert form["echo"] == "name=knight"
    assert form["content_type"] == "application/x-www-form-urlencoded"


def test_fail_and_unknown_routes_fail_with_the_status(
    make_engine: EngineFactory, demo_server: DemoServer
) -> None:
    engine = make_engine()
    for path, status in (("/api/fail", 500), ("/api/fail?status=503", 503), ("/nope", 404)):
        op = engine.get(demo_server.url(path))
        assert engine.wait(op, timeout=10)
        assert isinstance(op.error, httpops.HTTPStatusError)
        assert op.error.status == status
        assert str(op.error).startswith(f"Invalid http status code ({status})")


@pytest.mark.parametrize("size", [0, 1, 250, 251, 1000, 65536 + 300, 200_000])
def test_file_bytes_slices_agree_with_the_whole(size: int) -> None:
    whole = file_bytes(size)
    assert len(whole) == size
    for start, end in ((0, size), (1, size), (size // 3, size // 2), (size - 1, size)):
        assert file_bytes(size, max(start, 0), end) == whole[max(start, 0) : end]


def test_files_have_etag_and_ranges(make_engine: EngineFactory, demo_server: DemoServer) -> None:
    engine = make_engine()
    url = demo_server.url("/files/64k")
    whole = engine.get(url).result(timeout=10)
    assert whole.status == 200 and whole.content == file_bytes(65536)
    etag = whole.headers["ETag"]
    assert whole.headers["Accept-Ranges"] == "bytes"

    part = engine.get(url, headers={"Range": "bytes=1000-1999", "If-Range": etag}).result(10)
    assert part.status == 206
    assert part.headers["Content-Range"] == "bytes 1000-1999/65536"
    assert part.content == file_bytes(65536, 1000, 2000)

    tail = engine.get(url, headers={"Range": "bytes=-100"}).result(timeout=10)
    assert tail.status == 206 and tail.content == file_bytes(65536)[-100:]
    stale = engine.get(url, headers={"Range": "bytes=10-", "If-Range": '"other"'}).result(10)
    assert stale.status == 200 and len(stale.content) == 65536  # changed: the whole file
    cached = engine.get(url, headers={"If-None-Match": etag}).result(timeout=10)
    assert cached.status == 304 and cached.content == b""

    beyond = engine.get(url, headers={"Range": "bytes=70000-"})
    assert engine.wait(beyond, timeout=10)
    assert isinstance(beyond.error, httpops.HTTPStatusError) and beyond.error.status == 416
    assert beyond.response is not None
    assert beyond.response.headers["Content-Range"] == "bytes */65536"


def test_files_can_be_throttled(make_engine: EngineFactory, demo_server: DemoServer) -> None:
    engine = make_engine()
    started = time.monotonic()
    body = engine.get(demo_server.url("/files/8192?rate=40960")).result(timeout=10)
    # 8192 bytes at 40960 B/s go out in 2048-byte slices with three 50 ms waits.
    assert time.monotonic() - started >= 0.1
    assert body.content == file_bytes(8192)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def test_images_are_valid_pngs_with_etag(
    make_engine: EngineFactory, demo_server: DemoServer
) -> None:
    engine = make_engine()
    url = demo_server.url("/images/7.png")
    response = engine.get(url).result(timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == png_bytes(7) != png_bytes(8)
    chunks = _png_chunks(response.content)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (32, 32)
    assert len(zlib.decompress(chunks[1][1])) == 32 * (1 + 32 * 3)
    again = engine.get(url, headers={"If-None-Match": response.headers["ETag"]}).result(10)
    assert again.status == 304


def test_stop_ends_slow_requests_and_kept_alive_connections(
    make_engine: EngineFactory,
) -> None:
    before = _demo_threads()
    engine = make_engine()
    server = DemoServer().start()
    assert engine.get(server.url("/api/player/1")).result(timeout=10).status == 200
    slow = engine.get(server.url("/api/slow?delay=30"))
    assert wait_for(lambda: server.requests_served >= 2, timeout=5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    assert not any(t.name.startswith("httpops-demo") for t in _demo_threads() - before)
    assert engine.wait(slow, timeout=10)
    assert isinstance(slow.error, httpops.TransportError)  # hung up on, not answered
    assert server.errors == []


def test_result_timeout_raises_wait_timeout_as_the_scripts_page_says(
    make_engine: EngineFactory, demo_server: DemoServer
) -> None:
    engine = make_engine()
    op = engine.get_json(demo_server.url("/api/slow?delay=5"))
    with pytest.raises(httpops.WaitTimeout, match=r"not finished after 0\.1 seconds"):
        op.result(timeout=0.1)
    assert not op.done()
    assert op.cancel()
    assert engine.wait(op, timeout=5) and op.state is httpops.State.CANCELED


# -- the WebSocket half of the demo server ----------------------------------------------


def test_chat_room_welcomes_broadcasts_and_the_bot_answers(make_engine: EngineFactory) -> None:
    engine = make_engine()
    with ChatServer() as chat:
        got: dict[str, list[str]] = {"a": [], "b": []}
        sockets = {
            name: engine.websocket(
                f"{chat.base_url}/chat?name={name}",
                on_message=lambda ws, m, name=name: got[name].append(m),
            )
            for name in ("a", "b")
        }
        assert wait_for(lambda: chat.online == 2, timeout=5)
        sockets["a"].send("any news?")

        def heard() -> bool:
            engine.poll()
            return "a: any news?" in got["b"] and len(got["a"]) >= 3

        assert wait_for(heard, timeout=5), got
        assert re.fullmatch(r"server: welcome a \([12] online\)", got["a"][0])
        assert got["a"][1:] == ["a: any news?", bot_reply("a", "any news?")]
        for ws in sockets.values():
            ws.close()
        assert engine.wait(*(ws.operation for ws in sockets.values()), timeout=5)
        assert chat.messages_seen == 1


def test_echo_route_and_unknown_route(make_engine: EngineFactory) -> None:
    engine = make_engine()
    with DemoServer() as server:
        closes: list[int] = []
        echoed: list[object] = []
        ws = engine.websocket(
            server.ws("/echo"), on_message=lambda w, m: (echoed.append(m), w.close())
        )
        ws.send(b"\x00\x01")
        nowhere = engine.websocket(server.ws("/nowhere"), on_close=lambda w, c, r: closes.append(c))
        assert engine.wait(ws.operation, nowhere.operation, timeout=5)
        assert echoed == [b"\x00\x01"]
        assert closes == [4004]


def test_bot_reply_and_sparkline_are_deterministic() -> None:
    assert bot_reply("k", "hi?").startswith("npc: good question, k.")
    assert bot_reply("k", "hi") == bot_reply("k", "hi")
    assert sparkline([0.0, 1 / 120, 1 / 60, 1.0], 2 / 60) == "▁▂▄█"
    assert sparkline([1.0], 0.0) == ""
