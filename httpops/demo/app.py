"""The demo application: argument parsing, :func:`run_demo` and :func:`serve_forever`.

``python -m httpops.demo`` runs :func:`main`; ``httpops serve`` uses
:func:`serve_forever` to run the server alone for manual play.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

import httpops

from .loop import DemoGame, DemoReport, print_summary
from .server import ROUTES, DemoServer

__all__ = ["build_parser", "main", "run_demo", "serve_forever"]


def run_demo(
    seconds: float = 4.0,
    fps: float = 60.0,
    budget: float = 0.002,
    out: TextIO = sys.stdout,
) -> DemoReport:
    """Start the server and an engine, run the loop on this thread, close both.

    Returns:
        The :class:`DemoReport`; its ``exit_code`` is 0 when every expected
        result arrived.

    Thread-safety: call from the thread that should run the callbacks.
    """
    with DemoServer() as server:
        print(f"demo server on {server.base_url}; {fps:g} fps for {seconds:g} s", file=out)
        # An engine of our own so that it is closed here; httpops.HTTP is the
        # same facade bound to the default engine.
        with httpops.Engine() as engine:
            http = httpops.HTTPFacade(engine)
            game = DemoGame(http, server.base_url, seconds=seconds, fps=fps, budget=budget, out=out)
            report = game.run()
    print_summary(report, out)
    return report


def serve_forever(port: int = 0, out: TextIO = sys.stdout) -> int:
    """Run the demo server on 127.0.0.1 until Ctrl-C, printing its URLs.

    Returns:
        0, the exit code.

    Thread-safety: the main thread (it waits for KeyboardInterrupt).
    """
    with DemoServer(port=port) as server:
        print(f"httpops demo server on {server.base_url} (Ctrl-C to stop)", file=out)
        for route, what in ROUTES.items():
            print(f"  {server.base_url}{route:<24} {what}", file=out)
        out.flush()
        forever = threading.Event()
        try:
            while not forever.wait(0.5):  # short waits keep Ctrl-C responsive
                pass
        except KeyboardInterrupt:
            pass
    return 0


def _positive(minimum: float, maximum: float) -> type[float]:
    def parse(text: str) -> float:
        value = float(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}")
        return value

    return parse  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m httpops.demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m httpops.demo",
        description=(
            "Run a 60 Hz game loop that fires JSON GETs and POSTs, one deliberate failure "
            "and one cancel through the HTTP facade at an embedded server on 127.0.0.1, "
            "printing each result as its callback lands (on the loop's thread) and the "
            "frame-time p50/p99/max at the end. Exit code 0 when every expected result "
            "arrived."
        ),
    )
    parser.add_argument(
        "--seconds", type=_positive(0.5, 3600), default=4.0, help="how long to run (4)"
    )
    parser.add_argument("--fps", type=_positive(10, 1000), default=60.0, help="frame rate (60)")
    parser.add_argument(
        "--budget",
        type=_positive(0.0, 1.0),
        default=0.002,
        help="seconds poll() may spend per frame (0.002)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the demo, return its exit code.

    Thread-safety: the main thread.
    """
    args = build_parser().parse_args(argv)
    return run_demo(seconds=args.seconds, fps=args.fps, budget=args.budget).exit_code
