"""Downloads that fail or are canceled: nothing partial at the target, nothing clobbered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops import State
from tests.conftest import wait_for
from tests.servers import HTTPTestServer, content_sha256


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_truncated_body_fails_clearly_and_leaves_nothing(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    url = server.url("/truncate?length=100000&send=40000")
    op = dl_engine.download(url, "t.bin")
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.ConnectionDropped)
    assert str(op.error).startswith(f"connection error: GET {url}: ")
    assert op.path is None
    assert _files(downloads_dir) == []  # no validator from /truncate: nothing to resume


def test_http_error_leaves_nothing(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    op = dl_engine.download(server.url("/status/500"), "e.bin")
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 500
    assert _files(downloads_dir) == []


def test_sha256_mismatch_fails_and_keeps_the_existing_good_file(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    downloads_dir.mkdir()
    (downloads_dir / "good.bin").write_bytes(b"the good file")
    op = dl_engine.download(server.url("/file/m?size=50000"), "good.bin", sha256="0" * 64)
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.ChecksumMismatch)
    assert content_sha256(50_000) in str(op.error)
    assert (downloads_dir / "good.bin").read_bytes() == b"the good file"
    assert _files(downloads_dir) == ["good.bin"]  # temporary file and metadata are gone


def test_failure_never_clobbers_an_existing_file(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    downloads_dir.mkdir()
    (downloads_dir / "keep.bin").write_bytes(b"keep me")
    op = dl_engine.download(server.url("/truncate?length=1000&send=10"), "keep.bin")
    assert dl_engine.wait(op, timeout=10)
    assert op.state is State.FAILED
    assert (downloads_dir / "keep.bin").read_bytes() == b"keep me"


def test_max_bytes_refuses_a_large_content_length_before_writing(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    op = dl_engine.download(server.url("/file/big?size=500000"), "big.bin", max_bytes=1000)
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.BodyTooLarge)
    assert "Content-Length 500000 exceeds the limit of 1000" in str(op.error)
    assert op.received == 0  # not a byte was written
    assert _files(downloads_dir) == []


def test_max_bytes_stops_a_body_without_length(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
    downloads_dir: Path,
) -> None:
    engine = make_engine(dl_config(max_download_bytes=100_000))  # the config default
    op = engine.download(server.url("/bytes/2000000?chunked=1"), "big.bin")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.BodyTooLarge)
    assert "exceeds the limit of 100000 bytes" in str(op.error)
    assert _files(downloads_dir) == []


def test_cancel_mid_download_leaves_no_file(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    op = dl_engine.download(server.url("/drip?bytes=1000&interval=0.01"), "c.bin")
    assert wait_for(lambda: dl_engine.poll() >= 0 and op.received > 0, timeout=10)
    assert op.cancel()
    assert dl_engine.wait(op, timeout=10)
    assert op.state is State.CANCELED
    assert isinstance(op.error, httpops.Canceled)
    # The worker removes its temporary file once the aborted read returns.
    assert wait_for(lambda: _files(downloads_dir) == [], timeout=5)


def test_facade_cancel_runs_no_callback_and_leaves_no_file(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    http = httpops.HTTPFacade(dl_engine)
    calls: list[object] = []
    done: list[object] = []
    http.onDownload = lambda *args: done.append(args)
    op_id = http.download(
        server.url("/drip?bytes=1000&interval=0.01"),
        "fc.bin",
        lambda *args: calls.append(("callback", args)),
        lambda *args: calls.append(("progress", args)),
    )
    op = http.operations[op_id]
    assert wait_for(lambda: dl_engine.poll() >= 0 and op.received > 0, timeout=10)
    calls.clear()
    assert http.cancel(op_id)
    assert dl_engine.wait(op, timeout=10)
    dl_engine.poll()
    assert calls == [] and done == []
    assert op_id not in http.operations
    assert wait_for(lambda: _files(downloads_dir) == [], timeout=5)


def test_cancel_keeps_a_resumable_temporary_file_and_the_next_download_resumes(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    # /file answers with an ETag, so a canceled transfer can be continued later;
    # the first answer stalls after 100000 bytes, so the cancel lands mid-body.
    url = server.url("/file/cr?size=300000&pause_after=100000&pause=30")
    op = dl_engine.download(url, "cr.bin")
    assert wait_for(lambda: dl_engine.poll() >= 0 and op.received == 100_000, timeout=10)
    assert op.cancel()
    assert dl_engine.wait(op, timeout=10)
    part = downloads_dir / ".cr.bin.httpops-part"
    assert wait_for(lambda: ".cr.bin.httpops-part.json" in _files(downloads_dir), timeout=5)
    assert part.stat().st_size == 100_000
    assert "cr.bin" not in _files(downloads_dir)
    again = dl_engine.download(url, "cr.bin", sha256=content_sha256(300_000))
    assert again.result(timeout=10) == str(downloads_dir / "cr.bin")
    assert server.requests[-1].header("Range") == "bytes=100000-"
    assert server.requests[-1].header("If-Range") == '"cr-300000"'
    assert _files(downloads_dir) == ["cr.bin"]


@pytest.mark.parametrize(
    ("file", "why"),
    [
        ("../outside.bin", "'..' leads outside"),
        ("a/../../outside.bin", "'..' leads outside"),
        ("sub/../../../etc/passwd", "'..' leads outside"),
    ],
)
def test_path_escape_is_rejected_at_the_call(
    dl_engine: httpops.Engine, server: HTTPTestServer, file: str, why: str
) -> None:
    with pytest.raises(httpops.InvalidArgument, match=why):
        dl_engine.download(server.url("/file/x"), file)
    assert dl_engine.operations == {}
    assert server.requests == []


def test_symlink_out_of_the_downloads_dir_is_rejected_at_the_call(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    downloads_dir.mkdir()
    (downloads_dir / "link").symlink_to(outside, target_is_directory=True)
    (downloads_dir / "file-link").symlink_to(outside / "victim.bin")
    for file in ("link/x.bin", "file-link"):
        with pytest.raises(httpops.InvalidArgument, match="a symlink leads to"):
            dl_engine.download(server.url("/file/x"), file)
    assert server.requests == []
    assert list(outside.iterdir()) == []


def test_a_file_system_error_fails_the_operation_clearly(
    dl_engine: httpops.Engine, server: HTTPTestServer, tmp_path: Path
) -> None:
    (tmp_path / "plain-file").write_bytes(b"not a directory")
    op = dl_engine.download(server.url("/file/fs?size=10"), tmp_path / "plain-file" / "a.bin")
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.OperationError)
    assert "cannot write" in str(op.error)
    assert server.requests == []  # it failed before any request


@pytest.mark.slow
def test_downloads_use_the_download_deadline_not_the_request_deadline(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
) -> None:
    url = server.url("/drip?bytes=10&interval=0.04")  # about 0.4 s
    relaxed = make_engine(dl_config(deadline=0.1))  # requests: 0.1 s; downloads: none
    assert relaxed.download(url, "slow.bin").result(timeout=10).endswith("slow.bin")
    strict = make_engine(dl_config(download_deadline=0.1))
    op = strict.download(url, "slow2.bin")
    assert strict.wait(op, timeout=10)
    assert isinstance(op.error, httpops.DeadlineExceeded)
    per_call = strict.download(url, "slow3.bin", deadline=None)
    assert per_call.result(timeout=10).endswith("slow3.bin")


@pytest.mark.parametrize("kind", ["download", "image"])
def test_retries_count_dropped_connections_and_statuses_alike(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
    kind: str,
) -> None:
    # Two dropped connections use up both retries: the third try's 503 is the answer.
    engine = make_engine(dl_config(retry=httpops.Retry(attempts=2, backoff=0.0, jitter=0.0)))
    url = server.url(f"/drop-then/{kind}/2/503")
    op = engine.download(url, "r.bin") if kind == "download" else engine.download_image(url)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 503
    assert str(op.error).startswith(f"Invalid http status code (503): GET {url}")
    assert sum(1 for r in server.requests if r.route.startswith("/drop-then/")) == 3


def test_cancel_after_the_last_chunk_never_installs_the_file(
    dl_engine: httpops.Engine,
    server: HTTPTestServer,
    downloads_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cancel lands after the body is complete and verified, just before the rename.
    from httpops import _download

    verified = _download.DownloadJob._verified
    ops: list[httpops.Operation] = []

    def cancel_then_verify(job: _download.DownloadJob, received: int) -> object:
        assert ops[0].cancel()
        return verified(job, received)

    monkeypatch.setattr(_download.DownloadJob, "_verified", cancel_then_verify)
    downloads_dir.mkdir()
    (downloads_dir / "keep.bin").write_bytes(b"old")
    ops.append(dl_engine.download(server.url("/file/late?size=5000"), "keep.bin"))
    assert dl_engine.wait(ops[0], timeout=10)
    assert ops[0].state is State.CANCELED
    assert (downloads_dir / "keep.bin").read_bytes() == b"old"
