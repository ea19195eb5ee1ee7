"""``httpops download`` waits while data arrives; stopped early, it keeps the partial file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpops.cli import build_parser, main
from tests.conftest import wait_for
from tests.servers import HTTPTestServer
from tests.servers.content import content_for

ROOT = Path(__file__).resolve().parents[2]
SIZE = 200_000
# The first request of each name sends 1000 bytes, then stalls for 5 s (the server's stop ends it).
STALLING = "/file/{name}?size=200000&pause_after=1000&pause=5"


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as http_server:
        yield http_server


def _part(target: Path) -> Path:
    return target.with_name(f".{target.name}.httpops-part")


def _meta(target: Path) -> Path:
    return target.with_name(f".{target.name}.httpops-part.json")


def test_download_has_no_default_wait_but_get_keeps_60_seconds() -> None:
    parser = build_parser()
    assert parser.parse_args(["download", "http://127.0.0.1:1/x", "f"]).wait is None
    assert parser.parse_args(["get", "http://127.0.0.1:1/x"]).wait == 60.0


def test_wait_running_out_keeps_the_partial_file_and_the_next_run_resumes(
    server: HTTPTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "big.bin"
    url = server.url(STALLING.format(name="wait"))
    assert main(["download", url, str(target), "--wait", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "no result within 0.5s" in err
    assert f"the partial file {_part(target)} (1000 bytes) is kept" in err
    assert "run the same command to resume" in err
    assert not target.exists() and _part(target).stat().st_size == 1000

    assert main(["download", url, str(target)]) == 0  # resumes from byte 1000
    assert target.read_bytes() == content_for(SIZE)
    assert server.requests[-1].headers.get("Range") == "bytes=1000-"
    assert not _part(target).exists()


def test_a_server_without_validators_leaves_nothing_and_says_so(
    server: HTTPTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "drip.bin"
    url = server.url("/drip?bytes=100000&interval=0.2")
    assert main(["download", url, str(target), "--wait", "0.3"]) == 1
    err = capsys.readouterr().err
    assert "nothing was kept to resume from" in err
    assert not target.exists() and not _part(target).exists()


def test_ctrl_c_keeps_the_partial_file_and_says_so(server: HTTPTestServer, tmp_path: Path) -> None:
    target = tmp_path / "ctrl-c.bin"
    url = server.url(STALLING.format(name="ctrl-c"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "httpops", "download", url, str(target)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # The resume metadata is written once the headers (and a validator) arrived.
        assert wait_for(_meta(target).exists, 10)
    finally:
        os.kill(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert re.search(
        rf"the partial file {re.escape(str(_part(target)))} \(\d+ bytes\) is kept", err
    )
    assert _part(target).exists() and "Traceback" not in err
