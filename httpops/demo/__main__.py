"""``python -m httpops.demo``: run the demo game loop (see :mod:`httpops.demo.app`)."""

from __future__ import annotations

import sys

from .app import build_parser, main, run_demo, serve_forever

__all__ = ["build_parser", "main", "run_demo", "serve_forever"]

if __name__ == "__main__":
    sys.exit(main())
