"""The demo's terminal views: a live ``rich`` panel, and the end-of-run summary.

:class:`RichView` redraws a panel with :class:`rich.live.Live` about 15 times
a second, on the loop's thread (``auto_refresh=False``: no drawing thread
competes with the loop for the GIL): the moving sprite, frame-time
p50/p99/max and a sparkline of the last frames, a progress bar per download
with its speed, its rate cap and priority, the images, the chat, and the latest log lines.

It needs ``rich`` (the ``demo`` extra); the plain view and the summary do not.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .shots import Shot
from .summary import human_rate, sparkline

if TYPE_CHECKING:
    from .loop import DemoGame

__all__ = ["RichView"]

_TRACK = 48
_STYLE = {"done": "green", "failed": "red", "canceled": "yellow", "in flight": "cyan"}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class RichView:
    """A live panel on a terminal; the log keeps the latest lines.

    Args:
        console: The ``rich`` console (a terminal).
        refresh_hz: Redraws per second (frames between redraws are untouched).
        clock: Monotonic clock.
    """

    def __init__(
        self,
        console: Console | None = None,
        refresh_hz: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console or Console()
        self.log: deque[str] = deque(maxlen=6)
        self._interval = 1.0 / refresh_hz
        self._clock = clock
        self._next = 0.0
        self._live: Live | None = None

    def start(self) -> None:
        """Take over the terminal. Thread-safety: the loop's thread."""
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        self._live.start()

    def stop(self, game: DemoGame | None = None) -> None:
        """Draw the last frame and give the terminal back. Thread-safety: the loop's."""
        if self._live is None:
            return
        if game is not None:
            self._live.update(self.render(game), refresh=True)
        self._live.stop()
        self._live = None

    def line(self, text: str) -> None:
        """Keep ``text`` for the log box. Thread-safety: the loop's thread."""
        self.log.append(text)

    def frame(self, game: DemoGame) -> bool:
        """Redraw if it is time. Thread-safety: the loop's thread."""
        now = self._clock()
        if self._live is not None and now >= self._next:
            self._next = now + self._interval
            self._live.update(self.render(game), refresh=True)
        return True

    # -- rendering ---------------------------------------------------------------------

    def render(self, game: DemoGame) -> RenderableType:
        """The whole panel for the current state of ``game``."""
        parts: list[RenderableType] = [
            self._header(game),
            self._timing(game),
            self._downloads(game.shots),
            self._requests(game),
        ]
        if game.chat:
            chat = Text("\n".join(list(game.chat)[-5:]), no_wrap=True, overflow="ellipsis")
            parts.append(Panel(chat, title="WebSocket chat", height=7))
        log = Text("\n".join(self.log), no_wrap=True, overflow="ellipsis")
        parts.append(Panel(log, title="log", height=len(self.log) + 2))
        title = f"httpops demo - {game.fps:g} fps - scene: {game.scene}"
        return Panel(Group(*parts), title=title, subtitle="Ctrl-C to stop")

    @staticmethod
    def _header(game: DemoGame) -> Text:
        pos = int(game.sprite_x / 640.0 * _TRACK)
        track = "·" * pos + "@" + "·" * (_TRACK - pos - 1)
        left = max(0.0, (game.last_frame - game.frame) / game.fps)
        return Text.assemble(
            ("sprite ", "bold"), (track, "magenta"), f"  frame {game.frame}  ",
            (f"{left:4.1f} s left" if left else "waiting for the last results"
             if game.pending() else "done", "dim"),
        )  # fmt: skip

    @staticmethod
    def _timing(game: DemoGame) -> Table:
        period = 1.0 / game.fps
        p50, p99, top = game.frame_times.summary()
        recent = game.frame_times.values[-_TRACK:]
        grid = Table.grid(padding=(0, 2))
        grid.add_row(
            Text("frame time", style="bold"),
            f"p50 {_ms(p50)}  p99 {_ms(p99)}  max {_ms(top)}",
            Text(sparkline(recent, 2 * period), style="green"),
        )
        q50, q99, qtop = game.poll_times.summary()
        grid.add_row(
            Text("poll()", style="bold"), f"p50 {_ms(q50)}  p99 {_ms(q99)}  max {_ms(qtop)}", ""
        )
        return grid

    @staticmethod
    def _downloads(shots: Sequence[Shot]) -> Table:
        table = Table(title=None, expand=False, box=None, padding=(0, 1))
        for column in ("download", "", "%", "speed", "cap", "prio", "state"):
            table.add_column(column)
        for shot in shots:
            if shot.kind != "download":
                continue
            progress = shot.progress or 0.0
            table.add_row(
                shot.label.split(" (")[0],
                ProgressBar(total=100.0, completed=progress, width=30),
                f"{progress:5.1f}",
                human_rate(shot.speed),
                human_rate(shot.cap) if shot.cap else "-",
                f"{shot.priority:+d}" if shot.priority else "0",
                Text(shot.state, style=_STYLE[shot.state]),
            )
        return table

    @staticmethod
    def _requests(game: DemoGame) -> Text:
        shots = game.shots
        requests = [s for s in shots if s.kind == "request"]
        images = [s for s in shots if s.kind == "image"]
        done = sum(1 for s in requests if s.state == "done")
        failed = sum(1 for s in requests if s.state == "failed")
        canceled = sum(1 for s in shots if s.state == "canceled")
        flying = sum(1 for s in requests if s.state == "in flight")
        loaded = sum(1 for s in images if s.state == "done")
        cached = sum(1 for s in images if s.state == "done" and s.label.endswith("(cache)"))
        return Text.assemble(
            ("requests ", "bold"), f"{len(requests)} fired  ", (f"{done} ok", "green"), "  ",
            (f"{failed} failed", "red"), "  ", (f"{canceled} canceled", "yellow"), "  ",
            (f"{flying} in flight", "cyan"), "    ",
            ("images ", "bold"), f"{loaded} loaded, {cached} from the cache",
        )  # fmt: skip
