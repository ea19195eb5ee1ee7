"""downloadImage: signature check, shared in-flight fetches, cache hits, persisted cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import httpops
from httpops import State
from tests.servers import HTTPTestServer


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize(("kind", "ext"), [("png", ".png"), ("jpeg", ".jpg"), ("gif", ".gif")])
def test_image_lands_in_the_cache_with_its_type(
    dl_engine: httpops.Engine, server: HTTPTestServer, cache_dir: Path, kind: str, ext: str
) -> None:
    op = dl_engine.download_image(server.url(f"/image/{kind}"))
    path = op.result(timeout=10)
    assert path == op.path and path.startswith(str(cache_dir)) and path.endswith(ext)
    assert op.checksum is not None and len(op.checksum) == 8
    assert len(_files(cache_dir)) == 2  # the image and its metadata, nothing temporary


def test_html_served_as_an_image_fails_and_leaves_nothing(
    dl_engine: httpops.Engine, server: HTTPTestServer, cache_dir: Path
) -> None:
    url = server.url("/image/html")
    op = dl_engine.download_image(url)
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.InvalidImage)
    assert str(op.error).startswith(f"verification error: GET {url}: not a PNG, JPEG")
    assert "HTML" in str(op.error)
    assert op.path is None
    assert _files(cache_dir) == []


def test_http_error_for_an_image_leaves_nothing(
    dl_engine: httpops.Engine, server: HTTPTestServer, cache_dir: Path
) -> None:
    op = dl_engine.download_image(server.url("/image/nope"))
    assert dl_engine.wait(op, timeout=10)
    assert isinstance(op.error, httpops.HTTPStatusError) and op.error.status == 404
    assert _files(cache_dir) == []


def test_concurrent_requests_for_one_url_share_one_download(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    url = server.url("/image/png")
    calls: list[httpops.Operation] = []
    ops = [dl_engine.download_image(url, calls.append) for _ in range(5)]
    assert len({op.id for op in ops}) == 5
    assert dl_engine.wait(*ops, timeout=10)
    assert server.hits("/image/png") == 1
    assert sorted(op.id for op in calls) == sorted(op.id for op in ops)  # each exactly once
    assert {op.path for op in ops} == {ops[0].path} and ops[0].path is not None
    assert all(op.state is State.DONE for op in ops)


def test_canceling_one_caller_leaves_the_others_their_image(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    url = server.url("/image/gif")
    calls: list[tuple[int, State]] = []
    first = dl_engine.download_image(url, lambda op: calls.append((op.id, op.state)))
    second = dl_engine.download_image(url, lambda op: calls.append((op.id, op.state)))
    assert first.cancel()
    assert dl_engine.wait(first, second, timeout=10)
    assert first.state is State.CANCELED and second.state is State.DONE
    assert sorted(calls) == sorted([(first.id, State.CANCELED), (second.id, State.DONE)])


def test_cached_url_completes_on_the_next_poll_without_a_request(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    url = server.url("/image/jpeg")
    first = dl_engine.download_image(url)
    first.result(timeout=10)
    server.clear()
    calls: list[httpops.Operation] = []
    op = dl_engine.download_image(url, calls.append)
    assert calls == [] and not op.done()  # never inside the call
    assert dl_engine.poll() == 1
    assert calls == [op]
    assert op.path == first.path and op.checksum == first.checksum
    assert server.requests == []


def test_cache_persists_across_engines_and_revalidates_with_304(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
) -> None:
    url = server.url("/image/png")
    engine1 = make_engine(dl_config())
    first = engine1.download_image(url)
    path = first.result(timeout=10)
    inode = Path(path).stat().st_ino
    engine1.close()

    engine2 = make_engine(dl_config())
    again = engine2.download_image(url)
    assert again.result(timeout=10) == path
    revalidation = server.requests[-1]
    assert revalidation.header("If-None-Match") == f'"img-png-{first.checksum}"'
    assert Path(path).stat().st_ino == inode  # the 304 reused the file as it was
    assert again.checksum == first.checksum
    assert server.hits("/image/png") == 2


def test_cache_revalidates_with_if_modified_since_when_there_is_no_etag(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
) -> None:
    url = server.url("/image/gif?lastmod=1")
    engine1 = make_engine(dl_config())
    path = engine1.download_image(url).result(timeout=10)
    inode = Path(path).stat().st_ino
    engine1.close()

    engine2 = make_engine(dl_config())
    assert engine2.download_image(url).result(timeout=10) == path
    revalidation = server.requests[-1]
    assert revalidation.header("If-None-Match") is None
    assert revalidation.header("If-Modified-Since") == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert Path(path).stat().st_ino == inode  # the 304 reused the file


def test_a_damaged_cache_file_is_fetched_again(
    make_engine: Callable[..., httpops.Engine],
    dl_config: Callable[..., httpops.Config],
    server: HTTPTestServer,
) -> None:
    url = server.url("/image/gif")
    engine1 = make_engine(dl_config())
    path = engine1.download_image(url).result(timeout=10)
    engine1.close()
    data = Path(path).read_bytes()
    Path(path).write_bytes(b"X" * len(data))  # same size, wrong bytes

    engine2 = make_engine(dl_config())
    assert engine2.download_image(url).result(timeout=10) == path
    assert Path(path).read_bytes() == data
    assert [r.header("If-None-Match") is not None for r in server.requests] == [
        False,
        True,
        False,
    ]


def test_facade_download_image_fills_images_and_calls_back(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    http = httpops.HTTPFacade(dl_engine)
    calls: list[tuple[object, ...]] = []
    good, bad = server.url("/image/png"), server.url("/image/html")
    ids = [http.downloadImage(url, lambda *a: calls.append(a)) for url in (good, bad)]
    ops = [http.operations[i] for i in ids]
    assert dl_engine.wait(*ops, timeout=10)
    assert http.images == {good: ops[0].path}
    assert (ops[0].path, None) in calls
    assert any(p is None and str(e).startswith("verification error") for p, e in calls)
    assert http.operations == {}


def test_facade_cancel_of_an_image_runs_no_callback(
    dl_engine: httpops.Engine, server: HTTPTestServer
) -> None:
    http = httpops.HTTPFacade(dl_engine)
    calls: list[tuple[object, ...]] = []
    op_id = http.downloadImage(server.url("/image/png"), lambda *a: calls.append(a))
    op = http.operations[op_id]
    assert http.cancel(op_id)
    assert dl_engine.run_until_idle(timeout=10)
    assert op.done() and calls == [] and http.images == {}
