"""SafeDir: files opened so that a planted or swapped link never redirects a write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from httpops._safe_files import MAX_SMALL_FILE, SafeDir, UnsafeFile


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "victim").write_bytes(b"victim")
    return path


def test_open_walks_down_creating_directories_and_allows_links_that_stay_inside(
    root: Path,
) -> None:
    with SafeDir.open(str(root / "a" / "b"), str(root)) as folder:
        os.close(folder.create("f"))
    assert (root / "a" / "b" / "f").is_file()
    (root / "alias").symlink_to(root / "a", target_is_directory=True)
    with SafeDir.open(str(root / "alias" / "b"), str(root)) as folder:
        assert folder.regular_size("f") == 0


def test_open_refuses_a_directory_that_leads_outside(root: Path, outside: Path) -> None:
    (root / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeFile, match="leads outside"):
        SafeDir.open(str(root / "out"), str(root))


def test_a_component_swapped_for_a_link_during_the_walk_is_refused(
    root: Path, outside: Path
) -> None:
    (root / "a").mkdir()
    fd = os.open(str(root), os.O_RDONLY)
    (root / "a").rmdir()
    (root / "a").symlink_to(outside, target_is_directory=True)  # after realpath was taken
    with pytest.raises(UnsafeFile, match="symlink or not a directory"):
        SafeDir._step(fd, "a", str(root / "a"))


def test_create_removes_a_planted_link_instead_of_following_it(root: Path, outside: Path) -> None:
    (root / "sym").symlink_to(outside / "victim")
    (root / "hard").hardlink_to(outside / "victim")
    with SafeDir.open(str(root), str(root)) as folder:
        for name in ("sym", "hard"):
            with os.fdopen(folder.create(name), "wb") as f:
                f.write(b"new")
    assert (outside / "victim").read_bytes() == b"victim"
    assert not (root / "sym").is_symlink() and (root / "sym").read_bytes() == b"new"


def test_open_existing_refuses_links(root: Path, outside: Path) -> None:
    (root / "sym").symlink_to(outside / "victim")
    (root / "hard").hardlink_to(outside / "victim")
    with SafeDir.open(str(root), str(root)) as folder:
        with pytest.raises(UnsafeFile, match="symlink"):
            folder.open_existing("sym", writable=True)
        with pytest.raises(UnsafeFile, match="single link"):
            folder.open_existing("hard", writable=True)
        assert folder.regular_size("sym") is None and folder.regular_size("hard") is None
        assert folder.read_small("sym") is None
        with pytest.raises(UnsafeFile, match="plain file name"):
            folder.open_existing("../outside/victim", writable=False)


def test_install_renames_only_the_file_that_was_written(root: Path, outside: Path) -> None:
    with SafeDir.open(str(root), str(root)) as folder:
        fd = folder.create("tmp")
        ident = folder.identify(fd)
        os.close(fd)
        (root / "tmp").unlink()
        (root / "tmp").symlink_to(outside / "victim")
        with pytest.raises(UnsafeFile, match="was replaced"):
            folder.install("tmp", "target", ident)
        assert not (root / "target").exists()
        fd = folder.create("tmp")
        ident = folder.identify(fd)
        os.close(fd)
        folder.install("tmp", "target", ident)
    assert (root / "target").is_file() and not (root / "target").is_symlink()


def test_write_atomic_and_read_small(root: Path, outside: Path) -> None:
    (root / "meta").symlink_to(outside / "victim")
    with SafeDir.open(str(root), str(root)) as folder:
        folder.write_atomic("meta", b"{}")
        assert folder.read_small("meta") == b"{}"
        (root / "big").write_bytes(b"x" * (MAX_SMALL_FILE + 1))
        assert folder.read_small("big") is None
    assert (outside / "victim").read_bytes() == b"victim"
    assert sorted(p.name for p in root.iterdir()) == ["big", "meta"]
