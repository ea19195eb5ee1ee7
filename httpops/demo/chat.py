"""The demo's WebSocket server: an echo and a small chat room with a bot, on 127.0.0.1.

It uses the ``websockets`` package's synchronous server (in the ``demo``
extra), the same way the HTTP half uses the standard library: project code,
not a test fixture. :class:`~httpops.demo.server.DemoServer` starts it next to
the HTTP server when ``websockets`` is installed.

Routes:

=====================  ===========================================================
``/echo``              every message back, text as text and bytes as bytes
``/chat?name=N``       a chat room: ``"server: welcome N (K online)"`` on join,
                       each text message is broadcast to everyone in the room as
                       ``"N: text"``, and the bot answers with ``"npc: ..."``
``/otcv8/bot``         OTCv8's BotServer protocol (JSON): ``init`` joins a
                       channel and gets a ``ping``; a ``message`` goes to every
                       member of the channel as ``{"type": "message", "id",
                       "name", "topic", "message"}``
``/otcv8/silent``      accepts and never sends a message (a dead link, for the
                       WebSocket idle timeout)
=====================  ===========================================================

Threads: ``httpops-demo-ws`` accepts; ``websockets`` runs one handler thread
per connection. :meth:`ChatServer.stop` closes every connection with 1001 and
joins all of them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from websockets.sync.server import Server, ServerConnection

__all__ = ["ChatServer", "available", "bot_reply"]

_BOT_LINES = (
    "the bridge to the east is open again",
    "a dragon was seen near the mountains",
    "the shop restocked health potions",
    "mind the rats in the sewers",
)
_JOIN_TIMEOUT = 5.0


def available() -> bool:
    """Whether ``websockets`` is installed (the ``demo`` extra)."""
    try:
        import websockets.sync.server  # noqa: F401
    except ImportError:
        return False
    return True


def bot_reply(name: str, text: str) -> str:
    """What the bot says to ``name`` after ``text`` (deterministic; pure)."""
    if text.rstrip().endswith("?"):
        return f"npc: good question, {name}. {_BOT_LINES[len(text) % len(_BOT_LINES)]}"
    return f"npc: hello {name}, {_BOT_LINES[sum(map(ord, text)) % len(_BOT_LINES)]}"


class ChatServer:
    """``/echo`` and ``/chat`` on ``host`` and ``port`` (0: any free port).

    Attributes:
        base_url: ``ws://127.0.0.1:<port>`` once started.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        # Guards _room (the chat members by connection) and messages_seen.
        self._lock = threading.Lock()
        self._room: dict[ServerConnection, str] = {}
        self.messages_seen = 0
        # Guarded by _lock: BotServer members (connection -> (name, channel)), message ids,
        # and connections accepted per path.
        self._bots: dict[ServerConnection, tuple[str, str]] = {}
        self._bot_message_id = 0
        self.connections: Counter[str] = Counter()
        self.base_url = ""

    def start(self) -> ChatServer:
        """Bind and serve on a background thread. Thread-safety: any thread."""
        from websockets.sync.server import serve

        if self._server is not None:
            raise RuntimeError("ChatServer already started")
        self._server = serve(
            self._handle,
            self._address[0],
            self._address[1],
            ping_interval=None,  # the client pings; the demo runs for seconds
            close_timeout=1,
        )
        port = int(self._server.socket.getsockname()[1])
        self.base_url = f"ws://{self._address[0]}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="httpops-demo-ws", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (1001) and join the threads. Thread-safety: any thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        # shutdown() closes the listener and open connections, then waits for
        # every handler thread to finish.
        server.shutdown()
        thread.join(_JOIN_TIMEOUT)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- connection handlers (one websockets thread each) ------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        request = connection.request
        parts = urlsplit(request.path if request is not None else "/")
        with self._lock:
            self.connections[parts.path] += 1
        try:
            if parts.path == "/echo":
                for message in connection:
                    self._count()
                    connection.send(message)
            elif parts.path == "/otcv8/bot":
                self._bot(connection)
            elif parts.path == "/otcv8/silent":
                for _message in connection:  # read (and pong) but never answer
                    self._count()
            elif parts.path == "/chat":
                name = dict(parse_qsl(parts.query)).get("name", "guest")[:32] or "guest"
                self._chat(connection, name)
            else:
                connection.close(4004, f"no route {parts.path}")
        except ConnectionClosed:
            pass  # the client went away: normal at the end of a conversation

    def _count(self) -> None:
        with self._lock:
            self.messages_seen += 1

    def _chat(self, connection: ServerConnection, name: str) -> None:
        with self._lock:
            self._room[connection] = name
            online = len(self._room)
        try:
            connection.send(f"server: welcome {name} ({online} online)")
            for message in connection:
                self._count()
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self._broadcast(f"{name}: {text}")
                connection.send(bot_reply(name, text))
        finally:
            with self._lock:
                self._room.pop(connection, None)

    def _bot(self, connection: ServerConnection) -> None:
        """One BotServer client: ``init`` joins a channel, ``message`` goes to the channel."""
        try:
            for raw in connection:
                self._count()
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if message.get("type") == "init":
                    member = (str(message.get("name", "")), str(message.get("channel", "")))
                    with self._lock:
                        self._bots[connection] = member
                    connection.send(json.dumps({"type": "ping", "ping": 1}))
                elif message.get("type") == "message":
                    self._bot_broadcast(connection, message)
        finally:
            with self._lock:
                self._bots.pop(connection, None)

    def _bot_broadcast(self, sender: ServerConnection, message: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            if sender not in self._bots:
                return
            name, channel = self._bots[sender]
            members = [c for c, (_, ch) in self._bots.items() if ch == channel]
            self._bot_message_id += 1
            out = json.dumps(
                {"type": "message", "id": self._bot_message_id, "name": name,
                 "topic": message.get("topic"), "message": message.get("message")}
            )  # fmt: skip
        for member in members:
            try:
                member.send(out)
            except ConnectionClosed:
                pass

    def _broadcast(self, line: str) -> None:
        from websockets.exceptions import ConnectionClosed

        with self._lock:
            members = list(self._room)
        for member in members:  # sent outside the lock: a slow member must not stall the room
            try:
                member.send(line)
            except ConnectionClosed:
                pass

    @property
    def online(self) -> int:
        """Members in the chat room now. Thread-safety: any thread."""
        with self._lock:
            return len(self._room)

    def __repr__(self) -> str:
        return f"<ChatServer {self.base_url or 'stopped'}>"


def describe_routes(base_url: str) -> list[tuple[str, str]]:
    """``(url, what)`` for each route, for ``httpops serve``."""
    routes: list[tuple[str, Any]] = [
        ("/echo", "WebSocket: every message back"),
        ("/chat?name=N", "WebSocket: chat room with a bot"),
        ("/otcv8/bot", "WebSocket: OTCv8 BotServer channels (JSON)"),
        ("/otcv8/silent", "WebSocket: never sends anything"),
    ]
    return [(base_url + path, what) for path, what in routes]
