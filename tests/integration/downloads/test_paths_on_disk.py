"""Where files land for real: a pathlib downloads_dir, and images in the user cache dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpops
from tests.servers import HTTPTestServer
from tests.servers.content import content_for


def test_a_pathlib_downloads_dir_receives_the_download(
    make_engine: Callable[..., httpops.Engine], server: HTTPTestServer, tmp_path: Path
) -> None:
    engine = make_engine(httpops.Config(downloads_dir=tmp_path / "dl"))
    path = engine.download(server.url("/file/a?size=5000"), "a.bin").result(timeout=10)
    assert path == str(tmp_path / "dl" / "a.bin")
    assert Path(path).read_bytes() == content_for(5000)


def test_images_go_to_the_user_cache_dir_by_default(
    make_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    tmp_path: Path,
    private_home: Path,
) -> None:
    engine = make_engine(httpops.Config(downloads_dir=tmp_path / "dl"))
    path = engine.download_image(server.url("/image/png")).result(timeout=10)
    assert Path(path).parent == Path(httpops.Config().image_cache_dir or "")
    assert Path(path).is_relative_to(private_home) and not (tmp_path / "image-cache").exists()
