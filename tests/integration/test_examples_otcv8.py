"""The ported OTCv8 modules in examples/otcv8 run against the embedded demo server."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import httpops
from examples.otcv8 import client, entergame, server, shop, updater
from httpops.demo import DemoServer
from httpops.demo.chat import available as websockets_available
from httpops.demo.otcv8 import MANIFEST_FILES, file_content
from tests.servers import make_tls

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("otcv8-tls")


@pytest.fixture(scope="module")
def demo(tls_dir: Path) -> Iterator[tuple[DemoServer, DemoServer, Path]]:
    """The demo server over http, its twin over https, and the CA file to trust."""
    tls = make_tls(tls_dir)
    with DemoServer() as plain, DemoServer(tls_context=tls.server_context()) as secure:
        plain.login_redirect = secure.base_url  # http -> https, another port
        yield plain, secure, tls.ca_bundle_path
        assert plain.errors == [] and secure.errors == []


@pytest.fixture
def http(
    make_engine: EngineFactory, tmp_path: Path, demo: tuple[DemoServer, DemoServer, Path]
) -> Iterator[httpops.HTTPFacade]:
    engine = make_engine(
        httpops.Config(
            downloads_dir=str(tmp_path / "downloads"),
            image_cache_dir=str(tmp_path / "images"),
            raise_callback_errors=True,  # a bug in a port fails the test, not just a log line
        )
    )
    facade = httpops.HTTPFacade(engine)
    facade.setVerify(str(demo[2]))  # the porter's one line for a private CA
    for module in (updater, entergame, shop, server):
        module.HTTP = facade  # type: ignore[attr-defined]
    server.g_http = facade.g_http
    client.reset()
    shop.reset()
    server.reset()
    yield facade
    # Module globals would keep sockets and operations alive after the engine is gone.
    server.reset()
    shop.reset()
    updater.updaterWindow = None
    for module in (updater, entergame, shop, server):
        module.HTTP = httpops.HTTP  # type: ignore[attr-defined]
    server.g_http = httpops.g_http


def test_updater_downloads_the_manifest_checks_crc32_and_retries(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    plain = demo[0]
    updater.Services["updater"] = plain.url("/otcv8/updater")
    updater.updaterWindow = None
    updater.Updater.updated = None
    updater.Updater.errors = []
    updater.Updater.check()
    assert client.run(
        http, lambda: updater.Updater.updated is not None or bool(updater.Updater.errors)
    )
    assert updater.Updater.errors == []
    assert sorted(updater.Updater.updated or []) == sorted(MANIFEST_FILES)
    root = Path(http.downloadsDir)
    for key in MANIFEST_FILES:
        data = (root / key.lstrip("/")).read_bytes()
        assert data == file_content(key)
        assert http.getFile(key) == data
    # flaky.lua was corrupt the first time: the CRC check failed and the updater retried.
    assert plain.hits("/otcv8/files/flaky.lua") == 2
    window = updater.updaterWindow
    assert window is not None
    assert all(isinstance(p, int) and 0 <= p <= 100 for p in window.downloadProgress.percents)
    assert window.mainProgress.percent == 100
    # Run again: every local checksum matches, nothing is downloaded.
    updater.updaterWindow = None
    updater.Updater.updated = None
    updater.Updater.check()
    assert client.run(http, lambda: updater.Updater.updated is not None)
    assert updater.Updater.updated == []
    crc = {k: f"{zlib.crc32(file_content(k)):08x}" for k in MANIFEST_FILES}
    assert updater.filesChecksums() == crc


def test_entergame_login_fails_over_and_follows_http_to_https(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    plain, secure = demo[0], demo[1]
    entergame.EnterGame.characterList = None
    entergame.EnterGame.errors = []
    entergame.G.account, entergame.G.password = "demo", "demo"
    entergame.G.host = plain.url("/otcv8/login")
    entergame.G.hosts = ["http://127.0.0.1:1/otcv8/login", plain.url("/otcv8/login")]
    before = secure.hits("/otcv8/login")
    entergame.EnterGame.doLoginHttp()
    assert client.run(
        http,
        lambda: entergame.EnterGame.characterList is not None or bool(entergame.EnterGame.errors),
    )
    assert entergame.EnterGame.errors == []
    characters, account = entergame.EnterGame.characterList or (None, None)
    assert characters[0]["name"] == "Demo Knight" and account["premDays"] == 30
    assert entergame.G.sessionKey == "demo-session"
    assert secure.hits("/otcv8/login") == before + 1  # the body was re-posted over https
    assert any("unreachable" in text for _, text in client.g_logger.lines)


def test_entergame_wrong_password_is_a_login_error(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    entergame.EnterGame.loginErrors = []
    entergame.G.account, entergame.G.password = "demo", "wrong"
    entergame.G.hosts = [demo[0].url("/otcv8/login")]
    entergame.EnterGame.doLoginHttp()
    assert client.run(http, lambda: bool(entergame.EnterGame.loginErrors))
    assert entergame.EnterGame.loginErrors == ["Invalid account name or password."]


def test_shop_fills_widgets_with_downloaded_images(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    shop.storeUrl = demo[0].url("/otcv8/shop")
    shop.createShop()
    shop.check()
    store = shop.shop
    assert store is not None

    def filled() -> bool:
        widgets = [c.imageWidget for c in store.categories] + [o.imageWidget for o in store.offers]
        return len(widgets) == 4 and all(w.image for w in widgets) and bool(store.ad.image)

    assert client.run(http, filled)
    assert [c.name.text for c in store.categories] == ["Potions", "Outfits"]
    assert [o.title.text for o in store.offers] == [
        "Health potion (5 points)",
        "Mana potion (6 points)",
    ]
    for path in [c.imageWidget.image for c in store.categories] + [store.ad.image]:
        assert os.path.isfile(path)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert store.points.text == "Points: 120"
    assert len(http.images) == 5


needs_websockets = pytest.mark.skipif(
    not websockets_available(), reason="the demo WebSocket server needs websockets"
)


@needs_websockets
def test_botserver_talks_and_reconnects_after_g_http_cancel(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    plain = demo[0]
    BotServer: Any = server.BotServer
    BotServer.url = plain.ws("/otcv8/bot")
    got: list[tuple[Any, ...]] = []
    BotServer.init("bot1", "channel")
    BotServer.listen("chat", lambda name, message, topic: got.append((name, message, topic)))
    assert client.run(http, lambda: BotServer.ping == 1)  # the server's ping was answered
    BotServer.send("chat", {"hp": 90})
    assert client.run(http, lambda: bool(got))
    assert got == [("bot1", {"hp": 90}, "chat")]
    # g_http.cancel on the live socket: onClose still runs, and BotServer reconnects.
    first = BotServer._websocket.id
    server.g_http.cancel(first)
    assert client.run(http, lambda: BotServer.connects == 2 and BotServer._websocket is not None)
    assert BotServer._websocket.id != first
    assert server.warnings == ["BotServer disconnected"]
    BotServer.terminate()
    http.engine.run_until_idle(timeout=10)


@needs_websockets
@pytest.mark.slow
def test_botserver_notices_a_silent_link_within_its_3s_timeout_and_reconnects(
    http: httpops.HTTPFacade, demo: tuple[DemoServer, DemoServer, Path]
) -> None:
    plain = demo[0]
    BotServer: Any = server.BotServer
    BotServer.url = plain.ws("/otcv8/silent")
    BotServer.init("bot1", "channel")
    # No message for 3 s: onError("timeout"), close, onClose, init() again.
    assert client.run(http, lambda: BotServer.connects >= 2, timeout=8)
    assert server.warnings == ["BotServer disconnected"]
    BotServer.terminate()
    http.engine.run_until_idle(timeout=10)
