"""Download and image arguments: bad headers are refused at the call, like get()'s."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops

URL = "http://127.0.0.1:9/x"


@pytest.fixture
def file_engine(make_engine: Callable[..., httpops.Engine], tmp_path: Path) -> httpops.Engine:
    """An engine whose downloads and image cache live in the test's directory."""
    config = httpops.Config(
        downloads_dir=str(tmp_path / "dl"), image_cache_dir=str(tmp_path / "img")
    )
    return make_engine(config)


@pytest.mark.parametrize("headers", [5, [("X-A", "b")], {"X-A": "b\r\nX-B: c"}, {"X A": "b"}])
@pytest.mark.parametrize("kind", ["download", "image"])
def test_bad_headers_are_refused_at_the_call(
    file_engine: httpops.Engine, kind: str, headers: object
) -> None:
    with pytest.raises(httpops.InvalidArgument, match="header"):
        if kind == "download":
            file_engine.download(URL, "f.bin", headers=headers)  # type: ignore[arg-type]
        else:
            file_engine.download_image(URL, headers=headers)  # type: ignore[arg-type]
    assert file_engine.operations == {}  # nothing was started
