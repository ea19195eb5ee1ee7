"""The opening of a WebSocket: a hard bound on the handshake, a cap on its response, proxies.

Runs on the session thread (``httpops-ws-<id>``) while websocket-client's
``WebSocket.connect`` does the TCP connect, TLS and the HTTP upgrade.

* **One deadline for the whole opening.** websocket-client's ``timeout`` is
  per read: a server that drips its response at 2 bytes/s never times out.
  While the upgrade runs, :class:`Opening` stands in for the socket (see
  ``AbortableWebSocket.sock``): before every read and write it sets the
  socket's timeout to the time *left*, and refuses to start one past the
  deadline. The deadline counts from before the TCP connect (bounded by
  ``timeout`` itself), and CPython bounds a TLS handshake as a whole by the
  socket's timeout, so the opening ends within about ``timeout`` however
  slowly any part of it drips.
* **A capped response.** websocket-client reads the response head a byte at
  a time, without a limit: endless header lines burn a core and grow a dict.
  :class:`Opening` counts what it reads and fails with a clear error past
  :data:`MAX_HANDSHAKE_HEAD` bytes of head (and as much again of an error
  response's body, which websocket-client reads whole).
* **Proxies read once.** websocket-client reads ``http_proxy``/``https_proxy``/
  ``no_proxy`` from the environment at every connect; HTTP reads them once
  when the engine is created. :func:`proxy_options` turns the engine's
  snapshot into explicit options, so WebSockets follow the same one rule.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ._errors import TransportError

__all__ = ["MAX_HANDSHAKE_HEAD", "Opening", "proxy_options"]

#: Largest handshake response head (status line and headers) accepted, in bytes.
MAX_HANDSHAKE_HEAD = 64 * 1024

#: websocket-client only stores ``http_no_proxy`` when a proxy host is given, and
#: reads the environment when it is not. Both placeholders below are never used to
#: connect: ``["*"]`` bypasses the (unused) proxy for every host, and the
#: ``.invalid`` name (RFC 6761) never matches a real host.
_UNUSED_PROXY = {"http_proxy_host": "unused-proxy.invalid", "http_proxy_port": 1}
_NEVER_BYPASS = ["never-bypass.invalid"]
_PROXY_TYPES = frozenset({"http", "socks4", "socks4a", "socks5", "socks5h"})


class Opening:
    """Stands in for the socket during the opening handshake; see the module docstring.

    Args:
        url: For error messages.
        deadline: ``time.monotonic()`` value by which the opening must be over.
    """

    def __init__(self, url: str, deadline: float) -> None:
        self.url = url
        self.deadline = deadline
        self.target: socket.socket | None = None  # see attach()
        self._head = 0
        self._body = 0
        self._in_body = False
        self._tail = b""

    def attach(self, sock: socket.socket) -> None:
        """Stand in for ``sock``; a new socket (after a redirect) starts a new response.

        Thread-safety: the session thread only (as every method here).
        """
        if sock is not self.target:
            self.target = sock
            self._head = self._body = 0
            self._in_body = False
            self._tail = b""

    def _bound(self) -> socket.socket:
        target = self.target
        if target is None:
            raise ConnectionResetError("socket is closed")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the opening handshake ran out of time")
        target.settimeout(left)
        return target

    def recv(self, size: int) -> bytes:
        """One read of at most ``size`` bytes, within the deadline and the caps."""
        data = self._bound().recv(size)
        self._count(data)
        return data

    def send(self, data: bytes) -> int:
        """One write, within the deadline."""
        return self._bound().send(data)

    def _count(self, data: bytes) -> None:
        if self._in_body:  # an error response's body, which websocket-client reads whole
            self._body += len(data)
            if self._body > MAX_HANDSHAKE_HEAD:
                raise self._too_large("body of the handshake's error response")
            return
        self._head += len(data)
        if self._head > MAX_HANDSHAKE_HEAD:
            raise self._too_large("handshake response head")
        # websocket-client reads the head one byte at a time; a blank line ends it.
        self._tail = (self._tail + data)[-3:]
        if self._tail.endswith((b"\n\r\n", b"\n\n")):
            self._in_body = True

    def _too_large(self, what: str) -> TransportError:
        detail = f"protocol error: {what} exceeds {MAX_HANDSHAKE_HEAD} bytes"
        return TransportError("WS", self.url, detail)

    def __getattr__(self, name: str) -> Any:
        # Everything else (fileno, gettimeout, close ...) is the socket's own.
        return getattr(self.target, name)

    def __bool__(self) -> bool:
        return self.target is not None


def proxy_options(url: str, proxies: Mapping[str, str]) -> dict[str, Any]:
    """websocket-client connect options for ``url`` from a proxy snapshot.

    Args:
        url: The ``ws://`` or ``wss://`` URL.
        proxies: ``urllib.request.getproxies()`` as read when the engine was
            created (``{"http": ..., "https": ..., "no": ...}``).

    Returns:
        Options that name the proxy to use, or none, explicitly: websocket-client
        then reads no environment variable.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    # websocket-client's own choice: https_proxy for wss://, http_proxy for ws://.
    proxy = proxies.get("https" if parts.scheme.lower() == "wss" else "http")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or bypass(host, proxies):
        return {**_UNUSED_PROXY, "http_no_proxy": ["*"]}
    target = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    kind = target.scheme.lower()
    options: dict[str, Any] = {
        "http_proxy_host": target.hostname,
        "http_proxy_port": target.port or (1080 if kind.startswith("socks") else 80),
        "proxy_type": kind if kind in _PROXY_TYPES else "http",
        "http_no_proxy": _NEVER_BYPASS,
    }
    if target.username:
        options["http_proxy_auth"] = (
            urllib.parse.unquote(target.username),
            urllib.parse.unquote(target.password or ""),
        )
    return options
