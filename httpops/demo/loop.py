"""The demo game loop: a fixed-rate frame loop that talks HTTP through the ``HTTP`` facade.

Everything here runs on one thread, the loop's. Each frame it fires the
requests its script holds for that frame, moves a pretend sprite, and calls
``poll(budget=...)`` so that ready callbacks run *here*, between frames'
work, and never hold a frame longer than the budget. Worker threads inside
the engine do the network I/O; this module never touches them.

It uses only the public API (``import httpops``): the OTClient-shaped
:class:`httpops.HTTPFacade` for requests and callbacks, and its ``engine``
for the once-per-frame ``poll``.

The script is a table of ``frame -> actions`` built up front from times in
seconds, so the same demo runs at any frame rate and length, and later
additions (downloads, images, a WebSocket) are more rows in the same table.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpops

from .stats import Samples

__all__ = ["DemoGame", "DemoReport", "Shot"]

Action = Callable[[], None]

#: What a deliberate failure's error string starts with (OTCv8's phrase).
FAIL_PHRASE = "Invalid http status code (500)"


@dataclass
class Shot:
    """One request the demo fired, and what became of it.

    ``expect`` is ``"ok"``, ``"error"`` (the error must start with
    ``expect_error``) or ``"cancel"`` (its callback must never run).
    """

    label: str
    frame: int
    fired_at: float
    expect: str = "ok"
    expect_error: str = ""
    op_id: int = 0
    canceled: bool = False
    landed_frame: int | None = None
    latency: float = 0.0
    err: str | None = None
    thread: str = ""
    on_loop_thread: bool = False

    @property
    def landed(self) -> bool:
        """Whether its callback ran."""
        return self.landed_frame is not None

    @property
    def as_expected(self) -> bool:
        """Whether the outcome matches the expectation (so far, for a cancel)."""
        if self.expect == "cancel":
            return self.canceled and not self.landed
        if not self.landed or not self.on_loop_thread:
            return False
        if self.expect == "ok":
            return self.err is None
        return self.err is not None and self.err.startswith(self.expect_error)


@dataclass
class DemoReport:
    """What a demo run did: the shots, frame and poll timings, listener counts."""

    shots: list[Shot]
    frame_times: Samples
    poll_times: Samples
    elapsed: float
    fps: float
    listener_calls: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False

    @property
    def frames(self) -> int:
        """Frames run (one more than the intervals measured)."""
        return len(self.poll_times)

    @property
    def failed(self) -> list[Shot]:
        """Shots whose outcome is not the expected one (missing ones included)."""
        return [shot for shot in self.shots if not shot.as_expected]

    @property
    def exit_code(self) -> int:
        """0 when every expected result arrived as expected; 130 on Ctrl-C; else 1."""
        if self.interrupted:
            return 130
        needed = {"ok", "error", "cancel"}
        if not self.shots or needed - {s.expect for s in self.shots} or self.failed:
            return 1
        return 0


def _short(data: Any, width: int = 70) -> str:
    """One-line rendering of a callback's data, cut to ``width`` characters."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


