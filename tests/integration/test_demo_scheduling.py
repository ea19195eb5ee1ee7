"""The demo shows priorities and bandwidth caps: a capped background patch, a priority login."""

from __future__ import annotations

import io
import re

import httpops
from httpops.demo import DemoGame, DemoServer, run_demo
from httpops.demo.loop import LOGIN_PRIORITY, PATCH_PRIORITY
from httpops.demo.summary import summary_lines


def test_demo_runs_a_capped_low_priority_patch_and_a_priority_login() -> None:
    out = io.StringIO()
    report = run_demo(seconds=0.5, out=out, mode="plain")
    text = out.getvalue()
    assert report.exit_code == 0, text
    patch = next(s for s in report.shots if s.label.startswith("patch"))
    login = next(s for s in report.shots if s.label.startswith("login"))
    assert patch.cap > 0 and patch.priority == PATCH_PRIORITY and patch.as_expected
    assert login.priority == LOGIN_PRIORITY and login.as_expected
    # The patch was queued behind busy download workers and started later.
    assert re.search(r"patch 1m started after \d+ ms in the queue", text), text
    lines = summary_lines(report)
    assert any(
        re.match(
            r"patch\s+1m capped at [\d.]+ (KiB|MiB)/s \(rate_limit=\), priority -1: done", line
        )
        for line in lines
    ), lines
    # The facade downloads' line is unchanged: the capped patch has its own.
    assert any(line.startswith("downloads    3 of 3 complete") for line in lines), lines


def test_panel_shows_the_cap_and_the_priority() -> None:
    from rich.console import Console

    from httpops.demo.panel import RichView

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=130, color_system=None)
    view = RichView(console)
    with DemoServer() as server, httpops.Engine() as engine:
        game = DemoGame(httpops.HTTPFacade(engine), server.base_url, seconds=0.5, view=view)
        game.run()
    console.print(view.render(game))
    text = buffer.getvalue()
    assert re.search(r"download\s+%\s+speed\s+cap\s+prio\s+state", text), text
    # The patch row: its cap in the cap column, -1 in the priority column.
    assert re.search(r"patch 1m\s+━+\s+100\.0\s+[\d.]+ \S+/s\s+[\d.]+ \S+/s\s+-1\s+done", text), (
        text
    )
    assert re.search(r"download 4m\s+━+\s+100\.0\s+[\d.]+ \S+/s\s+-\s+0\s+done", text), text
