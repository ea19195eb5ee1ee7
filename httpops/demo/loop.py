"""The demo game loop: a fixed-rate frame loop that talks HTTP through the ``HTTP`` facade.

Everything here runs on one thread, the loop's. Each frame it fires the
operations its script holds for that frame, moves a sprite, calls
``poll(budget=...)`` so that ready callbacks run *here*, between frames'
work, and never hold a frame longer than the budget, then hands the frame to
a view (a ``rich`` panel, plain lines, or a pygame window). Worker threads
inside the engine do the network I/O; this module never touches them.

It uses only the public API: the OTClient-shaped :class:`httpops.HTTPFacade`
for requests, downloads, images and the WebSocket, and its ``engine`` for
``poll`` and for the owner scopes of the two scenes ("town", then
"dungeon"): leaving the town closes its scope, which cancels what it still
had in flight and guarantees none of those callbacks ever runs.

The script is a table of ``frame -> actions`` built up front from times
given as fractions of the run, so the same demo runs at any frame rate and
length (``--seconds 1`` in tests, 15 by default).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol, TextIO

import httpops

from .server import file_bytes
from .shots import DemoReport, Shot
from .stats import Samples
from .summary import human_rate

__all__ = ["DemoGame", "PlainView", "View"]

Action = Callable[[], object]

#: What a deliberate failure's error string starts with (OTCv8's phrase).
FAIL_PHRASE = "Invalid http status code (500)"
#: Lines the player types in the chat, in order.
CHAT_LINES = ("hello everyone", "any news from the east?", "see you in the dungeon")
#: Files downloaded (sizes as the server spells them) and the one that is canceled.
DOWNLOADS = (("1m", 1 << 20), ("2m", 2 << 20), ("4m", 4 << 20))
CANCELED_DOWNLOAD = ("8m", 8 << 20)
#: The background "patch": capped on our side (rate_limit=), queued at a low priority.
PATCH_DOWNLOAD = ("1m", 1 << 20)
PATCH_PRIORITY = -1
#: The login that jumps ahead of queued background work.
LOGIN_PRIORITY = 10
IMAGES = (1, 2, 3, 4)


class View(Protocol):
    """Where the demo shows itself; every method runs on the loop's thread."""

    def start(self) -> None:
        """Before the first frame."""

    def stop(self, game: DemoGame | None = None) -> None:
        """After the last frame (draw it one last time if ``game`` is given)."""

    def line(self, text: str) -> None:
        """One event worth a line in the log."""

    def frame(self, game: DemoGame) -> bool:
        """Draw the frame (rate-limiting as it likes); False asks the loop to stop."""


class PlainView:
    """Plain lines on a text stream: what pipes, CI logs and tests see."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out: TextIO | None = out

    def start(self) -> None:
        """Nothing to set up. Thread-safety: the loop's thread."""

    def stop(self, game: DemoGame | None = None) -> None:
        """Nothing to tear down. Thread-safety: the loop's thread."""

    def line(self, text: str) -> None:
        """Print ``text``. Thread-safety: the loop's thread."""
        if self.out is None:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:  # `... | head`: the reader is gone; the demo goes on
            self.out = None

    def frame(self, game: DemoGame) -> bool:
        """Nothing to redraw. Thread-safety: the loop's thread."""
        return True


def _short(data: Any, width: int = 70) -> str:
    """One-line rendering of a callback's data, cut to ``width`` characters."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def crc32_hex(data: bytes) -> str:
    """CRC32 as the facade reports a download's checksum: 8 lowercase hex digits."""
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


