"""A fast local HTTP server for the benchmarks: nginx when installed, else our own.

The server runs in its own process in both cases, so its work never competes
with the client under test for the client's GIL. Routes (identical on both):

* ``/small``: a fixed 64-byte JSON body (keep-alive).
* ``/bytes/<n>``: ``n`` bytes of ``application/octet-stream`` (with nginx only
  the sizes passed as ``large_sizes`` exist, as files).
* ``/wait/<ms>``: the ``/small`` body after ``ms`` milliseconds, a long-poll
  (our own server only).

Our own server (``python -m bench.server``) is a raw-socket HTTP/1.1
keep-alive server with one thread per connection that answers from
precomputed responses: parsing is a ``find(b"\\r\\n\\r\\n")`` and a split of
the request line. ``python -m bench.server --load URL`` is a raw-socket load
generator used to measure a server's capacity (see :func:`measure_capacity`).

Run ``python -m bench.server`` by hand to get a server on an ephemeral port;
it prints ``PORT <n>`` and serves until its stdin closes or it is terminated.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["MIB", "SMALL_BODY", "BenchServer", "measure_capacity"]

MIB = 1024 * 1024
SMALL_BODY = b'{"ok": true, "server": "httpops-bench", "padding": "0123456789ab"}\n'
_SEND_BLOCK = 1 * MIB
_STARTUP_TIMEOUT = 10.0

# -- our own server (runs in the child process) ----------------------------------------


def _head(status: str, content_type: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nServer: httpops-bench\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("ascii")


_SMALL_RESPONSE = _head("200 OK", "application/json", len(SMALL_BODY)) + SMALL_BODY
_NOT_FOUND = _head("404 Not Found", "text/plain", 10) + b"not found\n"
_BLOCK = bytes(range(256)) * (_SEND_BLOCK // 256)


def _send_bytes(conn: socket.socket, n: int) -> None:
    conn.sendall(_head("200 OK", "application/octet-stream", n))
    view = memoryview(_BLOCK)
    while n > 0:
        step = min(n, _SEND_BLOCK)
        conn.sendall(view[:step])
        n -= step


def _read_head(conn: socket.socket, buf: bytearray) -> bytes | None:
    """Take one request head (up to the blank line) off ``buf``, reading as needed."""
    end = buf.find(b"\r\n\r\n")
    while end < 0:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
        end = buf.find(b"\r\n\r\n")
    head = bytes(buf[:end])
    del buf[: end + 4]
    return head


def _discard_body(conn: socket.socket, buf: bytearray, head: bytes) -> None:
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        return
    line_end = lower.find(b"\r\n", at + 2)
    length = int(lower[at + 17 : line_end if line_end > 0 else None].strip())
    while len(buf) < length:
        data = conn.recv(65536)
        if not data:
            return
        buf += data
    del buf[:length]


def _serve_connection(conn: socket.socket) -> None:
    buf = bytearray()
    with conn:
        try:
            while True:
                head = _read_head(conn, buf)
                if head is None:
                    return
                target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
                if b"content-length:" in head.lower():
                    _discard_body(conn, buf, head)
                if target == b"/small":
                    conn.sendall(_SMALL_RESPONSE)
                elif target.startswith(b"/bytes/") and target[7:].isdigit():
                    _send_bytes(conn, int(target[7:]))
                elif target.startswith(b"/wait/") and target[6:].split(b"?")[0].isdigit():
                    time.sleep(int(target[6:].split(b"?")[0]) / 1000)  # a long-poll
                    conn.sendall(_SMALL_RESPONSE)
                else:
                    conn.sendall(_NOT_FOUND)
                if b"connection: close" in head.lower():
                    return
        except OSError:
            return  # the client went away; nothing to report in a benchmark


def _serve_forever(port: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    def exit_when_parent_goes() -> None:
        sys.stdin.read()  # EOF: the parent closed our stdin or died
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, name="bench-stdin", daemon=True).start()
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn,), daemon=True).start()


# -- the load generator (runs in a child process) --------------------------------------


def _load_connection(host: str, port: int, path: str, stop_at: float, counts: list[int]) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("ascii")
    done = 0
    with socket.create_connection((host, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        while time.perf_counter() < stop_at:
            sock.sendall(request)
            head = _read_head(sock, buf)
            if head is None:
                break
            _discard_body(sock, buf, head)
            done += 1
    counts.append(done)


def _load(url: str, connections: int, seconds: float) -> float:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counts: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    threads = [
        threading.Thread(target=_load_connection, args=(host, port, parts.path, stop_at, counts))
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def measure_capacity(url: str, connections: int = 8, seconds: float = 1.0) -> float:
    """Requests per second a server sustains for ``url`` against a raw-socket client.

    The client runs in its own process, one keep-alive socket per thread, one
    request in flight per socket. It is Python too, so the figure is a lower
    bound on what the server can do.
    """
    out = subprocess.run(
        [sys.executable, "-m", "bench.server", "--load", url, "--connections", str(connections),
         "--seconds", str(seconds)],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    )  # fmt: skip
    return float(out.stdout.split()[-1])


# -- the parent side ---------------------------------------------------------------------


def _nginx_binary() -> str | None:
    explicit = os.environ.get("HTTPOPS_BENCH_NGINX")  # a binary not on PATH
    if explicit:
        return explicit
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _nginx_conf(root: Path, port: int) -> str:
    temps = "\n".join(
        f"    {name}_temp_path {root / ('tmp_' + name)};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}
    keepalive_requests 1000000;
    keepalive_timeout 120;
    sendfile on;
    tcp_nodelay on;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root / "www"};
        location = /small {{ default_type application/json; }}
    }}
}}
"""


