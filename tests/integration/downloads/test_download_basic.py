"""Downloads that succeed: streamed to disk, CRC32, progress, paths, listeners."""

from __future__ import annotations

import zlib
from pathlib import Path

import httpops
from httpops import State
from tests.servers import HTTPTestServer, content_crc32, content_for, content_sha256


def test_download_writes_the_file_with_its_crc32(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    size = 700_000
    done: list[httpops.Operation] = []
    op = dl_engine.download(server.url(f"/file/a?size={size}"), "sub/dir/a.bin", done.append)
    assert op.result(timeout=10) == str(downloads_dir / "sub" / "dir" / "a.bin")
    assert done == [op]
    assert op.state is State.DONE
    assert op.path == str(downloads_dir / "sub" / "dir" / "a.bin")
    assert op.checksum == f"{content_crc32(size) & 0xFFFFFFFF:08x}"
    assert Path(op.path).read_bytes() == content_for(size)
    assert (op.received, op.total, op.progress) == (size, size, 100.0)
    # Nothing but the file is left beside it (the temporary file was renamed).
    assert sorted(p.name for p in (downloads_dir / "sub" / "dir").iterdir()) == ["a.bin"]


def test_absolute_paths_are_allowed(
    dl_engine: httpops.Engine, server: HTTPTestServer, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere" / "b.bin"
    op = dl_engine.download(server.url("/file/b?size=1000"), target)
    assert op.result(timeout=10) == str(target)
    assert target.read_bytes() == content_for(1000)


def test_progress_runs_from_0_to_100_and_ends_at_100(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    seen: list[tuple[float | None, int, int | None, float]] = []

    def on_progress(op: httpops.Operation) -> None:
        seen.append((op.progress, op.received, op.total, op.speed))

    op = dl_engine.download(
        server.url("/drip?bytes=12&interval=0.03"), "drip.bin", on_progress=on_progress
    )
    op.result(timeout=10)
    progresses = [p for p, *_ in seen]
    assert len(seen) >= 3, seen  # the host saw it grow, not only the end
    assert all(p is not None and 0 <= p <= 100 for p in progresses)
    assert progresses == sorted(progresses)
    assert progresses[-1] == 100.0
    assert all(total == 12 for _, _, total, _ in seen)
    assert any(speed > 0 for *_, speed in seen)


def test_without_content_length_progress_is_none_but_bytes_and_speed_flow(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    seen: list[tuple[float | None, int, int | None, float]] = []
    op = dl_engine.download(
        server.url("/drip?bytes=12&interval=0.03&chunked=1"),
        "nolength.bin",
        on_progress=lambda op: seen.append((op.progress, op.received, op.total, op.speed)),
    )
    op.result(timeout=10)
    *before, last = seen
    assert before, seen
    assert all(progress is None and total is None for progress, _, total, _ in before)
    received = [r for _, r, _, _ in before]
    assert received == sorted(received) and received[-1] > 0
    assert any(speed > 0 for *_, speed in before)
    assert last[0] == 100.0 and last[1] == 12  # the size is known once the body ended
    assert op.checksum == f"{zlib.crc32(content_for(12)):08x}"


def test_chunked_and_unframed_bodies_download(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    chunked = dl_engine.download(server.url("/bytes/300000?chunked=1"), "c.bin")
    unframed = dl_engine.download(server.url("/bytes/300000?nolength=1"), "n.bin")
    assert dl_engine.wait(chunked, unframed, timeout=10)
    for op in (chunked, unframed):
        assert op.error is None
        assert op.path is not None and Path(op.path).read_bytes() == content_for(300_000)


def test_sha256_that_matches_passes(dl_engine: httpops.Engine, server: HTTPTestServer) -> None:
    op = dl_engine.download(
        server.url("/file/s?size=200000"), "s.bin", sha256=content_sha256(200_000).upper()
    )
    assert op.result(timeout=10).endswith("s.bin")


def test_global_listeners_get_the_seed_signatures(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    events: list[tuple[object, ...]] = []
    dl_engine.connect(
        on_download=lambda *args: events.append(("done", *args)),
        on_download_progress=lambda *args: events.append(("progress", *args)),
    )
    op = dl_engine.download(server.url("/file/g?size=5000"), "g.bin")
    op.result(timeout=10)
    url = server.url("/file/g?size=5000")
    progress = [e for e in events if e[0] == "progress"]
    assert progress and progress[-1][:4] == ("progress", op.id, url, 100.0)
    assert events[-1] == ("done", op.id, url, None, op.path, op.checksum)


def test_an_existing_file_is_replaced_only_by_the_complete_new_one(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    downloads_dir.mkdir()
    (downloads_dir / "r.bin").write_bytes(b"old contents")
    op = dl_engine.download(server.url("/file/r?size=3000"), "r.bin")
    op.result(timeout=10)
    assert (downloads_dir / "r.bin").read_bytes() == content_for(3000)


def test_two_downloads_of_one_target_do_not_mix(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    first = dl_engine.download(server.url("/file/t1?size=400000"), "same.bin")
    second = dl_engine.download(server.url("/file/t2?size=300000"), "same.bin")
    assert dl_engine.wait(first, second, timeout=10)
    assert first.error is None and second.error is None
    data = (downloads_dir / "same.bin").read_bytes()
    assert data in (content_for(400_000), content_for(300_000))  # one whole file, never a mix
    assert sorted(p.name for p in downloads_dir.iterdir()) == ["same.bin"]


def test_facade_download_calls_back_with_path_checksum_and_no_error(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    http = httpops.HTTPFacade(dl_engine)
    calls: list[tuple[object, ...]] = []
    progress: list[tuple[float | None, float]] = []
    op_id = http.download(
        server.url("/file/f?size=9000"),
        "f.bin",
        lambda *args: calls.append(args),
        lambda p, s: progress.append((p, s)),
    )
    assert op_id in http.operations
    op = http.operations[op_id]
    assert dl_engine.wait(op, timeout=10)
    assert calls == [("f.bin", f"{content_crc32(9000) & 0xFFFFFFFF:08x}", None)]  # file as given
    assert progress and progress[-1][0] == 100.0
    assert op_id not in http.operations


def test_facade_download_reports_the_error_text(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    http = httpops.HTTPFacade(dl_engine)
    calls: list[tuple[object, ...]] = []
    url = server.url("/status/404")
    op_id = http.download(url, "missing.bin", lambda *a: calls.append(a))
    assert dl_engine.wait(http.operations[op_id], timeout=10)
    err = f"Invalid http status code (404): GET {url}: HTTP 404"
    assert calls == [("missing.bin", "00000000", err)]  # OTCv8: the file, the CRC of nothing
