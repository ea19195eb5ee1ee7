"""The ``httpops`` command: try a URL from the shell with the same engine.

``httpops get URL``, ``post URL DATA``, ``download URL FILE``, ``ws URL``,
``serve`` and ``demo``. Results go to stdout, progress and errors to stderr
(one line, ``httpops: <error>``), and the exit code is 0 on success, 1 when
the operation failed, 2 for a usage error (bad arguments, a malformed URL)
and 130 on Ctrl-C. Every subcommand has ``--help``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ._config import Config
from ._download_paths import resolve_target
from ._engine import Engine
from ._errors import HttpopsError, InvalidArgument, UsageError
from ._operation import Operation
from ._response import Response
from ._version import __version__
from ._ws_handle import WebSocket
from .cli_progress import DownloadProgress

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


def _one_line(error: object) -> str:
    """``httpops: <error>`` with any newline of the message folded away."""
    return "httpops: " + " ".join(str(error).split())


def _fail(error: object) -> int:
    print(_one_line(error), file=sys.stderr, flush=True)
    return EXIT_FAILED


def _print_value(value: Any, out: TextIO) -> None:
    if isinstance(value, Response):
        out.write(value.text)
        if value.text and not value.text.endswith("\n"):
            out.write("\n")
    else:
        out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    out.flush()


def _finish(engine: Engine, op: Operation, args: argparse.Namespace) -> int:
    """Wait for ``op`` with the command's timeout and print its result."""
    if not engine.wait(op, timeout=args.wait):
        op.cancel()
        return _fail(f"{op.method} {op.url}: no result within {args.wait:g}s")
    if op.error is not None:
        if op.response is not None and args.verbose:
            _print_value(op.response, sys.stdout)
        return _fail(op.error)
    _print_value(op.value, sys.stdout)
    return EXIT_OK


