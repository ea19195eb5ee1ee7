"""The demo application: argument parsing, :func:`run_demo` and :func:`serve_forever`.

``python -m httpops.demo`` (and ``httpops demo``) runs :func:`main`;
``httpops serve`` uses :func:`serve_forever` to run the server alone for
manual play.

Views: on a terminal the run is a live ``rich`` panel; when stdout is not a
terminal (a pipe, CI, tests) it is plain lines; ``--window`` draws it in a
pygame window (``pip install 'httpops[demo]'``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import TextIO

import httpops

from .chat import describe_routes
from .loop import CANCELED_DOWNLOAD, IMAGES, DemoGame, PlainView, View
from .server import ROUTES, DemoServer
from .shots import DemoReport
from .summary import summary_lines

__all__ = ["build_parser", "main", "run_demo", "serve_forever"]

MODES = ("auto", "plain", "rich", "window")
# What a missing optional package costs, and the extra that brings it.
NO_WEBSOCKETS = (
    "WebSocket endpoints are off: the 'websockets' package is missing; pip install 'httpops[demo]'"
)
NO_RICH = "no live panel: the 'rich' package is missing; pip install 'httpops[demo]'"


def _make_view(mode: str, out: TextIO, save_frame: str | None) -> View:
    if mode == "auto":
        mode = "rich" if out.isatty() else "plain"
    if mode == "rich":
        try:
            from rich.console import Console

            from .panel import RichView
        except ImportError:  # the demo extra is not installed: plain lines still work
            print(f"demo: {NO_RICH}; plain lines instead", file=out)
            return PlainView(out)
        return RichView(Console(file=out))
    if mode == "window":
        from .window import WindowView

        return WindowView(PlainView(out), save_frame=save_frame)
    return PlainView(out)


def run_demo(
    seconds: float = 15.0,
    fps: float = 60.0,
    budget: float = 0.002,
    out: TextIO = sys.stdout,
    *,
    mode: str = "auto",
    save_frame: str | None = None,
) -> DemoReport:
    """Start the servers and an engine, run the loop on this thread, close everything.

    Args:
        seconds: Length of the run (results still in flight get a few more).
        fps: Frame rate.
        budget: Seconds ``poll`` may spend per frame.
        out: Where the panel, lines and summary go.
        mode: ``"auto"`` (rich on a terminal, else plain), ``"plain"``,
            ``"rich"`` or ``"window"`` (pygame).
        save_frame: With ``"window"``: save the last frame as an image there.

    Returns:
        The :class:`DemoReport`; its ``exit_code`` is 0 when every expected
        result arrived.

    Thread-safety: call from the thread that should run the callbacks.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    view = _make_view(mode, out, save_frame)
    with DemoServer() as server, tempfile.TemporaryDirectory(prefix="httpops-demo-") as tmp:
        print(f"demo server on {server.base_url}; {fps:g} fps for {seconds:g} s", file=out)
        if not server.ws_url:
            print(f"demo: no WebSocket chat. {NO_WEBSOCKETS}", file=out)
        downloads = os.path.join(tmp, "downloads")
        config = httpops.Config(
            downloads_dir=downloads, image_cache_dir=os.path.join(tmp, "image-cache")
        )
        # An engine of our own so that it is closed here; httpops.HTTP is the
        # same facade bound to the default engine.
        with httpops.Engine(config) as engine:
            http = httpops.HTTPFacade(engine)
            game = DemoGame(
                http, server.base_url, ws_url=server.ws_url, seconds=seconds, fps=fps,
                budget=budget, view=view,
            )  # fmt: skip
            view.start()
            try:
                report = game.run()
            finally:
                view.stop(game)
        _check_files(report, downloads)
        report.image_requests = sum(server.hits(f"/images/{n}.png") for n in IMAGES)
    try:
        print("\n".join(summary_lines(report)), file=out, flush=True)
    except BrokenPipeError:  # `... | head`: nobody is reading any more
        pass
    return report


