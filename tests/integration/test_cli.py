"""The ``httpops`` command against the embedded demo server: every subcommand, errors, help."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpops.cli import main
from httpops.demo import DemoServer, file_bytes

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    """The demo server (HTTP and WebSocket) for the whole module."""
    with DemoServer() as server:
        assert server.ws_url, "websockets is not installed"
        yield server
        assert server.errors == []


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m httpops ARGS`` as a subprocess (stdin piped when given)."""
    return subprocess.run(
        [sys.executable, "-m", "httpops", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("httpops: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- get / post ------------------------------------------------------------------------


def test_get_prints_the_body_and_get_json_the_decoded_value(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", demo.url("/api/player/3")]) == 0
    body = capsys.readouterr().out
    assert json.loads(body)["name"] == "player-3"
    assert main(["get", demo.url("/api/highscores"), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["scores"][0]["rank"] == 1
    assert out.startswith("{\n  ")  # pretty-printed


def test_post_sends_a_form_or_json_and_headers(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["post", demo.url("/api/echo"), "name=knight"]) == 0
    form = json.loads(capsys.readouterr().out)
    assert form["echo"] == "name=knight"
    assert form["content_type"] == "application/x-www-form-urlencoded"
    args = ["post", demo.url("/api/echo"), '{"a": [1, 2]}', "--json", "-H", "X-Demo-Who: cli"]
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["echo"] == {"a": [1, 2]} and answer["headers"] == {"X-Demo-Who": "cli"}


def test_http_failure_is_one_line_on_stderr_and_exit_1(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", demo.url("/api/fail")]) == 1
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert line.startswith("httpops: Invalid http status code (500): GET http://127.0.0.1:")
    assert captured.out == ""
    assert main(["get", demo.url("/api/fail?status=404"), "-v"]) == 1
    captured = capsys.readouterr()
    assert "deliberate failure" in captured.out  # --verbose prints the error body


def test_connection_refused_and_timeout_fail_with_exit_1(
    demo: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket_closed_port() as port:
        assert main(["get", f"http://127.0.0.1:{port}/x"]) == 1
    assert "connection refused" in one_error_line(capsys.readouterr().err)
    assert main(["get", demo.url("/api/slow?delay=5"), "--wait", "0.2"]) == 1
    assert "no result within 0.2s" in one_error_line(capsys.readouterr().err)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "notaurl"]) == 2
    assert "unsupported scheme" in one_error_line(capsys.readouterr().err)
    assert main(["post", "http://127.0.0.1:1/x", "{bad", "--json"]) == 2
    assert "DATA is not JSON" in one_error_line(capsys.readouterr().err)
    assert main(["get", "http://127.0.0.1:1/x", "-H", "no colon"]) == 2
    assert "Name: value" in one_error_line(capsys.readouterr().err)
    with pytest.raises(SystemExit) as info:
        main(["get"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


# -- download --------------------------------------------------------------------------


def test_download_shows_progress_and_checksums(
    demo: DemoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    size = 1 << 20
    expected = hashlib.sha256(file_bytes(size)).hexdigest()
    url = demo.url(f"/files/1m?rate={4 * size}")  # ~0.25 s: several progress lines
    assert main(["download", url, "got.bin", "--sha256", expected]) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "got.bin").read_bytes() == file_bytes(size)
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(progress) >= 2 and progress[-1].startswith("[" + "#" * 30 + "] 100.0%")
    assert re.search(r"\d+(\.\d)? (B|KiB|MiB)/s$", progress[-1]), progress
    summary = captured.out.strip()
    assert summary.startswith(str(tmp_path / "got.bin"))
    assert f"{size} bytes" in summary and f"sha256 {expected} (verified)" in summary
    assert re.search(r"crc32 [0-9a-f]{8}", summary)


def test_download_with_a_wrong_sha256_fails_and_keeps_nothing(
    demo: DemoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["download", demo.url("/files/1000"), "bad.bin", "--sha256", "0" * 64]) == 1
    assert "verification error" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "bad.bin").exists()
    assert main(["download", demo.url("/files/1000"), "x.bin", "--sha256", "nothex"]) == 2
    assert "sha256" in one_error_line(capsys.readouterr().err).lower()


# -- ws (a subprocess with piped stdin) -------------------------------------------------


@pytest.mark.slow
def test_ws_sends_stdin_lines_and_prints_messages(demo: DemoServer) -> None:
    proc = run("ws", demo.ws("/echo"), stdin="hello\nworld\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["hello", "world"]
    assert "httpops: connected to ws://127.0.0.1:" in proc.stderr
    assert "httpops: closed 1000" in proc.stderr


@pytest.mark.slow
def test_ws_chat_and_json_mode(demo: DemoServer) -> None:
    chat = run("ws", demo.ws("/chat?name=cli"), stdin="any news?\n")
    assert chat.returncode == 0, chat.stderr
    lines = chat.stdout.splitlines()
    assert lines[0] == "server: welcome cli (1 online)"
    assert "cli: any news?" in lines and any(x.startswith("npc: good question") for x in lines)
    echoed = run("ws", demo.ws("/echo"), "--json", stdin='{"a": 1}\n')
    assert echoed.returncode == 0, echoed.stderr
    assert json.loads(echoed.stdout) == {"a": 1}


def test_ws_connection_refused_exits_1() -> None:
    with socket_closed_port() as port:
        proc = run("ws", f"ws://127.0.0.1:{port}/x", stdin="")
    assert proc.returncode == 1
    assert "httpops: connection error: WS ws://127.0.0.1:" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- serve and demo (subprocesses) -------------------------------------------------------


@pytest.mark.slow
def test_serve_prints_its_urls_and_answers_until_stopped() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "httpops", "serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"httpops demo server on (http://127\.0\.0\.1:\d+) ", first)
        assert match, first
        second = proc.stdout.readline()
        ws = re.match(r"WebSocket server on (ws://127\.0\.0\.1:\d+)", second)
        assert ws, second
        base = match.group(1)
        got = run("get", base + "/api/player/5", "--json")
        assert got.returncode == 0 and json.loads(got.stdout)["id"] == 5
        echoed = run("ws", ws.group(1) + "/echo", stdin="ping\n")
        assert echoed.stdout.strip() == "ping"
    finally:
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C: the documented way to stop it
        _out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_demo_subcommand_runs_one_second(tmp_path: Path) -> None:
    proc = run("demo", "--seconds", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result       OK (exit 0)" in proc.stdout


@pytest.mark.parametrize("command", ["", "get", "post", "download", "ws", "serve", "demo"])
def test_help_everywhere(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"] if command else ["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: httpops")
    if not command:
        for name in ("get", "post", "download", "ws", "serve", "demo"):
            assert name in text
    if command == "demo":
        assert "--seconds" in text and "--window" in text


def test_python_m_httpops_and_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and re.match(r"httpops \d", proc.stdout)


class socket_closed_port:
    """A 127.0.0.1 port that was just bound and released: nothing listens there."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc_info: object) -> None:
        return None
