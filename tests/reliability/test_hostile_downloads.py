"""Downloads against servers that lie about their bodies: nothing wrong is ever installed.

Each case runs a real server from :mod:`tests.servers.hostile_files` on
127.0.0.1. The promises checked: a body that runs past what its headers
declared fails like a short one does (clear error naming the URL and the
counts, nothing at the target), and an encoding the download did not ask for
is stored as sent, so a small response can never become a huge file.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from tests.conftest import wait_for
from tests.servers.hostile_files import BOMB_DECODED, HostileFileServer, png_for

Engines = Callable[..., httpops.Engine]


@pytest.fixture
def hostile() -> Iterator[HostileFileServer]:
    with HostileFileServer() as server:
        yield server


@pytest.fixture
def engine(make_engine: Engines, fast_config: Callable[..., httpops.Config]) -> httpops.Engine:
    return make_engine(fast_config())


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_resumed_206_that_runs_past_its_content_range_fails_and_installs_nothing(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path
) -> None:
    url = hostile.url("/overrun")
    downloads = tmp_path / "downloads"
    first = engine.download(url, "o.bin")
    assert engine.wait(first, timeout=10)
    assert isinstance(first.error, httpops.ConnectionDropped)  # short: the part is kept
    assert any(name.endswith(".httpops-part") for name in _files(downloads))

    second = engine.download(url, "o.bin")
    assert engine.wait(second, timeout=10)
    size = len(hostile.body)
    assert hostile.headers_of("/overrun")[-1]["range"] == f"bytes={size // 2}-"
    assert isinstance(second.error, httpops.VerificationError), second.error
    text = str(second.error)
    assert url in text and "ran past its declared end" in text and f"declared {size}" in text
    assert _files(downloads) == []  # no target, no kept temporary file or metadata


# --- symlinks and hard links at the temporary files' names (issue 9 item 4) ------------------

VICTIM = b"precious bytes outside the downloads directory\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside downloads_dir and the image cache that nothing may touch."""
    path = tmp_path / "outside" / "victim.txt"
    path.parent.mkdir()
    path.write_bytes(VICTIM)
    return path


def _assert_untouched(victim: Path) -> None:
    assert victim.read_bytes() == VICTIM
    assert not victim.is_symlink()


def _assert_installed(path: Path, body: bytes) -> None:
    assert not path.is_symlink() and path.is_file()
    assert path.read_bytes() == body


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_planted_at_the_part_name_is_never_written_through(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path, victim: Path, link: str
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    part = downloads / ".p.bin.httpops-part"
    if link == "symlink":
        part.symlink_to(victim)
    else:
        part.hardlink_to(victim)
    hostile.release()  # no pause: the whole body at once
    op = engine.download(hostile.url("/paused/p.bin"), "p.bin")
    assert engine.wait(op, timeout=10)
    assert op.error is None, op.error
    _assert_untouched(victim)
    _assert_installed(downloads / "p.bin", hostile.body)
    assert _files(downloads) == ["p.bin"]


def test_links_planted_at_the_resume_metadata_names_are_never_written_through(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path, victim: Path
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name in (".m.bin.httpops-part.json", ".m.bin.httpops-part.json.tmp"):
        (downloads / name).symlink_to(victim)
    url = hostile.url("/overrun")  # sends an ETag, so metadata is written; then drops
    op = engine.download(url, "m.bin")
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.ConnectionDropped), op.error
    _assert_untouched(victim)
    meta = downloads / ".m.bin.httpops-part.json"
    assert not meta.is_symlink() and url in meta.read_text()  # the link itself was replaced


def test_a_symlink_swapped_in_for_the_part_file_mid_download_is_not_installed(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path, victim: Path
) -> None:
    downloads = tmp_path / "downloads"
    url = hostile.url("/paused/s.bin")
    op = engine.download(url, "s.bin")
    assert hostile.wait_paused()
    part = downloads / ".s.bin.httpops-part"
    assert wait_for(lambda: part.exists() and part.stat().st_size > 0)
    swap = downloads / "swap"
    swap.symlink_to(victim)
    swap.replace(part)  # the part name is now a symlink out of downloads_dir
    hostile.release()
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.OperationError), op.error
    assert url in str(op.error) and "was replaced" in str(op.error)
    _assert_untouched(victim)
    assert not (downloads / "s.bin").exists() and not (downloads / "s.bin").is_symlink()