class BenchServer:
    """Start the benchmark server (nginx if installed, else ours) in a child process.

    Args:
        kind: ``"auto"`` (nginx when installed), ``"nginx"`` or ``"own"``.
        large_sizes: The ``/bytes/<n>`` sizes to provide (nginx serves files).

    Use as a context manager; ``name`` says which server runs, for the tables.
    """

    def __init__(self, kind: str = "auto", large_sizes: tuple[int, ...] = ()) -> None:
        kind = os.environ.get("HTTPOPS_BENCH_SERVER", kind)
        if kind not in ("auto", "nginx", "own"):
            raise ValueError(f"kind must be auto, nginx or own, got {kind!r}")
        self._nginx = _nginx_binary() if kind != "own" else None
        if kind == "nginx" and self._nginx is None:
            raise RuntimeError("nginx was asked for but is not installed")
        self._large_sizes = large_sizes
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.port = 0
        self.name = ""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def __enter__(self) -> BenchServer:
        if self._nginx is not None:
            self._start_nginx(self._nginx)
        else:
            self._start_own()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _nice_prefix(self) -> list[str]:
        """``nice -n N`` when HTTPOPS_BENCH_SERVER_NICE asks for it (and nice exists)."""
        niceness = int(os.environ.get("HTTPOPS_BENCH_SERVER_NICE", "0"))
        nice = shutil.which("nice")
        return [nice, "-n", str(niceness)] if niceness and nice else []

    def _start_own(self) -> None:
        proc = subprocess.Popen(
            [*self._nice_prefix(), sys.executable, "-m", "bench.server"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=str(Path(__file__).resolve().parent.parent),
        )  # fmt: skip
        self._proc = proc
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"bench server did not start (said {line!r})")
        self.port = int(line.split()[1])
        self.name = "own (python raw-socket, thread per connection, subprocess)"

    def _start_nginx(self, binary: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="httpops-bench-nginx-")
        root = Path(self._tmp.name)
        www = root / "www"
        (www / "bytes").mkdir(parents=True)
        (www / "small").write_bytes(SMALL_BODY)
        for size in self._large_sizes:
            with open(www / "bytes" / str(size), "wb") as f:
                for done in range(0, size, _SEND_BLOCK):
                    f.write(_BLOCK[: min(_SEND_BLOCK, size - done)])
        # nginx workers may run as another user: let them read the tree.
        for path in (root, www, www / "bytes", *www.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        self.port = _free_port()
        (root / "nginx.conf").write_text(_nginx_conf(root, self.port))
        version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
        self._proc = subprocess.Popen(
            [*self._nice_prefix(), binary, "-p", str(root), "-e", str(root / "error.log"),
             "-c", str(root / "nginx.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._wait_listening()
        self.name = f"nginx ({version.split('/')[-1] or 'unknown version'}, 1 worker)"

    def _wait_listening(self) -> None:
        stop_at = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < stop_at:
            assert self._proc is not None
            if self._proc.poll() is not None:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                self.stop()
                raise RuntimeError(f"nginx exited at start: {err.strip()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)  # polling a port we do not control; nothing to wait on
        self.stop()
        raise RuntimeError(f"server did not listen on port {self.port} in {_STARTUP_TIMEOUT}s")

    def stop(self) -> None:
        """Stop the server process we started (by its pid) and remove temp files."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # nginx: SIGQUIT is its graceful stop; our server: closing stdin.
            if self._nginx is not None:
                proc.send_signal(signal.SIGQUIT)
            elif proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc is not None:
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None and not stream.closed:
                    stream.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def main(argv: list[str] | None = None) -> None:
    """Serve (default) or, with ``--load URL``, measure a server's capacity."""
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--load", metavar="URL", help="measure req/s of URL instead of serving")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.load:
        print(f"{_load(args.load, args.connections, args.seconds):.0f}")
    else:
        _serve_forever(args.port)


if __name__ == "__main__":
    main()
