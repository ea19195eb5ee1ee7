"""Resume with Range + If-Range, refused or botched ranges, and retried drops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpops
from tests.servers import HTTPTestServer, content_crc32, content_for, content_sha256

SIZE = 300_000
DROP = 100_000


def _crc(n: int) -> str:
    return f"{content_crc32(n) & 0xFFFFFFFF:08x}"


def _interrupted(engine: httpops.Engine, url: str, file: str) -> httpops.Operation:
    """A first download that the server drops after DROP bytes."""
    op = engine.download(url, file)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.ConnectionDropped), op.error
    return op


def test_resume_after_a_drop_continues_with_range_and_if_range(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    url = server.url(f"/file/r1?size={SIZE}&drop_after={DROP}")
    _interrupted(dl_engine, url, "r1.bin")
    part = downloads_dir / ".r1.bin.httpops-part"
    assert part.stat().st_size == DROP
    assert (downloads_dir / ".r1.bin.httpops-part.json").exists()
    assert not (downloads_dir / "r1.bin").exists()

    seen: list[float | None] = []
    op = dl_engine.download(
        url, "r1.bin", on_progress=lambda op: seen.append(op.progress), sha256=content_sha256(SIZE)
    )
    assert op.result(timeout=10) == str(downloads_dir / "r1.bin")
    resumed = server.requests[-1]
    assert resumed.header("Range") == f"bytes={DROP}-"
    assert resumed.header("If-Range") == f'"r1-{SIZE}"'
    assert (downloads_dir / "r1.bin").read_bytes() == content_for(SIZE)
    assert op.checksum == _crc(SIZE)  # CRC covers the kept bytes too
    assert seen[0] is not None and seen[0] >= DROP * 100 / SIZE  # progress starts where it was
    assert seen[-1] == 100.0
    assert sorted(p.name for p in downloads_dir.iterdir()) == ["r1.bin"]


def test_resume_refused_by_the_server_restarts_from_zero(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    url = server.url(f"/file/r2?size={SIZE}&drop_after={DROP}&norange=1")
    _interrupted(dl_engine, url, "r2.bin")
    op = dl_engine.download(url, "r2.bin")
    op.result(timeout=10)
    asked, answered = server.requests[-1], (downloads_dir / "r2.bin").read_bytes()
    assert asked.header("Range") == f"bytes={DROP}-"  # it asked, the server sent 200 instead
    assert len(server.requests) == 2
    assert answered == content_for(SIZE)
    assert op.checksum == _crc(SIZE)


def test_wrong_content_range_restarts_cleanly(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    url = server.url(f"/file/r3?size={SIZE}&drop_after={DROP}&bad_range=1")
    _interrupted(dl_engine, url, "r3.bin")
    op = dl_engine.download(url, "r3.bin")
    op.result(timeout=10)
    first, ranged, plain = server.requests
    assert first.header("Range") is None
    assert ranged.header("Range") == f"bytes={DROP}-"  # answered 206 from byte 0: refused
    assert plain.header("Range") is None  # so it started again from zero
    assert (downloads_dir / "r3.bin").read_bytes() == content_for(SIZE)
    assert op.checksum == _crc(SIZE)


def test_resume_false_starts_from_zero_and_keeps_nothing(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    url = server.url(f"/file/r4?size={SIZE}&drop_after={DROP}")
    _interrupted(dl_engine, url, "r4.bin")
    op = dl_engine.download(url, "r4.bin", resume=False)
    op.result(timeout=10)
    assert server.requests[-1].header("Range") is None
    assert (downloads_dir / "r4.bin").read_bytes() == content_for(SIZE)
    assert sorted(p.name for p in downloads_dir.iterdir()) == ["r4.bin"]


def test_a_different_url_does_not_resume_the_kept_bytes(
    dl_engine: httpops.Engine, server: HTTPTestServer, downloads_dir: Path
) -> None:
    _interrupted(dl_engine, server.url(f"/file/r5?size={SIZE}&drop_after={DROP}"), "r5.bin")
    other = server.url("/file/r5b?size=5000")
    op = dl_engine.download(other, "r5.bin")
    op.result(timeout=10)
    assert server.requests[-1].header("Range") is None
    assert (downloads_dir / "r5.bin").read_bytes() == content_for(5000)


def test_retry_policy_resumes_a_dropped_body_within_one_operation(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
    downloads_dir: Path,
) -> None:
    engine = make_engine(dl_config(retry=httpops.Retry(attempts=2, backoff=0.0)))
    url = server.url(f"/file/r6?size={SIZE}&drop_after={DROP}")
    op = engine.download(url, "r6.bin", sha256=content_sha256(SIZE))
    assert op.result(timeout=10) == str(downloads_dir / "r6.bin")
    assert [r.header("Range") for r in server.requests] == [None, f"bytes={DROP}-"]
    assert (downloads_dir / "r6.bin").read_bytes() == content_for(SIZE)
    assert op.checksum == _crc(SIZE)
    assert sorted(p.name for p in downloads_dir.iterdir()) == ["r6.bin"]


def test_retry_without_a_validator_restarts_the_body(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
    downloads_dir: Path,
) -> None:
    engine = make_engine(dl_config(retry=httpops.Retry(attempts=1, backoff=0.0)))
    op = engine.download(server.url("/truncate?length=5000&send=100"), "v.bin")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.ConnectionDropped)
    assert [r.header("Range") for r in server.requests] == [None, None]  # retried from zero
    assert list(downloads_dir.iterdir()) == []