class DemoGame:
    """A fixed-rate loop firing scripted requests through ``http``.

    Args:
        http: The facade to use (``httpops.HTTP`` or ``HTTPFacade(engine)``).
        base_url: The demo server's ``http://127.0.0.1:<port>``.
        seconds: How long to fire and run; the loop then waits up to
            ``grace`` more seconds for results still in flight.
        fps: Frames per second.
        budget: Seconds ``poll`` may spend per frame.
        out: Where the lines go.
        clock, sleep: Injectable time (monotonic) and frame sleep.
    """

    def __init__(
        self,
        http: httpops.HTTPFacade,
        base_url: str,
        *,
        seconds: float = 4.0,
        fps: float = 60.0,
        budget: float = 0.002,
        grace: float = 3.0,
        out: TextIO = sys.stdout,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.seconds = seconds
        self.fps = fps
        self.budget = budget
        self.grace = grace
        self.out = out
        self.clock = clock
        self.sleep = sleep
        self.frame = 0
        self.sprite_x = 0.0
        self.shots: list[Shot] = []
        self.listener_calls: Counter[str] = Counter()
        self._loop_ident = threading.get_ident()
        self._to_cancel: Shot | None = None
        self._script = self._build_script()

    # -- the script ------------------------------------------------------------------

    def _at(self, seconds: float) -> int:
        """The frame number (from 1) at which ``seconds`` into the run falls."""
        return 1 + int(seconds * self.fps)

    def _build_script(self) -> dict[int, list[Action]]:
        script: dict[int, list[Action]] = {}

        def add(seconds: float, action: Action) -> None:
            script.setdefault(self._at(seconds), []).append(action)

        add(0.0, lambda: self.get_json("/api/highscores"))
        add(0.0, lambda: self.post_json("/api/echo", {"hello": "from frame 1"}))
        # A slow (throttled) 1 MiB body: still arriving when it is canceled.
        add(0.02, lambda: self.get("/files/1m?rate=262144", expect="cancel"))
        add(0.12, lambda: self.get_json("/api/fail", expect="error", expect_error=FAIL_PHRASE))
        add(0.2, lambda: self.get_json("/api/slow?delay=0.3"))
        add(0.33, self.cancel_download)
        # Steady traffic every ~1/6 s until 70% of the run, cycling the four calls.
        kinds: list[Callable[[int], None]] = [
            lambda n: self.get_json(f"/api/player/{1 + n * 7 % 99}"),
            lambda n: self.post_json("/api/echo", {"frame": self.frame, "x": self.sprite_x}),
            lambda n: self.get("/api/highscores"),
            lambda n: self.post("/api/echo", f"name=knight&frame={self.frame}"),
        ]
        n, t = 0, 0.08
        while t <= self.seconds * 0.7:
            add(t, functools.partial(kinds[n % len(kinds)], n))
            n, t = n + 1, t + 1 / 6
        return script

    # -- firing requests (each one is a Shot) ----------------------------------------

    def _shot(self, label: str, expect: str, expect_error: str) -> Shot:
        shot = Shot(label, self.frame, self.clock(), expect, expect_error)
        self.shots.append(shot)
        return shot

    def _landed(self, shot: Shot) -> Callable[[Any, str | None], None]:
        """The ``callback(data, err)`` for ``shot``: record and print one line."""

        def callback(data: Any, err: str | None) -> None:
            shot.landed_frame = self.frame
            shot.latency = self.clock() - shot.fired_at
            shot.err = err
            shot.thread = threading.current_thread().name
            shot.on_loop_thread = threading.get_ident() == self._loop_ident
            result = f"ERROR {err}" if err is not None else _short(data)
            self.say(f"#{shot.op_id:<3} {shot.label} -> {result} ({shot.latency * 1000:.1f} ms)")

        return callback

    def get(self, path: str, expect: str = "ok", expect_error: str = "") -> None:
        """``HTTP.get``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"get {path}", expect, expect_error)
        shot.op_id = self.http.get(self.base_url + path, self._landed(shot))

    def get_json(self, path: str, expect: str = "ok", expect_error: str = "") -> None:
        """``HTTP.getJSON``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"getJSON {path}", expect, expect_error)
        shot.op_id = self.http.getJSON(self.base_url + path, self._landed(shot))
        if expect == "error":
            self.say(f"#{shot.op_id:<3} fired {shot.label} (this one fails on purpose)")

    def post(self, path: str, data: str) -> None:
        """``HTTP.post`` with a form string. Thread-safety: the loop's thread."""
        shot = self._shot(f"post {path}", "ok", "")
        shot.op_id = self.http.post(self.base_url + path, data, self._landed(shot))

    def post_json(self, path: str, data: Any) -> None:
        """``HTTP.postJSON``: fire and record. Thread-safety: the loop's thread."""
        shot = self._shot(f"postJSON {path}", "ok", "")
        shot.op_id = self.http.postJSON(self.base_url + path, data, self._landed(shot))

    def cancel_download(self) -> None:
        """``HTTP.cancel`` the throttled download. Thread-safety: the loop's thread."""
        target = next((s for s in self.shots if s.expect == "cancel"), None)
        if target is None:
            return
        op = self.http.operations.get(target.op_id)
        received = op.received if op is not None else 0
        canceled = target.canceled = self.http.cancel(target.op_id)
        self.say(
            f"#{target.op_id:<3} HTTP.cancel -> {canceled} after {received} bytes "
            f"of {target.label}; its callback will not run"
        )

    # -- the loop --------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Print one line tagged with the frame and thread. Thread-safety: the loop's."""
        where = f"[frame {self.frame:>4} {threading.current_thread().name}]"
        print(f"{where} {text}", file=self.out, flush=True)

    def _count(self, name: str) -> Callable[..., None]:
        def listener(*_args: Any) -> None:
            self.listener_calls[name] += 1

        return listener

    def _pending(self) -> bool:
        return any(not s.landed for s in self.shots if s.expect != "cancel")

    def run(self) -> DemoReport:
        """Run the loop on this thread until the time is up and results are in.

        Thread-safety: the thread that created the game (its callbacks run here).
        """
        self._loop_ident = threading.get_ident()
        self.http.onGet = self._count("HTTP.onGet")
        self.http.onPost = self._count("HTTP.onPost")
        engine = self.http.engine
        frame_times, poll_times = Samples(), Samples()
        period = 1.0 / self.fps
        last_frame = self._at(self.seconds) - 1
        give_up = self._at(self.seconds + self.grace)
        started = next_at = self.clock()
        previous: float | None = None
        interrupted = False
        try:
            while True:
                now = self.clock()
                if previous is not None:
                    frame_times.add(now - previous)
                previous = now
                self.frame += 1
                for action in self._script.get(self.frame, ()):
                    action()
                self.sprite_x = (self.sprite_x + 120.0 * period) % 640.0  # the "game"
                t0 = self.clock()
                engine.poll(budget=self.budget)
                poll_times.add(self.clock() - t0)
                if self.frame >= give_up or (self.frame >= last_frame and not self._pending()):
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
            self.http.onGet = self.http.onPost = None
        return DemoReport(
            self.shots, frame_times, poll_times, self.clock() - started, self.fps,
            self.listener_calls, interrupted,
        )  # fmt: skip