def test_a_directory_swapped_for_a_symlink_mid_download_redirects_nothing(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path, victim: Path
) -> None:
    downloads = tmp_path / "downloads"
    op = engine.download(hostile.url("/paused/d.bin"), "sub/d.bin")
    assert hostile.wait_paused()
    assert wait_for(lambda: (downloads / "sub" / ".d.bin.httpops-part").exists())
    (downloads / "sub").rename(downloads / "moved")
    (downloads / "sub").symlink_to(victim.parent, target_is_directory=True)
    hostile.release()
    assert engine.wait(op, timeout=10)
    assert op.error is not None  # the target's directory now leads outside: refused
    _assert_untouched(victim)
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.txt"]


def test_a_symlink_swapped_in_for_an_image_temp_file_is_not_cached(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path, victim: Path
) -> None:
    cache = tmp_path / "images"
    url = hostile.url("/paused/i.png")
    op = engine.download_image(url)
    assert hostile.wait_paused()

    def temp_file() -> list[Path]:
        return [p for p in cache.iterdir() if p.name.endswith(".httpops-tmp")]

    assert wait_for(lambda: cache.exists() and len(temp_file()) == 1)
    swap = cache / "swap"
    swap.symlink_to(victim)
    swap.replace(temp_file()[0])
    hostile.release()
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.OperationError), op.error
    # Seen at the rename ("was replaced"), or -- on a busy machine, when the swap
    # lands between the temp file's open and its fstat -- as a file that lost its link.
    message = str(op.error)
    assert url in message
    assert "was replaced" in message or "is not a regular file with a single link" in message
    _assert_untouched(victim)
    assert not any(p.is_symlink() for p in cache.iterdir() if p.name != "swap")
    assert not any(p.suffix == ".png" for p in cache.iterdir())


def test_an_image_cache_file_that_became_a_symlink_is_not_served(
    make_engine: Engines,
    fast_config: Callable[..., httpops.Config],
    hostile: HostileFileServer,
    tmp_path: Path,
    victim: Path,
) -> None:
    url = hostile.url("/private.png")
    first = make_engine(fast_config())
    op = first.download_image(url)
    assert first.wait(op, timeout=10) and op.error is None, op.error
    first.close()
    cached = Path(op.path)
    victim.write_bytes(cached.read_bytes())  # same bytes and size: only the link differs
    cached.unlink()
    cached.symlink_to(victim)
    second = make_engine(fast_config())
    again = second.download_image(url)
    assert second.wait(again, timeout=10) and again.error is None, again.error
    assert hostile.count("/private.png") == 2
    assert not hostile.headers_of("/private.png")[-1].get("if-none-match")  # not revalidated
    _assert_installed(Path(again.path), victim.read_bytes())


# --- the image cache and credentials (issue 9 item 15) ---------------------------------------

ALICE = {"Authorization": "Bearer alice"}
BOB = {"Authorization": "Bearer bob"}


def _image_of(op: httpops.Operation) -> bytes:
    assert op.error is None, op.error
    return Path(op.path).read_bytes()


def test_an_image_fetched_with_credentials_is_never_served_to_another_caller(
    engine: httpops.Engine, hostile: HostileFileServer
) -> None:
    url = hostile.url("/private.png")
    alice = engine.download_image(url, headers=ALICE)
    assert engine.wait(alice, timeout=10)
    assert _image_of(alice) == png_for("Bearer alice")
    bob = engine.download_image(url, headers=BOB)
    anonymous = engine.download_image(url)
    cookie = engine.download_image(url, headers={"Cookie": "session=carol"})
    assert engine.wait(bob, anonymous, cookie, timeout=10)
    assert _image_of(bob) == png_for("Bearer bob")
    assert _image_of(anonymous) == png_for("anonymous")
    assert _image_of(cookie) == png_for("session=carol")
    assert hostile.count("/private.png") == 4
    seen = [
        h.get("authorization") or h.get("cookie") or "" for h in hostile.headers_of("/private.png")
    ]
    assert sorted(seen) == ["", "Bearer alice", "Bearer bob", "session=carol"]
    again = engine.download_image(url, headers=ALICE)  # the same credentials: served from cache
    assert engine.wait(again, timeout=10)
    assert _image_of(again) == png_for("Bearer alice") and hostile.count("/private.png") == 4


