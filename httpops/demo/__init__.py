"""The demo: an embedded HTTP server and a 60 Hz game loop that uses httpops against it.

``python -m httpops.demo`` (or ``make demo``) starts :class:`DemoServer` on
127.0.0.1 with an ephemeral port, runs :class:`DemoGame` for a few seconds
and prints each result as its callback lands, then the frame-time
percentiles. Nothing here is needed to use the library; it is an
application built on the public API only.
"""

from .app import main, run_demo, serve_forever
from .loop import DemoGame, DemoReport, Shot
from .server import DemoServer, file_bytes, png_bytes

__all__ = [
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
