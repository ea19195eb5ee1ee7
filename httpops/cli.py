"""The ``httpops`` command: try a URL from the shell with the same engine.

``httpops get URL``, ``post URL DATA``, ``download URL FILE``, ``ws URL``,
``serve`` and ``demo``. Results go to stdout, progress and errors to stderr
(one line, ``httpops: <error>``), and the exit code is 0 on success, 1 when
the operation failed and 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from ._config import Config
from ._engine import Engine
from ._errors import HttpopsError, UsageError
from ._operation import Operation
from ._version import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _headers(pairs: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep:
            raise UsageError(f"header must look like 'Name: value', got {pair!r}")
        headers[name.strip()] = value.strip()
    return headers


def _print_value(value: Any, out: TextIO) -> None:
    from ._response import Response

    if isinstance(value, Response):
        out.write(value.text)
        if value.text and not value.text.endswith("\n"):
            out.write("\n")
    else:
        out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _finish(op: Operation, args: argparse.Namespace) -> int:
    """Wait for ``op`` with the command's timeout and print its result."""
    engine = op._engine
    assert engine is not None
    if not engine.wait(op, timeout=args.wait):
        op.cancel()
        print(f"httpops: {op.method} {op.url}: no result within {args.wait:g}s", file=sys.stderr)
        return EXIT_FAILED
    if op.error is not None:
        print(f"httpops: {op.error}", file=sys.stderr)
        if op.response is not None and args.verbose:
            _print_value(op.response, sys.stdout)
        return EXIT_FAILED
    _print_value(op.value, sys.stdout)
    return EXIT_OK


def cmd_get(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops get URL [--json]``."""
    start = engine.get_json if args.json else engine.get
    return _finish(start(args.url, headers=_headers(args.header)), args)


def cmd_post(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops post URL DATA [--json]``: DATA is sent as a form body, or as JSON."""
    headers = _headers(args.header)
    if args.json:
        try:
            data = json.loads(args.data)
        except ValueError as exc:
            raise UsageError(f"DATA is not JSON: {exc}") from exc
        return _finish(engine.post_json(args.url, data, headers=headers), args)
    return _finish(engine.post(args.url, args.data, headers=headers), args)


def cmd_download(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops download URL FILE [--sha256 HEX]`` with a progress line on stderr."""
    from .cli_progress import DownloadProgress

    progress = DownloadProgress(sys.stderr)
    op = engine.download(
        args.url, args.file, on_progress=progress.update, sha256=args.sha256, resume=True
    )
    done = engine.wait(op, timeout=args.wait)
    progress.finish()
    if not done:
        op.cancel()
        print(f"httpops: GET {args.url}: no result within {args.wait:g}s", file=sys.stderr)
        return EXIT_FAILED
    if op.error is not None:
        print(f"httpops: {op.error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{op.path}\t{op.received} bytes\tcrc32={op.checksum}")
    return EXIT_OK


def cmd_ws(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops ws URL``: lines typed are sent, messages received are printed."""
    ended = threading.Event()
    status = {"code": EXIT_OK}

    def on_message(_handle: Any, message: Any) -> None:
        print(message if isinstance(message, str) else repr(message), flush=True)

    def on_error(_handle: Any, err: Any) -> None:
        print(f"httpops: {err}", file=sys.stderr)
        status["code"] = EXIT_FAILED

    def on_close(_handle: Any, code: Any = None, reason: Any = "") -> None:
        ended.set()

    handle = engine.websocket(
        args.url, on_message=on_message, on_error=on_error, on_close=on_close, json=args.json
    )

    def read_stdin() -> None:
        for line in sys.stdin:
            handle.send(json.loads(line) if args.json else line.rstrip("\n"))
        handle.close()

    # stdin blocks; read it on a helper thread so the main thread keeps polling.
    threading.Thread(target=read_stdin, name="httpops-cli-stdin", daemon=True).start()
    try:
        while not ended.is_set():
            engine.poll()
            engine.events.wait_nonempty(0.05)
    except KeyboardInterrupt:
        handle.close()
        engine.wait(handle.operation, timeout=2)
    return status["code"]


def cmd_serve(_engine: Engine | None, args: argparse.Namespace) -> int:
    """``httpops serve``: run the embedded demo server until Ctrl-C."""
    from .demo.__main__ import serve_forever

    return serve_forever(port=args.port)


def cmd_demo(_engine: Engine | None, args: argparse.Namespace) -> int:
    """``httpops demo``: the demo game loop (see ``python -m httpops.demo``)."""
    from .demo.__main__ import main as demo_main

    argv = ["--seconds", str(args.seconds)] + (["--window"] if args.window else [])
    return demo_main(argv)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``httpops`` command."""
    parser = argparse.ArgumentParser(
        prog="httpops", description="Non-blocking HTTP, downloads and WebSockets, from the shell."
    )
    parser.add_argument("--version", action="version", version=f"httpops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        return cmd

    def network_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
        cmd.add_argument("--wait", type=float, default=60.0, help="seconds to wait (60)")
        cmd.add_argument("--insecure", action="store_true", help="do not verify TLS (logged)")
        cmd.add_argument("--cacert", help="trust this CA bundle (PEM)")
        cmd.add_argument("-v", "--verbose", action="store_true", help="print error bodies")

    get = add("get", "GET a URL and print the body (or the decoded JSON with --json)")
    get.add_argument("url")
    get.add_argument("--json", action="store_true", help="decode the answer as JSON")
    network_options(get)

    post = add("post", "POST DATA to a URL (a form body, or JSON with --json)")
    post.add_argument("url")
    post.add_argument("data")
    post.add_argument("--json", action="store_true", help="send DATA as JSON, decode the answer")
    network_options(post)

    download = add("download", "download a URL to FILE with progress and checksum")
    download.add_argument("url")
    download.add_argument("file")
    download.add_argument("--sha256", help="expected SHA-256 (hex); mismatch fails")
    network_options(download)

    ws = add("ws", "open a WebSocket: lines typed are sent, messages printed")
    ws.add_argument("url")
    ws.add_argument("--json", action="store_true", help="send and receive JSON")
    network_options(ws)

    serve = add("serve", "run the embedded demo server on 127.0.0.1 and print its URLs")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free port)")

    demo = add("demo", "run the demo game loop against the embedded server")
    demo.add_argument("--seconds", type=float, default=15.0)
    demo.add_argument("--window", action="store_true", help="draw in a pygame window")
    return parser


COMMANDS = {
    "get": cmd_get,
    "post": cmd_post,
    "download": cmd_download,
    "ws": cmd_ws,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Thread-safety: the main thread.
    """
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return cmd_serve(None, args)
    if args.command == "demo":
        return cmd_demo(None, args)
    try:
        verify: bool | str = args.cacert or not args.insecure
        config = Config(verify=verify, downloads_dir=".")
        with Engine(config) as engine:
            return COMMANDS[args.command](engine, args)
    except UsageError as exc:
        print(f"httpops: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HttpopsError as exc:
        print(f"httpops: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
