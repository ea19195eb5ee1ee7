"""ImageService bookkeeping: progress mirroring and the bounded memory of fetched URLs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

import httpops
from httpops import State, _images
from httpops._image_cache import cache_key
from httpops._images import ImageService, _Flight


@pytest.fixture
def service(make_engine: Callable[..., httpops.Engine], tmp_path: Path) -> ImageService:
    """An image service of a fresh engine, caching under the test's directory."""
    config = httpops.Config(
        downloads_dir=str(tmp_path / "dl"), image_cache_dir=str(tmp_path / "img")
    )
    return ImageService(make_engine(config))


def test_progress_is_not_mirrored_onto_completed_operations(service: ImageService) -> None:
    engine = service._engine()
    url = "http://127.0.0.1:9/i.png"
    finished, waiting = (engine._register("image", "GET", url) for _ in range(2))
    flight = _Flight(url)
    flight.ops.extend([finished, waiting])
    assert engine.cancel(finished)
    engine.poll()
    assert finished.state is State.CANCELED and finished.received == 0
    fetch = SimpleNamespace(received=500, total=1000, speed=10.0, progress=50.0)
    service._mirror(flight, fetch)  # type: ignore[arg-type]
    assert (waiting.received, waiting.total, waiting.progress) == (500, 1000, 50.0)
    assert (finished.received, finished.total) == (0, None)
    waiting.cancel()
    engine.poll()


def test_known_urls_are_bounded_least_recently_used_first(
    service: ImageService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_images, "KNOWN_URLS", 3)
    engine = service._engine()
    urls = [f"http://127.0.0.1:9/u{n}" for n in range(4)]
    image = tmp_path / "image.png"
    image.write_bytes(b"png")
    with service._lock:
        for url in urls[:3]:
            service._remember(cache_key(url), str(image), "0" * 8)
    hit = service.request(engine._build_request("GET", urls[0]), None)  # no request is made
    assert hit.result(timeout=5) == str(image)
    with service._lock:
        service._remember(cache_key(urls[3]), str(image), "0" * 8)
        assert list(service._known) == [
            cache_key(urls[i]) for i in (2, 0, 3)
        ]  # u1 was least recent
