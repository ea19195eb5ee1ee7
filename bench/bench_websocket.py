"""WebSocket throughput: httpops vs raw websocket-client vs ``websockets.sync.client``.

One local echo server (the ``websockets`` asyncio server, in a subprocess so
it does not compete with the clients for the GIL) serves every client.
Messages are 100 bytes of text.

* **Round trips**: send one message, wait for its echo, repeat; round trips
  per second. httpops waits the way a script does: ``poll()``, and when
  nothing is ready ``engine.events.wait_nonempty``.
* **Burst**: one request makes the server write N messages at once (as
  pre-built frames in one write, so the server's own speed is not what is
  measured); messages per second until the client has received all N --
  for httpops, until all N were delivered to ``on_message`` through
  ``poll()``.

Raw websocket-client runs with its default settings (its pure-Python UTF-8
validation on); httpops turns that off and validates with CPython's decoder.
Each figure is the median of several runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

MESSAGE = "m" * 100
TARGET_RT_VS_RAW = 0.9
TARGET_BURST_VS_RAW = 2.0
TARGET_BURST_VS_WEBSOCKETS = 0.5


# -- the server (runs in a subprocess: ``python bench_websocket.py --serve``) --------------


def _serve() -> None:
    import asyncio

    from websockets.asyncio.server import ServerConnection, serve

    def frames(count: int) -> bytes:
        out = bytearray()
        for index in range(count):
            payload = str(index).ljust(100, ".").encode()
            out += bytes((0x81, len(payload))) + payload
        return bytes(out)

    async def handler(connection: ServerConnection) -> None:
        async for message in connection:
            if isinstance(message, str) and message.startswith("burst "):
                connection.transport.write(frames(int(message.split()[1])))
            else:
                await connection.send(message)

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", 0, ping_interval=None, max_size=None, compression=None
        ) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            print(port, flush=True)
            # Runs until the parent closes our stdin.
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


class _Server:
    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        return f"ws://127.0.0.1:{port}/"

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


# -- the clients: each returns (round trips/s, burst messages/s) ---------------------------


def _httpops(url: str, rounds: int, burst: int) -> tuple[float, float]:
    import httpops

    engine = httpops.Engine(httpops.Config(ws_ping_interval=None, ws_high_water=100_000))
    got = [0]

    def on_message(_ws: Any, _message: Any) -> None:
        got[0] += 1

    def pump_until(count: int) -> None:
        poll, wait = engine.poll, engine.events.wait_nonempty
        while got[0] < count:
            if not poll():
                wait(0.05)

    try:
        ws = engine.websocket(url, on_message=on_message)
        ws.send(MESSAGE)
        pump_until(1)  # open and warm up
        got[0] = 0
        started = time.perf_counter()
        for done in range(1, rounds + 1):
            ws.send(MESSAGE)
            pump_until(done)
        round_trips = rounds / (time.perf_counter() - started)
        got[0] = 0
        started = time.perf_counter()
        ws.send(f"burst {burst}")
        pump_until(burst)
        rate = burst / (time.perf_counter() - started)
        ws.close()
        engine.wait(ws.operation, timeout=5) if ws.operation is not None else None
    finally:
        engine.close()
    return round_trips, rate


def _blocking_rates(
    send: Callable[[str], Any], recv: Callable[[], Any], rounds: int, burst: int
) -> tuple[float, float]:
    """(round trips/s, burst msgs/s) of a blocking client, after one warm-up echo."""
    send(MESSAGE)
    recv()
    started = time.perf_counter()
    for _ in range(rounds):
        send(MESSAGE)
        recv()
    round_trips = rounds / (time.perf_counter() - started)
    started = time.perf_counter()
    send(f"burst {burst}")
    for _ in range(burst):
        recv()
    return round_trips, burst / (time.perf_counter() - started)


def _websocket_client(url: str, rounds: int, burst: int) -> tuple[float, float]:
    import websocket

    ws = websocket.create_connection(url)  # default settings: UTF-8 validation on
    try:
        return _blocking_rates(ws.send, ws.recv, rounds, burst)
    finally:
        ws.close()


def _websockets_sync(url: str, rounds: int, burst: int) -> tuple[float, float]:
    from websockets.sync.client import connect

    with connect(url, compression=None) as ws:
        return _blocking_rates(ws.send, ws.recv, rounds, burst)


CLIENTS: dict[str, Callable[[str, int, int], tuple[float, float]]] = {
    "httpops": _httpops,
    "websocket-client (raw)": _websocket_client,
    "websockets.sync": _websockets_sync,
}


def measure(quick: bool) -> dict[str, tuple[float, float]]:
    """Median (round trips/s, burst msgs/s) per client; runs interleaved."""
    runs, rounds, burst = (3, 500, 5_000) if quick else (7, 2_000, 20_000)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CLIENTS}
    with _Server() as url:
        for _ in range(runs):
            for name, client in CLIENTS.items():
                samples[name].append(client(url, rounds, burst))
    return {
        name: (
            statistics.median(rt for rt, _ in values),
            statistics.median(rate for _, rate in values),
        )
        for name, values in samples.items()
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """The WebSocket table (see the module docstring)."""
    figures = measure(quick)
    raw_rt, raw_burst = figures["websocket-client (raw)"]
    _, sync_burst = figures["websockets.sync"]
    rows = [
        [name, round(rt), rt / raw_rt, round(rate), rate / raw_burst, rate / sync_burst]
        for name, (rt, rate) in figures.items()
    ]
    ours_rt, ours_burst = figures["httpops"]
    verdict = (
        f"targets: round trips >= {TARGET_RT_VS_RAW}x raw "
        f"({'met' if ours_rt >= TARGET_RT_VS_RAW * raw_rt else 'MISSED'}); burst >= "
        f"{TARGET_BURST_VS_RAW}x raw "
        f"({'met' if ours_burst >= TARGET_BURST_VS_RAW * raw_burst else 'MISSED'}) and >= "
        f"{TARGET_BURST_VS_WEBSOCKETS}x websockets.sync "
        f"({'met' if ours_burst >= TARGET_BURST_VS_WEBSOCKETS * sync_burst else 'MISSED'})"
    )
    return [
        {
            "name": "websocket",
            "title": "WebSocket: 100-byte messages against a local echo server (medians)",
            "columns": [
                "client",
                "round trips/s",
                "x raw",
                "burst msgs/s",
                "x raw",
                "x websockets.sync",
            ],
            "rows": rows,
            "notes": [
                verdict,
                "httpops counts messages delivered to on_message through poll(); raw "
                "websocket-client uses its default settings (pure-Python UTF-8 validation on).",
                "The server runs in a subprocess; burst frames are pre-built and written at once.",
            ],
        }
    ]


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    _serve()
