"""The demo server's OTClient v8 endpoints: what the ported modules in ``examples/otcv8``
talk to.

=====================================  =================================================
``GET|POST /otcv8/updater``            the updater's manifest: ``{"url", "files":
                                       {"/init.lua": crc32, ...}}`` (file keys start
                                       with ``/`` as ``updater_advanced.php`` gives them)
``GET /otcv8/files/<path>``            a manifest file; ``flaky.lua`` is corrupt on
                                       its first request (the updater's CRC retry)
``POST /otcv8/login``                  entergame's JSON login (``demo``/``demo``); with
                                       :attr:`DemoServer.login_redirect` set, a
                                       plain-HTTP request is moved there with a 301
``GET /otcv8/shop``                    shop categories, offers and an ad, with image URLs
=====================================  =================================================

The WebSocket side (BotServer's ``/otcv8/bot`` and a ``/otcv8/silent`` socket
that never says anything) is in :mod:`httpops.demo.chat`.

Everything here runs on the demo server's connection threads.
"""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import _Handler

__all__ = ["MANIFEST_FILES", "file_content", "handle", "manifest", "otcv8_routes"]

#: The files the updater manifest lists (keys as OTCv8's updater API gives them).
MANIFEST_FILES = (
    "/init.lua",
    "/modules/corelib/http.lua",
    "/data/things/1098/Tibia.spr",
    "/flaky.lua",
)
DEMO_ACCOUNT = ("demo", "demo")
MAX_LOGIN_BYTES = 64 * 1024


def file_content(path: str) -> bytes:
    """The deterministic content of a manifest file (pure)."""
    line = f"-- {path}: served by the httpops demo\n".encode()
    return line * (50 + len(path) * 7)


def manifest(base_url: str) -> dict[str, Any]:
    """The updater's answer: the files' URL prefix and their CRC32 checksums (pure)."""
    return {
        "url": base_url + "/otcv8/files",
        "files": {path: f"{zlib.crc32(file_content(path)):08x}" for path in MANIFEST_FILES},
        "keepFiles": False,
    }


def shop(base_url: str) -> dict[str, Any]:
    """Shop categories with image offers and a status with an ad (pure)."""

    def offer(n: int, title: str, cost: int) -> dict[str, Any]:
        image = f"{base_url}/images/{n}.png"
        return {"id": n, "type": "image", "image": image, "cost": cost, "title": title,
                "description": f"{title}, fresh from the demo"}  # fmt: skip

    return {
        "categories": [
            {
                "type": "image",
                "image": f"{base_url}/images/1.png",
                "name": "Potions",
                "offers": [offer(11, "Health potion", 5), offer(12, "Mana potion", 6)],
            },
            {
                "type": "image",
                "image": f"{base_url}/images/2.png",
                "name": "Outfits",
                "offers": [offer(21, "Citizen outfit", 30)],
            },
        ],
        "status": {"points": 120, "ad": {"image": f"{base_url}/images/3.png", "text": ""}},
    }


def login_answer(body: bytes) -> dict[str, Any]:
    """entergame's ``onHTTPResult`` data for a login request body (pure)."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"error": "Invalid request (not JSON)."}
    if not isinstance(data, dict) or (data.get("account"), data.get("password")) != DEMO_ACCOUNT:
        return {"error": "Invalid account name or password."}
    return {
        "session": "demo-session",
        "account": {"status": 0, "subStatus": 1, "premDays": 30},
        "characters": [
            {"name": "Demo Knight", "worldName": "Demo", "worldIp": "127.0.0.1", "worldPort": 7172},
        ],
        "version": 1098,
    }


def handle(handler: _Handler, path: str) -> bool:
    """Answer ``path`` if it is an OTCv8 route; False if it is not one.

    Thread-safety: a connection thread of the demo server.
    """
    base = f"{handler.scheme}://{handler.headers.get('Host', '127.0.0.1')}"
    if path == "/otcv8/updater":
        if handler.command == "POST":
            handler.read_body(MAX_LOGIN_BYTES)
        handler._json(manifest(base))
    elif path.startswith("/otcv8/files/"):
        name = path[len("/otcv8/files") :]
        if name not in MANIFEST_FILES:
            handler._json({"error": f"no file {name}"}, 404)
            return True
        content = file_content(name)
        if name == "/flaky.lua" and handler.server.hits[path] == 1:
            content = content[:-1] + b"!"  # corrupt once: the updater must retry
        handler._send(200, content, "application/octet-stream")
    elif path == "/otcv8/login" and handler.command == "POST":
        redirect = handler.server.login_redirect
        if redirect and handler.scheme == "http":
            # A login server moved to https: OTCv8 re-posts the body to the new URL.
            handler.read_body(MAX_LOGIN_BYTES)
            location = redirect.rstrip("/") + "/otcv8/login"
            handler._send(301, b"", "text/plain", (("Location", location),))
            return True
        handler._json(login_answer(handler.read_body(MAX_LOGIN_BYTES)))
    elif path == "/otcv8/shop":
        handler._json(shop(base))
    else:
        return False
    return True


def otcv8_routes() -> dict[str, str]:
    """Route -> what it does, for the index page."""
    return {
        "/otcv8/updater": "GET/POST: the OTCv8 updater manifest",
        "/otcv8/files/<path>": "GET: a manifest file",
        "/otcv8/login": "POST: entergame JSON login (demo/demo)",
        "/otcv8/shop": "GET: shop categories and offers with images",
    }
