"""What the demo fired and what became of it: :class:`Shot` and :class:`DemoReport` (pure).

A shot is one operation the demo started (a request, a download, an image,
the WebSocket conversation) with what it expects: ``"ok"``, ``"error"`` (the
error must start with a given phrase), ``"cancel"`` (``HTTP.cancel``: its
callback must never run) or ``"scope"`` (owned by a scene that was left:
canceled by ``Scope.close()``, its callback must never run). The report
turns the shots and the frame timings into the verdict and the exit code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .stats import Samples

__all__ = ["EXPECTATIONS", "DemoReport", "Shot"]

#: Every kind of outcome a full run must show at least once.
EXPECTATIONS = frozenset({"ok", "error", "cancel", "scope"})


@dataclass
class Shot:
    """One operation the demo started, and what became of it.

    Downloads also carry ``size``, ``progress`` (0-100 or None), ``speed``
    (bytes/s), ``checksum`` and ``path`` (images too); the WebSocket conversation counts
    ``messages`` and wants at least ``want_messages``. ``priority`` is the
    operation's ``priority=`` and ``cap`` a download's ``rate_limit=`` (0: none).
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
    kind: str = "request"
    size: int = 0
    progress: float | None = None
    speed: float = 0.0
    checksum: str = ""
    path: str = ""
    messages: int = 0
    want_messages: int = 0
    priority: int = 0
    cap: int = 0

    @property
    def landed(self) -> bool:
        """Whether its callback ran."""
        return self.landed_frame is not None

    @property
    def as_expected(self) -> bool:
        """Whether the outcome matches the expectation (so far, for a cancel)."""
        if self.expect in ("cancel", "scope"):
            return self.canceled and not self.landed and self.err is None
        if not self.landed or not self.on_loop_thread:
            return False
        if self.expect == "ok":
            return self.err is None and self.messages >= self.want_messages
        return self.err is not None and self.err.startswith(self.expect_error)

    @property
    def state(self) -> str:
        """``"in flight"``, ``"done"``, ``"failed"`` or ``"canceled"``, for display."""
        if self.canceled and not self.landed:
            return "canceled"
        if not self.landed:
            return "in flight"
        return "failed" if self.err is not None else "done"


@dataclass
class DemoReport:
    """What a demo run did: the shots, frame and poll timings, listener counts.

    ``interrupted`` is True when Ctrl-C ended the run early: shots still in
    flight then are not held against it (``abandoned``), but every result
    that did arrive must still be as expected.
    """

    shots: list[Shot]
    frame_times: Samples
    poll_times: Samples
    elapsed: float
    fps: float
    listener_calls: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    image_requests: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Frames run (one more than the intervals measured)."""
        return len(self.poll_times)

    @property
    def abandoned(self) -> list[Shot]:
        """Shots still in flight when Ctrl-C ended the run (empty otherwise)."""
        if not self.interrupted:
            return []
        return [s for s in self.shots if not s.landed and not s.as_expected and s.err is None]

    @property
    def failed(self) -> list[Shot]:
        """Shots whose outcome is not the expected one (missing ones included)."""
        abandoned = {id(s) for s in self.abandoned}
        return [s for s in self.shots if not s.as_expected and id(s) not in abandoned]

    @property
    def exit_code(self) -> int:
        """0 when every expected result arrived as expected, else 1.

        A run ended early with Ctrl-C exits 0 if what did arrive was right.
        """
        if self.failed:
            return 1
        if self.interrupted:
            return 0
        if not self.shots or EXPECTATIONS - {s.expect for s in self.shots}:
            return 1
        return 0

    def count(self, expect: str, *, kind: str | None = None) -> int:
        """Shots with this expectation (and kind) that came out as expected."""
        return sum(
            1
            for s in self.shots
            if s.expect == expect and s.as_expected and (kind is None or s.kind == kind)
        )
