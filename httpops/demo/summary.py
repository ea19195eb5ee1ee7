"""The demo's end-of-run summary and small text helpers (pure; no ``rich`` needed)."""

from __future__ import annotations

from collections.abc import Sequence

from .shots import DemoReport

__all__ = ["human_rate", "sparkline", "summary_lines"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], ceiling: float) -> str:
    """One block character per value, scaled so ``ceiling`` (and above) is the tallest."""
    if ceiling <= 0:
        return ""
    top = len(_BARS) - 1
    return "".join(_BARS[min(top, max(0, int(v / ceiling * top)))] for v in values)


def human_rate(bytes_per_second: float) -> str:
    """``1536.0`` -> ``'1.5 KiB/s'``."""
    value = float(bytes_per_second)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}/s" if unit == "B" else f"{value:.1f} {unit}/s"
        value /= 1024
    return f"{value:.1f} MiB/s"  # pragma: no cover


def summary_lines(report: DemoReport) -> list[str]:
    """The end-of-run summary as plain text lines."""
    shots = report.shots
    landed = [s for s in shots if s.landed]
    on_loop = sum(1 for s in landed if s.on_loop_thread)
    fps = report.frames / report.elapsed if report.elapsed > 0 else 0.0
    period = 1.0 / report.fps
    downloads = [s for s in shots if s.kind == "download" and s.expect == "ok" and not s.cap]
    capped = [s for s in shots if s.kind == "download" and s.cap]
    images = [s for s in shots if s.kind == "image"]
    cached = sum(1 for s in images if s.label.endswith("(cache)") and s.as_expected)
    chat = next((s for s in shots if s.kind == "websocket"), None)
    lines = [
        "--- summary ---",
        f"frames       {report.frames} in {report.elapsed:.2f} s ({fps:.1f} fps, "
        f"target {report.fps:g})",
        f"frame time   {report.frame_times.describe(2)}  "
        f"({report.frame_times.over(period * 1.5)} over {period * 1.5 * 1000:.1f} ms)",
        f"poll() time  {report.poll_times.describe(3)}",
        f"requests     {sum(1 for s in shots if s.kind == 'request')} fired: "
        f"{report.count('ok', kind='request')} ok, {report.count('error')} failed as expected, "
        f"{report.count('cancel')} canceled (callback never ran)",
        f"downloads    {sum(1 for s in downloads if s.as_expected)} of {len(downloads)} "
        "complete with the right CRC32"
        + "".join(
            f", {s.label.split()[-1]} at {human_rate(s.size / s.latency)}"
            for s in downloads
            if s.landed and s.latency > 0
        )
        + " (average)",
        *(
            f"patch        {s.label.split(' (')[0].split()[-1]} capped at {human_rate(s.cap)} "
            f"(rate_limit=), priority {s.priority}: "
            + (f"done {s.latency:.1f} s after it was queued" if s.as_expected else "NOT OK")
            for s in capped
        ),
        f"images       {sum(1 for s in images if s.as_expected)} of {len(images)} loaded, "
        f"{cached} from the cache"
        + ("" if report.image_requests is None else f" (server saw {report.image_requests})"),
        f"scenes       town -> dungeon: {report.count('scope')} operations canceled by "
        "scope.close(), none called back",
    ]
    if chat is not None:
        lines.append(
            f"websocket    {chat.messages} messages received, "
            + ("closed 1000" if chat.as_expected else f"NOT OK: {chat.err}")
        )
    lines += [
        f"callbacks    {on_loop} of {len(landed)} ran on the loop thread",
        "listeners    "
        + ", ".join(f"{name} x{count}" for name, count in sorted(report.listener_calls.items())),
    ]
    lines += report.notes
    if report.interrupted:
        lines.append(f"stopped      by Ctrl-C; {len(report.abandoned)} results not waited for")
    lines += [
        f"NOT AS EXPECTED: {s.label} (expected {s.expect}, err {s.err})" for s in report.failed
    ]
    verdict = "OK" if report.exit_code == 0 else "FAILED"
    lines.append(f"result       {verdict} (exit {report.exit_code})")
    return lines
