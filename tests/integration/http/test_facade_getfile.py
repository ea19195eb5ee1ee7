"""HTTP.getFile reads back only what a download could have left: never a FIFO, link or flood.

getFile runs on the polling thread, so whatever was planted at a download's
name later must not block the host or fill its memory. Each case calls it on
a helper thread, so a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpops
from tests.servers import content_for
from tests.servers.otcv8_routes import OTCv8Server

EngineFactory = Callable[..., httpops.Engine]
LIMIT = 4096  # Config.max_body_bytes in these tests


@pytest.fixture(scope="module")
def otc_server() -> Iterator[OTCv8Server]:
    with OTCv8Server() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


@pytest.fixture
def http(
    make_engine: EngineFactory, downloads: Path, otc_server: OTCv8Server
) -> httpops.HTTPFacade:
    engine = make_engine(
        httpops.Config(downloads_dir=str(downloads), max_body_bytes=LIMIT, connect_timeout=5)
    )
    facade = httpops.HTTPFacade(engine)
    done: list[object] = []
    facade.download(otc_server.url("/file/upd?size=3000"), "/init.lua", lambda *a: done.append(a))
    assert engine.run_until_idle(timeout=10)
    assert len(done) == 1 and done[0][2] is None  # type: ignore[index]
    assert facade.getFile("/init.lua") == content_for(3000)
    return facade


def get_file(http: httpops.HTTPFacade, path: str, unblock: Callable[[], None]) -> bytes | None:
    """``http.getFile(path)`` on a helper thread; fails if it does not return within 5 s."""
    result: list[bytes | None] = []
    thread = threading.Thread(target=lambda: result.append(http.getFile(path)), daemon=True)
    thread.start()
    thread.join(5)
    blocked = thread.is_alive()
    if blocked:
        unblock()
        thread.join(5)
    assert not blocked, "getFile blocked the polling thread"
    return result[0]


def test_a_fifo_planted_at_the_name_does_not_block(
    http: httpops.HTTPFacade, downloads: Path
) -> None:
    target = downloads / "init.lua"
    target.unlink()
    os.mkfifo(target)

    def unblock() -> None:  # a writer that closes at once: the blocked read sees EOF
        os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))

    assert get_file(http, "/init.lua", unblock) is None


def test_a_symlink_planted_at_the_name_is_not_followed(
    http: httpops.HTTPFacade, downloads: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not for the script")
    target = downloads / "init.lua"
    target.unlink()
    target.symlink_to(secret)
    assert get_file(http, "/init.lua", lambda: None) is None
    # A link to an endless device is refused the same way, before any read.
    target.unlink()
    target.symlink_to("/dev/zero")
    assert get_file(http, "/init.lua", lambda: None) is None


def test_a_file_over_max_body_bytes_is_not_read(http: httpops.HTTPFacade, downloads: Path) -> None:
    target = downloads / "init.lua"
    target.write_bytes(b"x" * LIMIT)
    assert get_file(http, "/init.lua", lambda: None) == b"x" * LIMIT  # at the limit: read
    with open(target, "ab") as f:
        f.truncate(LIMIT + 1)  # one byte over (sparse, nothing to write)
    assert get_file(http, "/init.lua", lambda: None) is None


def test_a_directory_at_the_name_gives_none(http: httpops.HTTPFacade, downloads: Path) -> None:
    target = downloads / "init.lua"
    target.unlink()
    target.mkdir()
    assert get_file(http, "/init.lua", lambda: None) is None
