"""The soak's mixed workload, driven from one host thread like a game loop.

Each tick the host tops the in-flight operations up to a bound, picking a
kind by weight: JSON GETs, JSON POSTs, byte GETs, downloads, image requests,
and *faults* (a reset mid-body, a stall past the timeout, a 503, broken
chunked encoding, a refused port, invalid JSON), *hostile* peers (a header
dripped under the stall timeout and an endless trailer flood, both ended by
a short deadline; at most two at a time, as each holds a worker until its
deadline), and *cookie floods* (each response sets 90 new cookies; the
engine's jar must stay bounded). A share of what starts is
canceled a few ticks later. A small pool of WebSockets echoes messages and
is recycled (closed when everything sent came back, then reopened); some
sockets go to a peer that drops the connection, and one at a time to a peer
that floods messages and ignores our close frame (the close must still end
within its bound, with one close event).

Everything runs against servers on 127.0.0.1 started here. Every completion
is counted per operation id, so the end of the run can check that each
operation completed exactly once, that no fault was reported as success, and
that no echoed WebSocket message was lost.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpops
from tests.servers import HTTPTestServer, RawTCPServer, WSTestServer
from tests.servers import misbehaving as mb
from tests.servers.hostile_http import cookie_flood, drip_phase, trailer_flood
from tests.servers.hostile_ws import Record, close_flood

__all__ = ["Servers", "Tally", "Workload"]

# Kind -> weight of the HTTP operations started each tick.
WEIGHTS = {
    "get_json": 30,
    "post_json": 20,
    "get_bytes": 10,
    "download": 8,
    "image": 6,
    "fault": 12,
    "hostile": 2,
    "cookies": 2,
}
FAULT_TIMEOUT = 0.5  # per-call stall timeout of the fault operations
CANCEL_SHARE = 0.05
FLOOD_CLOSE_BOUND = 5.0  # CLOSE_TIMEOUT (3 s) plus slack for a loaded machine
HOSTILE_DEADLINE = 0.8  # per-call deadline of the hostile operations (drips, floods)
MAX_HOSTILE = 2  # hostile operations live at once: each holds a worker until its deadline


class Servers:
    """The local servers the workload talks to; ``stop()`` ends them all."""

    def __init__(self) -> None:
        self.http = HTTPTestServer().start()
        self.ws = WSTestServer().start()
        self.faults = {
            "reset": RawTCPServer(mb.body_then_reset(50_000, 1000)).start(),
            "stall": RawTCPServer(mb.headers_then_stall(1000)).start(),
            "503": RawTCPServer(mb.status(503, [("Retry-After", "1")])).start(),
            "chunked": RawTCPServer(mb.broken_chunked).start(),
            "drip-header": RawTCPServer(drip_phase("header", interval=0.2)).start(),
            "trailer-flood": RawTCPServer(trailer_flood(seconds=3.0)).start(),
        }
        self.cookies = RawTCPServer(cookie_flood(10_000_000)).start()
        # A WebSocket peer that floods messages and ignores our close frame.
        self.close_flood = RawTCPServer(close_flood(Record())).start()
        with RawTCPServer(mb.never_answer) as gone:
            self.refused = f"{gone.base_url}/refused"

    def stop(self) -> None:
        self.http.stop()
        self.ws.stop()
        for server in self.faults.values():
            server.stop()
        self.cookies.stop()
        self.close_flood.stop()


@dataclass
class Tally:
    """Counts kept on the host thread (callbacks run there, so no lock)."""

    started: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    completions: Counter[int] = field(default_factory=Counter)
    faults: int = 0
    cookies_kept: int = 0  # the engine's jar after the run (bounded despite the floods)
    cancels: int = 0
    faults_succeeded: list[str] = field(default_factory=list)
    ws_opened: int = 0
    ws_closes: Counter[int] = field(default_factory=Counter)
    ws_sent: int = 0
    ws_received: int = 0
    ws_errors: int = 0
    ws_unexpected: list[str] = field(default_factory=list)
    floods_opened: int = 0  # sockets to the close-flood peer
    flood_closes: Counter[int] = field(default_factory=Counter)
    floods_slow: list[str] = field(default_factory=list)  # closes that overran their bound


class Workload:
    """Starts work each tick and counts how it ends; see the module docstring."""

    def __init__(self, engine: httpops.Engine, servers: Servers, rng: random.Random) -> None:
        self.engine = engine
        self.servers = servers
        self.rng = rng
        self.tally = Tally()
        self.live: dict[int, str] = {}  # id -> kind, until its completion
        self.to_cancel: list[tuple[float, httpops.Operation]] = []
        self.sockets: dict[int, dict[str, Any]] = {}  # ws id -> its counters
        self.floods: dict[int, float | None] = {}  # close-flood ws id -> when close() was called
        self.rss_samples: list[float] = []  # MiB, one a second
        self._n = 0
        self._kinds = list(WEIGHTS)
        self._weights = list(WEIGHTS.values())

    # -- HTTP --------------------------------------------------------------------------------

    def top_up(self, in_flight: int, budget: int) -> int:
        """Start operations until ``in_flight`` are live or ``budget`` ran out; how many."""
        started = 0
        while len(self.live) < in_flight and started < budget:
            kind = self.rng.choices(self._kinds, self._weights)[0]
            if kind == "hostile" and self._hostile_live() >= MAX_HOSTILE:
                kind = "fault"
            op = self._start(kind)
            self.live[op.id] = kind
            self.tally.started[kind] += 1
            started += 1
            if self.rng.random() < CANCEL_SHARE:
                self.to_cancel.append((time.monotonic() + self.rng.uniform(0, 0.05), op))
        return started

    def _start(self, kind: str) -> httpops.Operation:
        engine, base, done = self.engine, self.servers.http.base_url, self._done(kind)
        self._n += 1
        n = self._n
        if kind == "get_json":
            return engine.get_json(f"{base}/json", done)
        if kind == "post_json":
            return engine.post_json(f"{base}/echo", {"n": n, "items": list(range(n % 20))}, done)
        if kind == "get_bytes":
            return engine.get(f"{base}/bytes/{1024 * (1 + n % 32)}", done)
        if kind == "download":
            url = f"{base}/file/soak{n % 7}?size={4096 * (1 + n % 16)}"
            return engine.download(url, f"soak-{n % 24}.bin", done)
        if kind == "image":
            return engine.download_image(
                f"{base}/image/{('png', 'jpeg', 'gif')[n % 3]}?v={n % 40}", done
            )
        if kind == "cookies":
            return engine.get(f"{self.servers.cookies.base_url}/c{n}", done)
        self.tally.faults += 1
        if kind == "hostile":
            name = ("drip-header", "trailer-flood")[n % 2]
            url = f"{self.servers.faults[name].base_url}/h{n}"
            return engine.get(url, done, deadline=HOSTILE_DEADLINE)
        return self._fault(n, done)

    def _hostile_live(self) -> int:
        return sum(1 for kind in self.live.values() if kind == "hostile")

    def _fault(self, n: int, done: Callable[[Any], None]) -> httpops.Operation:
        engine, faults = self.engine, self.servers.faults
        which = n % 7
        if which == 0:
            return engine.get(self.servers.refused, done, timeout=FAULT_TIMEOUT)
        if which == 1:
            return engine.get_json(f"{self.servers.http.base_url}/json/bad", done)
        if which == 2:
            return engine.download(f"{faults['reset'].base_url}/f", f"fault-{n % 5}.bin", done)
        name = ("reset", "stall", "503", "chunked")[which - 3]
        return engine.get(f"{faults[name].base_url}/f{n}", done, timeout=FAULT_TIMEOUT)

    def _done(self, kind: str) -> Callable[[Any], None]:
        tally, live = self.tally, self.live

        def done(op: httpops.Operation) -> None:
            tally.completions[op.id] += 1
            tally.outcomes[f"{kind}:{op.state}"] += 1
            live.pop(op.id, None)
            if kind in ("fault", "hostile") and op.state is httpops.State.DONE:
                tally.faults_succeeded.append(op.url)

        return done

    def cancel_due(self, now: float) -> None:
        """Cancel the operations whose random cancel time has come."""
        due = [op for at, op in self.to_cancel if at <= now]
        if due:
            self.to_cancel = [(at, op) for at, op in self.to_cancel if at > now]
            for op in due:
                if op.cancel():
                    self.tally.cancels += 1

    # -- WebSockets --------------------------------------------------------------------------

    def tend_sockets(self, pool: int, closing: bool) -> None:
        """Keep ``pool`` echo sockets open, send on each, recycle finished ones."""
        if not closing:
            while sum(1 for s in self.sockets.values() if not s["closing"]) < pool:
                self._open_socket()
        for state in list(self.sockets.values()):
            ws, pending = state["ws"], state["sent"] - state["got"]
            if state["closing"] or ws.state != "open":
                continue
            if closing or state["sent"] >= state["quota"]:
                if pending == 0 or state["crash"]:
                    state["closing"] = True
                    ws.close()
            elif pending < 8:
                for _ in range(4):
                    if ws.send(f"m{state['sent']}"):
                        state["sent"] += 1
                        self.tally.ws_sent += 1

    def tend_flood(self, closing: bool) -> None:
        """Keep one socket open to the close-flood peer; close it at its first message.

        The peer ignores the close frame and keeps flooding: the close must still
        end within its bound (CLOSE_TIMEOUT, 3 s, plus slack) with one close event.
        """
        if closing or self.floods:
            return
        tally, floods = self.tally, self.floods

        def on_message(ws: Any, message: Any) -> None:
            if floods.get(ws.id, 0.0) is None:
                floods[ws.id] = time.monotonic()
                ws.close()

        def on_close(ws: Any, code: int, reason: str) -> None:
            tally.flood_closes[ws.id] += 1
            asked = floods.pop(ws.id, None)
            if asked is not None and time.monotonic() - asked > FLOOD_CLOSE_BOUND:
                tally.floods_slow.append(f"{ws.url}: close took {time.monotonic() - asked:.1f}s")

        ws = self.engine.websocket(
            f"ws://127.0.0.1:{self.servers.close_flood.port}/flood",
            on_message=on_message, on_close=on_close,
        )  # fmt: skip
        floods[ws.id] = None
        tally.floods_opened += 1

    def _open_socket(self) -> None:
        crash = self.rng.random() < 0.1  # a peer that drops the connection after a message
        tally, sockets = self.tally, self.sockets

        def on_message(ws: Any, message: Any) -> None:
            sockets[ws.id]["got"] += 1
            tally.ws_received += 1

        def on_close(ws: Any, code: int, reason: str) -> None:
            tally.ws_closes[ws.id] += 1
            state = sockets.pop(ws.id, None)
            if state is not None and state["crash"]:
                # What was in flight when the peer dropped is not echoed: not lost by us.
                tally.ws_sent -= state["sent"] - state["got"]
            elif ws.operation.state is not httpops.State.DONE:
                tally.ws_unexpected.append(f"{ws.url}: {ws.operation.error}")

        def on_error(ws: Any, error: Any) -> None:
            tally.ws_errors += 1

        path = "/echo-crash" if crash else "/echo"
        ws = self.engine.websocket(
            self.servers.ws.url(path), on_message=on_message, on_close=on_close, on_error=on_error
        )
        tally.ws_opened += 1
        quota = 1 if crash else self.rng.randint(20, 200)
        sockets[ws.id] = {"ws": ws, "sent": 0, "got": 0, "quota": quota, "closing": False,
                          "crash": crash}  # fmt: skip


def make_config(root: str) -> httpops.Config:
    """Engine settings for the soak: short stalls, directories under ``root``."""
    return httpops.Config(
        connect_timeout=2.0,
        read_timeout=2.0,
        deadline=30.0,
        max_workers=16,
        progress_interval=0.05,
        downloads_dir=f"{root}/downloads",
        image_cache_dir=f"{root}/images",
        ws_ping_interval=1.0,
        ws_ping_timeout=2.0,
    )


def temp_root() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory for downloads and the image cache."""
    return tempfile.TemporaryDirectory(prefix="httpops-soak-")
