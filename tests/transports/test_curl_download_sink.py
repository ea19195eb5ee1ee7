"""Downloads on the curl transport: the network thread writes the body into the ``.part`` file.

The download job opens the temporary file on its worker (SafeDir rules) and
hands a FileSink to the stream; libcurl's write callback appends to it
through a buffer, with CRC32/SHA-256. These tests check that path itself;
the rest of the download suite runs on it through ``tests/run_both.sh``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops import _download_sink
from httpops._download_sink import FileSink
from httpops._resume import Hashes
from httpops._transport import Request
from httpops._worker import TaskContext
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, RawTCPServer, content_sha256
from tests.servers.hostile_http import read_request
from tests.servers.raw import Handler

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that write a FileSink's buffer to its file."""
    names: list[str] = []
    original = FileSink._write

    def spy(self: FileSink, buffer: bytearray) -> None:
        names.append(threading.current_thread().name)
        original(self, buffer)

    monkeypatch.setattr(FileSink, "_write", spy)
    return names


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_the_network_thread_writes_the_body_and_the_checksums_match(
    curl_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    tmp_path: Path,
    writers: list[str],
) -> None:
    engine = curl_engine()
    # More than the 8 MiB a transfer buffers before the job attaches its file:
    # however late the worker comes, the network thread writes the rest.
    size = 24 * 1024 * 1024 + 123
    op = engine.download(
        server.url(f"/file/big?size={size}"), "big.bin", sha256=content_sha256(size)
    )
    path = op.result(timeout=30)
    assert Path(path).stat().st_size == size
    assert "httpops-curl" in writers  # the write callback wrote (most of) it
    assert _files(tmp_path / "downloads") == ["big.bin"]


def test_a_rate_limited_download_keeps_the_read_path(
    curl_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    writers: list[str],
) -> None:
    engine = curl_engine()
    size = 200_000
    op = engine.download(
        server.url(f"/file/slow?size={size}"), "slow.bin",
        sha256=content_sha256(size), rate_limit=20_000_000,
    )  # fmt: skip
    op.result(timeout=20)
    assert writers == []  # paced reads on the worker, as before


def test_cancel_mid_body_leaves_no_file_and_drops_the_transfer(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: Path
) -> None:
    engine = curl_engine(progress_interval=0.0)
    url = server.url("/file/c?size=300000&pause_after=100000&pause=30")
    op = engine.download(url, "c.bin", resume=False)
    assert wait_for(lambda: engine.poll() >= 0 and op.received == 100_000, timeout=10)
    assert op.cancel()
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.Canceled)
    assert wait_for(lambda: _files(tmp_path / "downloads") == [], timeout=5)
    loop = engine.backend.loop  # type: ignore[attr-defined]
    assert wait_for(lambda: not loop._active, timeout=5)


def test_a_symlink_swapped_for_the_part_file_cannot_redirect_the_write(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: Path
) -> None:
    engine = curl_engine(progress_interval=0.0)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    downloads = tmp_path / "downloads"
    url = server.url("/file/s?size=300000&pause_after=100000&pause=1")
    op = engine.download(url, "s.bin", resume=False)
    part = downloads / ".s.bin.httpops-part"
    assert wait_for(lambda: engine.poll() >= 0 and op.received == 100_000, timeout=10)
    assert part.stat().st_size == 100_000  # progress counts bytes already in the file
    swap = downloads / "swap"
    swap.symlink_to(victim)
    swap.replace(part)  # the part name now leads out of downloads_dir
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.OperationError), op.error
    assert url in str(op.error) and "was replaced" in str(op.error)
    assert victim.read_bytes() == b"precious"
    assert not (downloads / "s.bin").exists()


def test_max_bytes_refuses_a_promised_length_on_the_direct_path(
    curl_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: Path
) -> None:
    engine = curl_engine()
    url = server.url("/file/m?size=300000")
    op = engine.download(url, "m.bin", max_bytes=200_000)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.BodyTooLarge), op.error
    assert url in str(op.error) and "exceeds the limit of 200000" in str(op.error)
    assert _files(tmp_path / "downloads") == []


# -- the sink itself ---------------------------------------------------------------------------


class _Ctx:
    moved = 0


def _sink(tmp_path: Path, **limits: int | None) -> tuple[FileSink, Path]:
    path = tmp_path / "sink.bin"
    f = path.open("wb")
    request = Request(method="GET", url="http://127.0.0.1:1/x")
    ctx: TaskContext = _Ctx()  # type: ignore[assignment]
    sink = FileSink(
        f, Hashes(True), ctx, request, received=0,
        limit=limits.get("limit"), end=limits.get("end"),
        overrun=lambda end, at: httpops.VerificationError("GET", request.url, f"{at}>{end}"),
    )  # fmt: skip
    return sink, path


def test_the_sink_writes_in_large_buffers_and_hashes_what_it_wrote(tmp_path: Path) -> None:
    sink, path = _sink(tmp_path)
    chunk = b"x" * 16384
    for _ in range(_download_sink.FLUSH_BYTES // len(chunk) - 1):
        assert sink.add(chunk)
    assert sink.written == 0  # still buffered
    assert sink.add(chunk)
    assert sink.written == _download_sink.FLUSH_BYTES
    assert sink.add(b"tail")
    sink.flush()
    sink.file.close()
    assert path.stat().st_size == sink.received == sink.written == _download_sink.FLUSH_BYTES + 4


def test_the_sink_refuses_bytes_past_the_limit_and_the_declared_end(tmp_path: Path) -> None:
    sink, _ = _sink(tmp_path, limit=10)
    assert sink.add(b"0123456789")
    assert not sink.add(b"!")
    assert isinstance(sink.error, httpops.BodyTooLarge)
    assert "body exceeds the limit of 10 bytes" in str(sink.error)
    assert sink.received == 10
    sink.file.close()
    sink, _ = _sink(tmp_path, end=5)
    assert not sink.add(b"012345")
    assert isinstance(sink.error, httpops.VerificationError) and sink.received == 0
    sink.file.close()


def _chunked_answer(chunk: int, total: int) -> Handler:
    """A chunked 200 of ``total`` bytes in ``chunk``-byte chunks, once per request."""
    piece = b"%x\r\n" % chunk + b"d" * chunk + b"\r\n"
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer += piece * (total // chunk) + b"0\r\n\r\n"

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            conn.sendall(answer)

    return handler


def test_a_chunked_body_is_written_through_the_buffer_not_per_chunk(
    curl_engine: Callable[..., httpops.Engine], writers: list[str]
) -> None:
    # libcurl hands a chunked body over chunk by chunk (8 KiB here, short of its
    # 16 KiB most): the sink still gathers them into large writes and hashes.
    engine = curl_engine()
    size = 4 * 1024 * 1024
    server = RawTCPServer(_chunked_answer(8 * 1024, size)).start()
    try:
        path = engine.download(server.url("/f"), "chunked.bin").result(timeout=20)
    finally:
        server.stop()
    assert Path(path).stat().st_size == size
    assert len(writers) <= 64, f"{len(writers)} writes for a 4 MiB chunked body"