def test_a_fetch_with_credentials_in_flight_is_not_joined_by_another_caller(
    engine: httpops.Engine, hostile: HostileFileServer
) -> None:
    url = hostile.url("/private.png")
    # Started in one go: an anonymous caller would join a fetch keyed by URL alone.
    alice = engine.download_image(url, headers=ALICE)
    anonymous = engine.download_image(url)
    alice_too = engine.download_image(url, headers=dict(ALICE))
    assert engine.wait(alice, anonymous, alice_too, timeout=10)
    assert _image_of(alice) == _image_of(alice_too) == png_for("Bearer alice")
    assert _image_of(anonymous) == png_for("anonymous")
    assert hostile.count("/private.png") == 2  # alice's second call shared her fetch


def test_the_persistent_cache_never_serves_an_image_fetched_with_credentials(
    make_engine: Engines, fast_config: Callable[..., httpops.Config], hostile: HostileFileServer
) -> None:
    url = hostile.url("/private.png")
    first = make_engine(fast_config())
    alice = first.download_image(url, headers=ALICE)
    assert first.wait(alice, timeout=10)
    assert _image_of(alice) == png_for("Bearer alice")
    first.close()
    second = make_engine(fast_config())
    anonymous = second.download_image(url)
    assert second.wait(anonymous, timeout=10)
    assert _image_of(anonymous) == png_for("anonymous")
    last = hostile.headers_of("/private.png")[-1]
    assert "authorization" not in last
    assert "if-none-match" not in last  # alice's entry was not even revalidated for them


# --- an encoding that was not asked for (issue 9 item 6) -------------------------------------


def test_a_gzip_bomb_is_stored_as_sent_never_inflated(
    engine: httpops.Engine,
    hostile: HostileFileServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = hostile.url("/gzip-bomb")
    with caplog.at_level(logging.WARNING, logger="httpops"):
        op = engine.download(url, "bomb.bin")
        assert engine.wait(op, timeout=10)
    assert op.error is None, op.error
    target = tmp_path / "downloads" / "bomb.bin"
    assert target.stat().st_size == len(hostile.bomb) < BOMB_DECODED // 100
    assert target.read_bytes() == hostile.bomb  # the wire bytes, checksum and length theirs
    assert op.checksum == f"{zlib.crc32(hostile.bomb):08x}"
    assert hostile.headers_of("/gzip-bomb")[0]["accept-encoding"] == "identity"
    warnings = [r.getMessage() for r in caplog.records if "Content-Encoding" in r.getMessage()]
    assert len(warnings) == 1 and url in warnings[0] and "as sent" in warnings[0]


def test_a_gzip_bomb_image_is_refused_without_inflating_it(
    engine: httpops.Engine, hostile: HostileFileServer, tmp_path: Path
) -> None:
    url = hostile.url("/gzip-bomb")
    op = engine.download_image(url)
    assert engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.InvalidImage), op.error
    assert url in str(op.error) and "\\x1f\\x8b" in str(op.error)  # gzip's magic, not zeros
    assert _files(tmp_path / "images") == []  # nothing cached, no temporary file left


def test_downloads_have_a_finite_size_limit_by_default_that_can_be_raised() -> None:
    assert httpops.Config().max_download_bytes == 8 * 1024**3
    assert httpops.Config(max_download_bytes=64 * 1024**3).max_download_bytes == 64 * 1024**3
    assert httpops.Config(max_download_bytes=None).max_download_bytes is None