class DemoGame:
    """A fixed-rate loop firing scripted operations through ``http``.

    Args:
        http: The facade to use (``httpops.HTTP`` or ``HTTPFacade(engine)``).
        base_url: The demo server's ``http://127.0.0.1:<port>``.
        ws_url: Its ``ws://127.0.0.1:<port>`` ("" skips the WebSocket part).
        seconds: How long to fire and run; the loop then waits up to
            ``grace`` more seconds for results still in flight.
        fps: Frames per second.
        budget: Seconds ``poll`` may spend per frame.
        view: Where lines and frames go (default: plain lines on stdout).
        clock, sleep: Injectable time (monotonic) and frame sleep.
    """

    def __init__(
        self,
        http: httpops.HTTPFacade,
        base_url: str,
        *,
        ws_url: str = "",
        seconds: float = 15.0,
        fps: float = 60.0,
        budget: float = 0.002,
        grace: float = 5.0,
        view: View | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.ws_url = ws_url
        self.seconds = seconds
        self.fps = fps
        self.budget = budget
        self.grace = grace
        self.view: View = view or PlainView()
        self.clock = clock
        self.sleep = sleep
        self.frame = 0
        self.last_frame = self._at(seconds) - 1
        self.sprite_x = 0.0
        self.scene = "town"
        self.shots: list[Shot] = []
        self.chat: deque[str] = deque(maxlen=12)
        self.frame_times = Samples()
        self.poll_times = Samples()
        self.listener_calls: Counter[str] = Counter()
        self.notes: list[str] = []
        self._loop_ident = threading.get_ident()
        self._scope: Any = None
        self._socket: Any = None
        self._expected_crc = {size: crc32_hex(file_bytes(size)) for _, size in DOWNLOADS}
        self._script = self._build_script()

    # -- the script ------------------------------------------------------------------

    def _at(self, seconds: float) -> int:
        """The frame number (from 1) at which ``seconds`` into the run falls."""
        return 1 + int(seconds * self.fps)

    def _build_script(self) -> dict[int, list[Action]]:
        script: dict[int, list[Action]] = {}
        run = self.seconds

        def add(fraction: float, action: Action) -> None:
            script.setdefault(self._at(fraction * run), []).append(action)

        add(0.0, lambda: self.get_json("/api/highscores"))
        add(0.0, lambda: self.post_json("/api/echo", {"hello": "from frame 1"}))
        add(0.0, self.enter_town)
        if self.ws_url:
            add(0.0, self.open_chat)
            for n, text in enumerate(CHAT_LINES):
                add(0.15 + 0.2 * n, functools.partial(self.say_in_chat, text))
            add(0.75, self.close_chat)
        for n in IMAGES:
            add(0.05, functools.partial(self.image, n))
            add(0.6, functools.partial(self.image, n))  # again: served by the cache
        add(0.08, self.start_doomed_download)
        for n, (name, size) in enumerate(DOWNLOADS):
            add(0.1 + 0.05 * n, functools.partial(self.download, name, size))
        # After the four download workers are taken: the patch queues, and 4m,
        # started later at priority 0, still goes before it.
        add(0.16, self.start_patch)
        add(0.12, self.login)
        add(0.12, lambda: self.get_json("/api/fail", expect="error", expect_error=FAIL_PHRASE))
        add(0.2, lambda: self.get_json("/api/slow?delay=0.3"))
        add(0.3, self.cancel_download)
        add(0.5, self.enter_dungeon)
        # Steady traffic every ~1/6 s until 70% of the run, cycling the four calls.
        kinds: list[Callable[[int], None]] = [
            lambda n: self.get_json(f"/api/player/{1 + n * 7 % 99}"),
            lambda n: self.post_json("/api/echo", {"frame": self.frame, "x": self.sprite_x}),
            lambda n: self.get("/api/highscores"),
            lambda n: self.post("/api/echo", f"name=knight&frame={self.frame}"),
        ]
        n, t = 0, 0.08
        while t <= run * 0.7:
            script.setdefault(self._at(t), []).append(functools.partial(kinds[n % len(kinds)], n))
            n, t = n + 1, t + 1 / 6
        return script

    # -- firing requests (each one is a Shot) ----------------------------------------

    def _shot(self, label: str, expect: str = "ok", expect_error: str = "", **kw: Any) -> Shot:
        shot = Shot(label, self.frame, self.clock(), expect, expect_error, **kw)
        self.shots.append(shot)
        return shot

    def _land(self, shot: Shot, err: str | None, result: str) -> None:
        """Record that ``shot``'s callback ran (here, on the loop thread) and log it."""
        shot.landed_frame = self.frame
        shot.latency = self.clock() - shot.fired_at
        shot.err = err if shot.err is None else shot.err
        shot.thread = threading.current_thread().name
        shot.on_loop_thread = threading.get_ident() == self._loop_ident
        shown = f"ERROR {shot.err}" if shot.err is not None else result
        self.say(f"#{shot.op_id:<3} {shot.label} -> {shown} ({shot.latency * 1000:.1f} ms)")

    def _landed(self, shot: Shot) -> Callable[[Any, str | None], None]:
        """The ``callback(data, err)`` of a facade request."""
        return lambda data, err: self._land(shot, err, _short(data))

    def get(self, path: str) -> None:
        """``HTTP.get``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"get {path}")
        shot.op_id = self.http.get(self.base_url + path, self._landed(shot))

    def get_json(self, path: str, expect: str = "ok", expect_error: str = "") -> None:
        """``HTTP.getJSON``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"getJSON {path}", expect, expect_error)
        shot.op_id = self.http.getJSON(self.base_url + path, self._landed(shot))
        if expect == "error":
            self.say(f"#{shot.op_id:<3} fired {shot.label} (this one fails on purpose)")

    def post(self, path: str, data: str) -> None:
        """``HTTP.post`` with a form string. Thread-safety: the loop's thread."""
        shot = self._shot(f"post {path}")
        shot.op_id = self.http.post(self.base_url + path, data, self._landed(shot))

    def post_json(self, path: str, data: Any) -> None:
        """``HTTP.postJSON``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"postJSON {path}")
        shot.op_id = self.http.postJSON(self.base_url + path, data, self._landed(shot))

    def _rate(self, size: int, share: float) -> int:
        """A throttle (bytes/s) that makes ``size`` bytes last ``share`` of the run."""
        return max(4096, int(size / (share * self.seconds)))

    def download(self, name: str, size: int, expect: str = "ok") -> Shot:
        """``HTTP.download`` a throttled file, checking its CRC32. Thread-safety: the loop's."""
        shot = self._shot(f"download {name}", expect, kind="download", size=size)
        url = f"{self.base_url}/files/{name}?rate={self._rate(size, 0.45)}"

        def finished(path: str | None, checksum: str | None, err: str | None) -> None:
            shot.checksum, shot.path = checksum or "", path or ""
            shot.progress = 100.0 if err is None else shot.progress
            want = self._expected_crc.get(size)
            if err is None and want is not None and checksum != want:
                err = f"checksum {checksum} != expected {want}"
            self._land(shot, err, f"{os.path.basename(path or '')} crc32={checksum}")

        def progressed(progress: float | None, speed: float) -> None:
            shot.progress, shot.speed = progress, speed

        shot.op_id = self.http.download(url, f"demo-{name}.bin", finished, progressed)
        return shot

    def start_patch(self) -> None:
        """A background download capped by ``rate_limit=`` and queued at a low priority.

        The server sends it at full speed: the cap is ours, applied on the
        worker. At ``priority=-1`` it waits behind the other downloads that
        queue for the four download workers, even ones started after it.
        """
        name, size = PATCH_DOWNLOAD
        cap = self._rate(size, 0.4)
        label = f"patch {name} (rate_limit, priority {PATCH_PRIORITY})"
        shot = self._shot(label, kind="download", size=size, priority=PATCH_PRIORITY, cap=cap)

        def finished(op: httpops.Operation) -> None:
            shot.checksum, shot.path = op.checksum or "", op.path or ""
            err = _err(op)
            shot.progress = 100.0 if err is None else shot.progress
            want = self._expected_crc.get(size)
            if err is None and want is not None and op.checksum != want:
                err = f"checksum {op.checksum} != expected {want}"
            self._land(shot, err, f"{os.path.basename(shot.path)} crc32={op.checksum}")

        def progressed(op: httpops.Operation) -> None:
            if shot.progress is None:
                waited = self.clock() - shot.fired_at
                self.say(f"#{shot.op_id:<3} {shot.label.split(' (')[0]} started after "
                         f"{waited * 1000:.0f} ms in the queue")  # fmt: skip
            shot.progress, shot.speed = op.progress or 0.0, op.speed

        shot.op_id = self.http.engine.download(
            f"{self.base_url}/files/{name}", "demo-patch.bin", finished, progressed,
            priority=PATCH_PRIORITY, rate_limit=cap,
        ).id  # fmt: skip
        self.say(f"#{shot.op_id:<3} queued {label} at {human_rate(cap)}")

    def login(self) -> None:
        """A login POST at a high priority: it never waits behind queued background work."""
        shot = self._shot(f"login (priority {LOGIN_PRIORITY})", priority=LOGIN_PRIORITY)
        shot.op_id = self.http.engine.post_json(
            f"{self.base_url}/api/echo", {"login": "knight"},
            lambda op: self._land(shot, _err(op), _short(op.value)), priority=LOGIN_PRIORITY,
        ).id  # fmt: skip

    def start_doomed_download(self) -> None:
        """A big, slow download that :meth:`cancel_download` cancels part-way."""
        name, size = CANCELED_DOWNLOAD
        shot = self.download(name, size, expect="cancel")
        shot.label += " (canceled part-way on purpose)"

    def cancel_download(self) -> None:
        """``HTTP.cancel`` the doomed download. Thread-safety: the loop's thread."""
        target = next((s for s in self.shots if s.expect == "cancel"), None)
        if target is None:
            return
        canceled = target.canceled = self.http.cancel(target.op_id)
        done = f"{target.progress or 0:.0f}%"
        self.say(f"#{target.op_id:<3} HTTP.cancel -> {canceled} at {done} of {target.label}")
        self.say(f"#{target.op_id:<3} its callback will not run and no partial file is left")

    def image(self, n: int) -> None:
        """``HTTP.downloadImage``; the second call for a URL is served from the cache."""
        url = f"{self.base_url}/images/{n}.png"
        again = url in self.http.images
        shot = self._shot(f"image {n}.png" + (" (cache)" if again else ""), kind="image")

        def finished(path: str | None, err: str | None) -> None:
            shot.path = path or ""
            name = os.path.basename(shot.path)
            self._land(shot, err, f"cached as {name[:12]}...{name[-4:]}")

        shot.op_id = self.http.downloadImage(url, finished)

    # -- scenes: owner scopes --------------------------------------------------------

    def enter_town(self) -> None:
        """Scene 1: its scope starts work that is still in flight when the player leaves."""
        engine = self.http.engine
        self.scene, self._scope = "town", engine.scope()
        slow = self._shot("town: shopkeeper (slow answer)", "scope", kind="request")
        slow.op_id = self._scope.get_json(
            f"{self.base_url}/api/slow?delay=30", lambda op: self._land(slow, None, "answer")
        ).id
        name, size = "2m", 2 << 20
        town_map = self._shot("town: map download", "scope", kind="download", size=size)

        def progressed(op: httpops.Operation) -> None:
            town_map.progress, town_map.speed = op.progress, op.speed

        town_map.op_id = self._scope.download(
            f"{self.base_url}/files/{name}?rate={self._rate(size, 4.0)}", "demo-town-map.bin",
            lambda op: self._land(town_map, None, "map"), progressed,
        ).id  # fmt: skip

    def enter_dungeon(self) -> None:
        """Scene 2: leaving the town closes its scope; its callbacks never run."""
        left = self._scope.operations if self._scope is not None else []
        owned = {op.id for op in left}
        if self._scope is not None:
            self._scope.close()
        for shot in self.shots:
            if shot.expect == "scope" and shot.op_id in owned and not shot.landed:
                shot.canceled = True
        self.say(f"scene town -> dungeon: scope.close() canceled {len(owned)} operations")
        self.scene, self._scope = "dungeon", self.http.engine.scope()
        for n in (13, 42):
            shot = self._shot(f"dungeon: getJSON /api/player/{n}")
            shot.op_id = self._scope.get_json(
                f"{self.base_url}/api/player/{n}",
                functools.partial(lambda s, op: self._land(s, _err(op), _short(op.value)), shot),
            ).id

    # -- the WebSocket conversation --------------------------------------------------

    def open_chat(self) -> None:
        """``HTTP.webSocket`` to the chat room. Thread-safety: the loop's thread."""
        want = 1 + 2 * len(CHAT_LINES)  # the welcome, then each line's echo and npc reply
        shot = self._shot("webSocket /chat", kind="websocket", want_messages=want)

        def on_message(message: str, _op_id: int) -> None:
            shot.messages += 1
            self.chat.append(f"< {message}")

        def on_error(message: str, _op_id: int) -> None:
            shot.err = shot.err or message

        def on_close(message: str, _op_id: int) -> None:
            if message != "1000":
                shot.err = shot.err or f"closed with {message}"
            self._land(shot, None, f"closed {message} after {shot.messages} messages")

        callbacks = {
            "onOpen": lambda url, _id: self.chat.append(f"* connected to {url}"),
            "onMessage": on_message,
            "onError": on_error,
            "onClose": on_close,
        }
        self._socket = self.http.webSocket(f"{self.ws_url}/chat?name=knight", callbacks)
        shot.op_id = self._socket.id

    def say_in_chat(self, text: str) -> None:
        """Send one chat line (queued if the socket is not open yet)."""
        if self._socket is not None:
            self._socket.send(text)
            self.chat.append(f"> {text}")

    def close_chat(self) -> None:
        """Close the socket with 1000; ``onClose`` follows once."""
        if self._socket is not None:
            self._socket.close()

    # -- the loop --------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Log one line tagged with the frame and thread. Thread-safety: the loop's."""
        where = f"[frame {self.frame:>4} {threading.current_thread().name}]"
        self.view.line(f"{where} {text}")

    def _count(self, name: str) -> Callable[..., None]:
        def listener(*_args: Any) -> None:
            self.listener_calls[name] += 1

        return listener

    def pending(self) -> bool:
        """Whether a result the demo waits for has not arrived yet."""
        return any(not s.landed for s in self.shots if s.expect not in ("cancel", "scope"))

    def _step(self, period: float) -> bool:
        """One frame: fire, move, poll, draw. False when the run is over."""
        self.frame += 1
        for action in self._script.get(self.frame, ()):
            action()
        self.sprite_x = (self.sprite_x + 120.0 * period) % 640.0  # the "game"
        t0 = self.clock()
        self.http.engine.poll(budget=self.budget)
        self.poll_times.add(self.clock() - t0)
        if not self.view.frame(self):
            raise KeyboardInterrupt  # the window was closed: end like Ctrl-C
        give_up = self._at(self.seconds + self.grace)
        return not (self.frame >= give_up or (self.frame >= self.last_frame and not self.pending()))

    def run(self) -> DemoReport:
        """Run the loop on this thread until the time is up and results are in.

        Thread-safety: the thread that created the game (its callbacks run here).
        """
        self._loop_ident = threading.get_ident()
        _warm_up()
        for name in ("onGet", "onPost", "onDownload"):
            setattr(self.http, name, self._count(f"HTTP.{name}"))
        period = 1.0 / self.fps
        started = next_at = self.clock()
        previous: float | None = None
        interrupted = False
        try:
            while True:
                now = self.clock()
                if previous is not None:
                    self.frame_times.add(now - previous)
                previous = now
                if not self._step(period):
                    break
                next_at += period
                delay = next_at - self.clock()
                if delay > 0:
                    self.sleep(delay)
                elif delay < -period:
                    next_at = self.clock()  # fell behind: do not sprint to catch up
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self.http.onGet = self.http.onPost = self.http.onDownload = None
            if self._scope is not None:
                self._scope.close()
        return DemoReport(
            self.shots, self.frame_times, self.poll_times, self.clock() - started, self.fps,
            self.listener_calls, interrupted, notes=self.notes,
        )  # fmt: skip


def _warm_up() -> None:
    """Import what the engine loads on first use, as a game's loading screen would.

    ``Engine.download``, ``download_image`` and ``websocket`` import their
    modules on the first call; done inside frame 1 that shows up as a 40 ms
    frame that says nothing about the loop.
    """
    for name in ("httpops._download", "httpops._images", "httpops._websocket"):
        importlib.import_module(name)


def _err(op: httpops.Operation) -> str | None:
    return None if op.error is None else str(op.error)