def print_summary(report: DemoReport, out: TextIO) -> None:
    """Print the end-of-run summary: frame times, counts and the verdict."""
    shots = report.shots
    ok = sum(1 for s in shots if s.expect == "ok" and s.as_expected)
    failed = sum(1 for s in shots if s.expect == "error" and s.as_expected)
    canceled = sum(1 for s in shots if s.expect == "cancel" and s.as_expected)
    landed = [s for s in shots if s.landed]
    on_loop = sum(1 for s in landed if s.on_loop_thread)
    fps = report.frames / report.elapsed if report.elapsed > 0 else 0.0
    budget = 1.0 / report.fps
    lines = [
        "--- summary ---",
        f"frames       {report.frames} in {report.elapsed:.2f} s ({fps:.1f} fps, "
        f"target {report.fps:g})",
        f"frame time   {report.frame_times.describe(2)}  "
        f"({report.frame_times.over(budget * 1.5)} over {budget * 1.5 * 1000:.1f} ms)",
        f"poll() time  {report.poll_times.describe(3)}",
        f"requests     {len(shots)} fired: {ok} ok, {failed} failed as expected, "
        f"{canceled} canceled (callback never ran)",
        f"callbacks    {on_loop} of {len(landed)} ran on the loop thread",
        "listeners    "
        + ", ".join(f"{name} x{count}" for name, count in sorted(report.listener_calls.items())),
    ]
    lines += [f"NOT AS EXPECTED: {s.label} (expected {s.expect})" for s in report.failed]
    verdict = {0: "OK", 130: "INTERRUPTED"}.get(report.exit_code, "FAILED")
    lines.append(f"result       {verdict} (exit {report.exit_code})")
    print("\n".join(lines), file=out, flush=True)
