"""Download path resolution and confinement, and argument checks at the call (no sockets)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops._download_paths import claim_part, release_part, resolve_target

URL = "http://127.0.0.1:9/file"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("a.bin", "a.bin"),
        ("sub/dir/a.bin", "sub/dir/a.bin"),
        ("sub/../a.bin", "a.bin"),
        ("./a.bin", "a.bin"),
        ("..a.bin", "..a.bin"),  # a name that merely starts with dots is fine
    ],
)
def test_relative_paths_resolve_under_the_downloads_dir(
    root: Path, file: str, expected: str
) -> None:
    target = resolve_target(file, str(root))
    assert target.path == str(root / expected)
    assert target.root == str(root)
    assert not root.exists()  # nothing is created at the call


@pytest.mark.parametrize("file", ["..", "../a.bin", "sub/../../a.bin", "a/b/../../../x", "sub/.."])
def test_escapes_are_rejected(root: Path, file: str) -> None:
    with pytest.raises(httpops.InvalidArgument):
        resolve_target(file, str(root))


def test_absolute_paths_are_the_callers_choice(root: Path, tmp_path: Path) -> None:
    target = resolve_target(str(tmp_path / "x" / ".." / "y.bin"), str(root))
    assert target.path == str(tmp_path / "y.bin")
    assert target.root is None


def test_pathlike_is_accepted(root: Path) -> None:
    assert resolve_target(Path("p.bin"), str(root)).path == str(root / "p.bin")


@pytest.mark.parametrize("file", ["", "a\0b", "dir/", 42, None, b"bytes.bin"])
def test_bad_values_are_rejected(root: Path, file: object) -> None:
    with pytest.raises(httpops.InvalidArgument):
        resolve_target(file, str(root))


def test_an_existing_directory_is_not_a_file(root: Path, tmp_path: Path) -> None:
    (root / "d").mkdir(parents=True)
    with pytest.raises(httpops.InvalidArgument, match="directory"):
        resolve_target("d", str(root))
    with pytest.raises(httpops.InvalidArgument, match="directory"):
        resolve_target(str(tmp_path), str(root))


def test_symlinks_inside_the_root_are_fine_and_outside_are_not(root: Path, tmp_path: Path) -> None:
    (root / "real").mkdir(parents=True)
    (root / "inner").symlink_to(root / "real", target_is_directory=True)
    assert resolve_target("inner/a.bin", str(root)).path == str(root / "inner" / "a.bin")
    (tmp_path / "out").mkdir()
    (root / "outer").symlink_to(tmp_path / "out", target_is_directory=True)
    with pytest.raises(httpops.InvalidArgument, match="symlink"):
        resolve_target("outer/a.bin", str(root))


def test_a_symlinked_downloads_dir_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    target = resolve_target("a.bin", str(tmp_path / "alias"))
    assert target.path == os.path.join(str(tmp_path / "real"), "a.bin")


def test_temporary_names_sit_beside_the_target(root: Path) -> None:
    target = resolve_target("sub/a.bin", str(root))
    part = target.part_path()
    assert part == str(root / "sub" / ".a.bin.httpops-part")
    assert target.meta_path(part) == str(root / "sub" / ".a.bin.httpops-part.json")
    long = resolve_target("n" * 250, str(root))
    assert len(os.path.basename(long.part_path())) < 100


def test_a_temporary_file_is_claimed_by_one_download_at_a_time() -> None:
    assert claim_part("/x/.a.httpops-part")
    assert not claim_part("/x/.a.httpops-part")
    release_part("/x/.a.httpops-part")
    assert claim_part("/x/.a.httpops-part")
    release_part("/x/.a.httpops-part")


def test_a_claim_can_wait_for_the_holder_to_let_go() -> None:
    part = "/x/.wait.httpops-part"
    assert claim_part(part)
    releaser = threading.Timer(0.05, release_part, args=(part,))
    releaser.start()
    try:
        assert claim_part(part, wait=5.0)  # woken by the release, long before 5 s
    finally:
        releaser.join()
        release_part(part)
    assert claim_part(part)
    with pytest.raises(httpops.Canceled):

        def stop() -> None:
            raise httpops.Canceled("GET", "http://127.0.0.1/x", "canceled by the caller")

        claim_part(part, wait=5.0, check=stop)
    release_part(part)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sha256": "abc"}, "sha256 must be 64 hexadecimal digits"),
        ({"sha256": "g" * 64}, "sha256"),
        ({"max_bytes": 0}, "max_bytes must be an integer >= 1"),
        ({"max_bytes": True}, "max_bytes"),
        ({"resume": "yes"}, "resume must be True or False"),
        ({"timeout": -1}, "timeout"),
        ({"headers": {"X": "a\r\nb"}}, "CR, LF"),
        ({"deadline": 0}, "deadline"),
    ],
)
def test_download_arguments_are_checked_at_the_call(
    make_engine: Callable[..., httpops.Engine],
    root: Path,
    kwargs: dict[str, object],
    match: str,
) -> None:
    engine = make_engine(httpops.Config(downloads_dir=str(root)))
    with pytest.raises(httpops.InvalidArgument, match=match):
        engine.download(URL, "a.bin", **kwargs)  # type: ignore[arg-type]
    assert engine.operations == {}


def test_bad_url_and_callback_are_rejected_at_the_call(
    make_engine: Callable[..., httpops.Engine], root: Path
) -> None:
    engine = make_engine(httpops.Config(downloads_dir=str(root)))
    with pytest.raises(httpops.InvalidURL):
        engine.download("ftp://127.0.0.1/x", "a.bin")
    with pytest.raises(httpops.InvalidCallback):
        engine.download(URL, "a.bin", callback=42)  # type: ignore[arg-type]
    with pytest.raises(httpops.InvalidURL):
        engine.download_image("not a url")
    with pytest.raises(httpops.InvalidCallback):
        engine.download_image(URL, 42)  # type: ignore[arg-type]
    facade = httpops.HTTPFacade(engine)
    with pytest.raises(httpops.InvalidArgument):
        facade.download(URL, "../x.bin")
    with pytest.raises(httpops.InvalidCallback):
        facade.download(URL, "x.bin", None, 7)  # type: ignore[arg-type]
    assert engine.operations == {} and facade.operations == {}