def cmd_get(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops get URL [--json]``."""
    start = engine.get_json if args.json else engine.get
    return _finish(engine, start(args.url, headers=_headers(args.header)), args)


def cmd_post(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops post URL DATA [--json]``: DATA is sent as a form body, or as JSON."""
    headers = _headers(args.header)
    if args.json:
        try:
            data = json.loads(args.data)
        except ValueError as exc:
            raise UsageError(f"DATA is not JSON: {exc}") from exc
        if not isinstance(data, (dict, list)):
            raise UsageError(f"DATA must be a JSON object or array, got {args.data!r}")
        return _finish(engine, engine.post_json(args.url, data, headers=headers), args)
    return _finish(engine, engine.post(args.url, args.data, headers=headers), args)


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stopped_early(engine: Engine, op: Operation, target: str) -> None:
    """Cancel ``op``, let its worker tidy up, and say what was kept for a resume."""
    op.cancel()
    engine.close()  # joins the worker: the temporary file is kept or removed by now
    part = resolve_target(target, os.getcwd()).part_path()
    if os.path.exists(part):
        size = os.path.getsize(part)
        note = f"the partial file {part} ({size} bytes) is kept: run the same command to resume"
    else:
        note = "nothing was kept to resume from (the server sent no ETag or Last-Modified)"
    print(_one_line(note), file=sys.stderr, flush=True)


def cmd_download(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops download URL FILE [--sha256 HEX]`` with a progress line on stderr.

    It waits as long as the download makes progress (the engine's stall
    timeout still applies) unless ``--wait`` limits it; stopped early by
    ``--wait`` or Ctrl-C, it keeps the partial file for the next run to resume.
    """
    progress = DownloadProgress(sys.stderr)
    target = os.path.abspath(args.file)
    op = engine.download(
        args.url, target, on_progress=progress.update,
        sha256=args.sha256, resume=True, headers=_headers(args.header),
    )  # fmt: skip
    try:
        done = engine.wait(op, timeout=args.wait)
    except KeyboardInterrupt:
        progress.finish(None)
        _stopped_early(engine, op, target)
        return 130
    progress.finish(op if done and op.error is None else None)
    if not done:
        code = _fail(f"GET {args.url}: no result within {args.wait:g}s")
        _stopped_early(engine, op, target)
        return code
    if op.error is not None:
        return _fail(op.error)
    assert op.path is not None
    # The download verified --sha256 on its worker; without one, show it anyway.
    sha = args.sha256.lower() if args.sha256 else _sha256_of(op.path)
    verified = " (verified)" if args.sha256 else ""
    print(f"{op.path}  {op.received} bytes  crc32 {op.checksum}  sha256 {sha}{verified}")
    return EXIT_OK


class _WsCommand:
    """``httpops ws``: a helper thread reads stdin; the main thread polls and prints.

    At the end of input the socket is closed once no message arrived for
    ``--linger`` seconds, so replies to the last lines are still printed (a
    server stops answering as soon as it sees the close frame).
    """

    def __init__(self, engine: Engine, args: argparse.Namespace) -> None:
        self.engine = engine
        self.args = args
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.eof = threading.Event()
        self.code = EXIT_OK
        self.last_activity = time.monotonic()
        self.handle = engine.websocket(
            args.url, on_open=self.on_open, on_message=self.on_message,
            on_error=self.on_error, on_close=self.on_close, json=args.json,
            headers=_headers(args.header),
        )  # fmt: skip

    # Callbacks: the main thread, inside poll().

    def on_open(self, ws: WebSocket, _reconnected: bool) -> None:
        self.opened.set()
        print(f"httpops: connected to {ws.url}", file=sys.stderr, flush=True)

    def on_message(self, _ws: WebSocket, message: Any) -> None:
        self.last_activity = time.monotonic()
        if isinstance(message, bytes):
            text = repr(message)
        else:
            text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
        print(text, flush=True)

    def on_error(self, _ws: WebSocket, err: Exception) -> None:
        self.code = _fail(err)

    def on_close(self, _ws: WebSocket, code: int, reason: str) -> None:
        if code not in (1000, 1005):
            self.code = EXIT_FAILED
        suffix = f": {reason}" if reason else ""
        print(f"httpops: closed {code}{suffix}", file=sys.stderr, flush=True)
        self.ended.set()
        self.opened.set()  # lets the stdin reader stop waiting

    def read_stdin(self) -> None:
        """The ``httpops-cli-stdin`` thread: send each line (``send`` is thread-safe)."""
        # Input that ends at once (a pipe) must not close the socket before it opened.
        self.opened.wait()
        if not self.ended.is_set():
            for line in sys.stdin:
                text = line.rstrip("\n")
                try:
                    self.handle.send(json.loads(text) if self.args.json else text)
                except (ValueError, InvalidArgument) as exc:
                    print(_one_line(f"not sent: {exc}"), file=sys.stderr, flush=True)
        self.eof.set()

    def run(self) -> int:
        """Poll until the socket has closed; returns the exit code."""
        threading.Thread(target=self.read_stdin, name="httpops-cli-stdin", daemon=True).start()
        eof_at: float | None = None  # when the main thread saw the end of input
        try:
            while not self.ended.is_set():
                self.engine.poll()
                self.engine.events.wait_nonempty(0.05)
                if eof_at is None and self.eof.is_set():
                    eof_at = time.monotonic()
                    continue
                quiet_since = max(self.last_activity, eof_at or math.inf)
                if time.monotonic() - quiet_since >= self.args.linger:
                    self.handle.close()  # with 1000, after what is queued; once is enough
                    eof_at = math.inf
        except KeyboardInterrupt:
            self.handle.close()
            self.engine.wait(self.handle.operation, timeout=2)
            return 130
        return self.code


def cmd_ws(engine: Engine, args: argparse.Namespace) -> int:
    """``httpops ws URL``: lines typed are sent, messages received are printed."""
    return _WsCommand(engine, args).run()


def cmd_serve(args: argparse.Namespace) -> int:
    """``httpops serve``: run the embedded demo server until Ctrl-C."""
    from .demo.app import serve_forever

    return serve_forever(port=args.port)


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

    def network_options(cmd: argparse.ArgumentParser, wait: float | None = 60.0) -> None:
        cmd.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
        shown = "no limit: as long as data arrives" if wait is None else f"{wait:g}"
        cmd.add_argument("--wait", type=float, default=wait, help=f"seconds to wait ({shown})")
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
    network_options(download, wait=None)

    ws = add("ws", "open a WebSocket: lines typed are sent, messages printed")
    ws.add_argument("url")
    ws.add_argument("--json", action="store_true", help="send and receive JSON")
    ws.add_argument(
        "--linger",
        type=float,
        default=0.5,
        help="at the end of input, close after this many quiet seconds (0.5)",
    )
    network_options(ws)

    serve = add("serve", "run the embedded demo server on 127.0.0.1 and print its URLs")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free port)")

    # `httpops demo ...` is handed to the demo's own parser (see main()); this
    # entry only lists it in `httpops --help`.
    add("demo", "run the demo game loop (httpops demo --help for its options)")
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        from .demo.app import main as demo_main

        return demo_main(argv[1:], prog="httpops demo")
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    try:
        verify: bool | str = args.cacert or not args.insecure
        config = Config(verify=verify, downloads_dir=os.getcwd())
        with Engine(config) as engine:
            return COMMANDS[args.command](engine, args)
    except UsageError as exc:
        print(_one_line(exc), file=sys.stderr)
        return EXIT_USAGE
    except HttpopsError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
