"""Printing benchmark tables (as Markdown) and writing them to ``bench/results``.

A table is a dict ``{"name": str, "title": str, "columns": [str], "rows":
[[...]], "notes": [str]}``. Cells may be str, int, float or None; floats are
rounded for printing only -- the JSON keeps the full values.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_DIR",
    "check_table",
    "cpu_idle",
    "format_cell",
    "format_table",
    "machine_info",
    "write",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_REPO = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def check_table(table: object) -> dict[str, Any]:
    """Return ``table`` if it has the documented shape; raise ValueError saying what is wrong."""
    if not isinstance(table, dict):
        raise ValueError(f"a table must be a dict, got {type(table).__name__}")
    for key, kind in (("name", str), ("title", str), ("columns", list), ("rows", list)):
        if not isinstance(table.get(key), kind):
            raise ValueError(f"table {table.get('name')!r}: {key!r} must be a {kind.__name__}")
    if not _NAME.match(table["name"]):
        raise ValueError(f"table name {table['name']!r} must match {_NAME.pattern}")
    width = len(table["columns"])
    for row in table["rows"]:
        if not isinstance(row, list) or len(row) != width:
            raise ValueError(f"table {table['name']!r}: row {row!r} does not have {width} cells")
    table.setdefault("notes", [])
    return table


def format_cell(value: object) -> str:
    """A cell as printed: floats rounded to what the eye can use."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        size = abs(value)
        if size >= 100:
            return f"{value:.0f}"
        if size >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value).replace("|", "\\|")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_table(table: dict[str, Any]) -> str:
    """The table as aligned Markdown: title, table, then notes as a list."""
    columns = [str(c) for c in table["columns"]]
    rows = [[format_cell(v) for v in row] for row in table["rows"]]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    numeric = [
        bool(table["rows"]) and all(_is_number(r[i]) or r[i] is None for r in table["rows"])
        for i in range(len(columns))
    ]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    out = [f"### {table['title']}", "", line(columns), line(rule)]
    out += [line(r) for r in rows]
    notes = table.get("notes") or []
    if notes:
        out.append("")
        out += [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def cpu_idle(seconds: float = 0.5) -> float | None:
    """Fraction of all CPUs idle over the next ``seconds`` (Linux), to flag a busy machine."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(seconds)  # sampling a system counter over a window; nothing to wait on
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / max(1, total1 - total0)


def machine_info() -> dict[str, Any]:
    """CPU count, Python, OS, library versions, date and git commit of this run."""
    import requests
    import urllib3

    import httpops

    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "httpops": getattr(httpops, "__version__", None),
        "requests": requests.__version__,
        "urllib3": urllib3.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def write(table: dict[str, Any], machine: dict[str, Any], extra: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``: the table, the machine and run details."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{table['name']}.json"
    payload = {**table, "machine": machine, **extra}
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
