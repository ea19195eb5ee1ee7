"""The demo: an embedded HTTP server and a 60 Hz game loop that uses httpops against it.

``python -m httpops.demo`` (or ``make demo``) starts :class:`DemoServer`
(HTTP, plus the WebSocket :class:`ChatServer`) on 127.0.0.1 with ephemeral
ports, runs :class:`DemoGame` for 15 seconds with a live panel (plain lines
when stdout is not a terminal, a pygame window with ``--window``), then
prints a summary with the frame-time percentiles. Nothing here is needed to
use the library; it is an application built on the public API only.
"""

from .app import main, run_demo, serve_forever
from .chat import ChatServer
from .loop import DemoGame
from .server import DemoServer, file_bytes, png_bytes
from .shots import DemoReport, Shot

__all__ = [
    "ChatServer",
    "DemoGame",
    "DemoReport",
    "DemoServer",
    "Shot",
    "file_bytes",
    "main",
    "png_bytes",
    "run_demo",
    "serve_forever",
]
