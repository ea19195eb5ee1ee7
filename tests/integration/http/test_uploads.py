"""Uploads (issue 11 item 2): streamed file bodies and multipart forms, with upload progress.

Against a real sink on 127.0.0.1 that reads bodies in blocks and spools
them to disk, so memory measured in this process is the client's.
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from requests_toolbelt.multipart.decoder import MultipartDecoder

import httpops
from tests.conftest import wait_for
from tests.servers.upload_server import UploadServer

EngineFactory = Callable[..., httpops.Engine]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    with UploadServer(tmp_path_factory.mktemp("spool")) as server:
        yield server


@pytest.fixture
def upload(sink: UploadServer) -> UploadServer:
    sink.clear()
    return sink


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    """A 4 MiB 'crash dump' of random bytes."""
    path = tmp_path / "crash.dmp"
    with open(path, "wb") as out:
        for _ in range(4):
            out.write(os.urandom(MIB))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open_fds_to(path: Path) -> list[str]:
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            if os.readlink(fd) == str(path):
                found.append(fd.name)
        except OSError:
            continue
    return found


def test_put_streams_a_path_with_upload_progress(
    engine: httpops.Engine, upload: UploadServer, dump: Path
) -> None:
    seen: list[tuple[int, int | None]] = []
    op = engine.put(
        upload.url("/sink"), dump, on_progress=lambda o: seen.append((o.received, o.total))
    )
    summary = op.result(timeout=30).json()
    size = dump.stat().st_size
    assert summary["method"] == "PUT" and summary["length"] == size
    assert summary["sha256"] == _sha(dump)
    assert summary["headers"]["Content-Length"] == str(size)
    sent = [received for received, total in seen if total == size]
    assert sent, seen  # the sent side was reported against the file's size...
    assert sent == sorted(sent) and sent[-1] == size  # ...growing up to all of it
    assert _open_fds_to(dump) == []  # the file the engine opened is closed again


def test_post_streams_an_open_binary_file(engine: httpops.Engine, upload: UploadServer) -> None:
    handle = io.BytesIO(b"skip:" + b"z" * 100_000)
    handle.seek(5)
    op = engine.post(upload.url("/sink"), handle, content_type="application/x-dump")
    summary = op.result(timeout=30).json()
    assert summary["length"] == 100_000
    assert summary["content_type"] == "application/x-dump"
    assert summary["sha256"] == hashlib.sha256(b"z" * 100_000).hexdigest()
    assert not handle.closed  # the caller's file stays the caller's


def test_multipart_upload_with_fields_and_progress(
    engine: httpops.Engine, upload: UploadServer, dump: Path
) -> None:
    totals: list[int | None] = []
    op = engine.post(
        upload.url("/sink"),
        {"build": "1.2.3", "user": "ann"},
        files={"report": dump, "meta": ("meta.json", b'{"a":1}', "application/json")},
        on_progress=lambda o: totals.append(o.total),
    )
    summary = op.result(timeout=30).json()
    content_type = summary["content_type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = upload.last_body()
    assert summary["length"] == len(body) > dump.stat().st_size
    assert len(body) in totals  # upload progress counted the whole form
    parts = {
        part.headers[b"Content-Disposition"].split(b'name="')[1].split(b'"')[0]: part
        for part in MultipartDecoder(body, content_type).parts
    }
    assert parts[b"build"].content == b"1.2.3" and parts[b"user"].content == b"ann"
    assert hashlib.sha256(parts[b"report"].content).hexdigest() == _sha(dump)
    assert b'filename="crash.dmp"' in parts[b"report"].headers[b"Content-Disposition"]
    assert parts[b"meta"].headers[b"Content-Type"] == b"application/json"


class _CountingFile(io.FileIO):
    """A binary file that remembers the largest read asked of it."""

    largest = 0
    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        type(self).reads += 1
        type(self).largest = max(type(self).largest, -1 if size is None or size < 0 else size)
        return super().read(size)


def test_upload_memory_is_not_proportional_to_the_file(
    engine: httpops.Engine, upload: UploadServer, dump: Path
) -> None:
    # Warm up (imports, pools, the first connection) outside the measurement.
    engine.put(upload.url("/sink"), b"warm").result(timeout=10)
    size = dump.stat().st_size
    tracemalloc.start()
    try:
        with _CountingFile(dump, "r") as handle:
            op = engine.post(upload.url("/sink"), files={"dump": ("crash.dmp", handle)})
            summary = op.result(timeout=60).json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary["length"] > size
    print(f"upload of {size} bytes: traced peak {peak} bytes, {_CountingFile.reads} reads")
    assert peak < size // 8  # a 4 MiB file through a peak of well under 512 KiB
    assert 0 < _CountingFile.largest <= 256 * 1024  # read in blocks, never whole
    assert _CountingFile.reads > size // (256 * 1024)


def test_a_307_redirect_sends_the_streamed_body_again(
    engine: httpops.Engine, upload: UploadServer, tmp_path: Path
) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(os.urandom(300_000))
    op = engine.put(upload.url("/redirect307"), path)
    summary = op.result(timeout=30).json()
    assert summary["path"] == "/sink" and summary["sha256"] == _sha(path)
    assert [s["sha256"] for s in upload.summaries] == [_sha(path)] * 2


def test_a_retried_put_sends_the_whole_file_each_time(
    make_engine: EngineFactory, upload: UploadServer, tmp_path: Path
) -> None:
    engine = make_engine(httpops.Config(retry=httpops.Retry(attempts=2, backoff=0.001)))
    path = tmp_path / "body.bin"
    path.write_bytes(os.urandom(200_000))
    op = engine.put(upload.url("/flaky/put/1"), files={"f": path})
    assert op.result(timeout=30).status == 200
    summaries = upload.summaries
    assert len(summaries) == 2 and summaries[0]["sha256"] == summaries[1]["sha256"]
    assert summaries[0]["length"] > 200_000


class _FailingFile(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= 50_000:
            raise OSError("disk went away")
        return super().read(min(size or 10_000, 10_000))


def test_a_body_that_cannot_be_read_fails_the_operation(
    make_engine: EngineFactory, upload: UploadServer
) -> None:
    engine = make_engine(httpops.Config(retry=httpops.Retry(attempts=2, backoff=0.001)))
    op = engine.put(upload.url("/sink"), _FailingFile(b"x" * 100_000))
    assert engine.wait(op, timeout=30)
    assert isinstance(op.error, httpops.OperationError)
    assert "cannot read the request body" in str(op.error) and "disk went away" in str(op.error)
    assert "PUT" in str(op.error)


def test_cancel_stops_a_slow_upload_and_closes_the_file(
    engine: httpops.Engine, upload: UploadServer, dump: Path
) -> None:
    progressed: list[int] = []
    op = engine.put(upload.url("/slow-read"), dump, on_progress=lambda o: progressed.append(1))
    assert wait_for(lambda: engine.poll() >= 0 and bool(progressed), timeout=10)
    assert op.cancel()
    assert engine.wait(op, timeout=10)
    assert op.cancelled()
    assert wait_for(lambda: _open_fds_to(dump) == [], timeout=10)


def test_the_deadline_holds_while_the_body_is_sent(
    engine: httpops.Engine, upload: UploadServer, dump: Path
) -> None:
    # The sink reads 50 KiB/s: the 4 MiB body would take 80 s.
    op = engine.put(upload.url("/slow-read"), dump, deadline=0.5)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.DeadlineExceeded), op.error
    assert "PUT" in str(op.error)
    assert wait_for(lambda: _open_fds_to(dump) == [], timeout=10)