def _check_files(report: DemoReport, downloads: str) -> None:
    """A canceled download must leave nothing at its target."""
    target = os.path.join(downloads, f"demo-{CANCELED_DOWNLOAD[0]}.bin")
    for shot in report.shots:
        if shot.expect == "cancel" and os.path.exists(target):
            shot.err = f"a partial file was left at {target}"


def serve_forever(port: int = 0, out: TextIO = sys.stdout) -> int:
    """Run the demo server on 127.0.0.1 until Ctrl-C, printing its URLs.

    The first line is ``httpops demo server on http://127.0.0.1:<port>``;
    with ``websockets`` installed the second is ``WebSocket server on
    ws://127.0.0.1:<port>``, without it a line on stderr names the extra.

    Returns:
        0, the exit code.

    Thread-safety: the main thread (it waits for KeyboardInterrupt).
    """
    with DemoServer(port=port) as server:
        # Ctrl-C may come as soon as the first line is out: everything after
        # the server started is inside the try, so it always ends cleanly.
        try:
            if not server.ws_url:  # said first, so it is out before anyone reads the URL
                print(f"httpops: {NO_WEBSOCKETS}", file=sys.stderr, flush=True)
            print(f"httpops demo server on {server.base_url} (Ctrl-C to stop)", file=out)
            if server.ws_url:
                print(f"WebSocket server on {server.ws_url}", file=out)
            for route, what in ROUTES.items():
                print(f"  {server.base_url}{route:<24} {what}", file=out)
            if server.ws_url:
                for url, what in describe_routes(server.ws_url):
                    print(f"  {url:<{len(server.base_url) + 24}} {what}", file=out)
            out.flush()
            forever = threading.Event()
            while not forever.wait(0.5):  # short waits keep Ctrl-C responsive
                pass
        except KeyboardInterrupt:
            pass
    return 0


def _between(minimum: float, maximum: float) -> type[float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}")
        return value

    return parse  # type: ignore[return-value]


def build_parser(prog: str = "python -m httpops.demo") -> argparse.ArgumentParser:
    """The argument parser of ``python -m httpops.demo`` and ``httpops demo``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Run a 60 Hz game loop against an embedded server on 127.0.0.1: JSON GETs "
            "and POSTs, throttled downloads with progress bars, a background patch capped "
            "by rate_limit= at a low priority and a login at a high one, images with cache hits, "
            "a WebSocket chat, one deliberate failure, one cancel and a scene switch "
            "whose scope cancels its work, with live frame-time p50/p99/max. Every "
            "callback runs on the loop's thread. Exit code 0 when every expected result "
            "arrived (also when stopped early with Ctrl-C)."
        ),
    )
    parser.add_argument(
        "--seconds", type=_between(0.5, 3600), default=15.0, help="how long to run (15)"
    )
    parser.add_argument("--fps", type=_between(10, 1000), default=60.0, help="frame rate (60)")
    parser.add_argument(
        "--budget",
        type=_between(0.0, 1.0),
        default=0.002,
        help="seconds poll() may spend per frame (0.002)",
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--window", action="store_true", help="draw in a pygame window")
    view.add_argument(
        "--plain", action="store_true", help="plain lines even on a terminal (no live panel)"
    )
    parser.add_argument(
        "--save-frame", metavar="FILE", help="with --window: save the last frame (PNG)"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m httpops.demo") -> int:
    """Parse ``argv``, run the demo, return its exit code.

    Thread-safety: the main thread.
    """
    args = build_parser(prog).parse_args(argv)
    mode = "window" if args.window else "plain" if args.plain else "auto"
    if mode == "window":
        # pygame greets on import with a line on stdout; the demo's output is its own.
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame  # noqa: F401
        except ImportError:
            print(f"{prog}: --window needs pygame-ce: pip install 'httpops[demo]'", file=sys.stderr)
            return 2
    report = run_demo(
        seconds=args.seconds, fps=args.fps, budget=args.budget, mode=mode,
        save_frame=args.save_frame,
    )  # fmt: skip
    return report.exit_code
