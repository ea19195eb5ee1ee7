"""A missing optional package is named, with the extra that installs it.

The package is made missing for real: ``sys.modules[name] = None`` makes its
import raise ImportError, in this process or in a child one.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from httpops.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
WITHOUT = "import sys; sys.modules[{name!r}] = None; "


def test_serve_without_websockets_says_which_extra_to_install() -> None:
    code = WITHOUT.format(name="websockets") + (
        "from httpops.cli import main; sys.exit(main(['serve']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("httpops demo server on http://127.0.0.1:"), first
    finally:
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "WebSocket server on" not in out
    assert "the 'websockets' package is missing; pip install 'httpops[demo]'" in err


def test_the_demo_without_websockets_runs_and_says_why_there_is_no_chat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "websockets", None)
    monkeypatch.setitem(sys.modules, "websockets.sync.server", None)
    out = io.StringIO()
    report = run_demo(seconds=0.5, mode="plain", out=out)
    text = out.getvalue()
    assert "demo: no WebSocket chat." in text
    assert "pip install 'httpops[demo]'" in text
    assert report.exit_code == 0, text


def test_the_demo_without_rich_falls_back_to_plain_lines_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    out = io.StringIO()
    report = run_demo(seconds=0.5, mode="rich", out=out)
    text = out.getvalue()
    assert "demo: no live panel: the 'rich' package is missing" in text
    assert report.exit_code == 0, text


def test_the_pygame_adapter_without_pygame_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)
    monkeypatch.delitem(sys.modules, "httpops.integrations.pygame", raising=False)
    with pytest.raises(ImportError, match=r"needs pygame-ce .*pip install 'httpops\[demo\]'"):
        importlib.import_module("httpops.integrations.pygame")


def test_the_pyglet_adapter_without_pyglet_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from httpops.integrations.pyglet import schedule

    monkeypatch.setitem(sys.modules, "pyglet", None)
    monkeypatch.setitem(sys.modules, "pyglet.clock", None)
    with pytest.raises(ImportError, match="needs pyglet: pip install pyglet"):
        schedule(None, 0.016)  # type: ignore[arg-type]
