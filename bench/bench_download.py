"""Large downloads: throughput, memory, and frame safety while they run.

Three measurements, each against the benchmark server (:mod:`bench.server`,
its own process, so it never competes for the client's GIL):

1. **Throughput**: one 512 MiB file (64 MiB with ``--quick``) downloaded to
   disk with a CRC32, three runs each, median MB/s:

   * ``httpops``: ``Engine.download`` (streamed to a temporary file, CRC32
     per chunk on the worker, renamed into place);
   * ``curl -o FILE`` (when ``curl`` is installed; no checksum);
   * a hand-written ``requests`` loop: ``iter_content(1 MiB)``, ``write``,
     ``zlib.crc32`` per chunk.

   Each client runs in a fresh child process (``python -m
   bench.bench_download --child ...``), timed inside the child from the
   request to the file being complete, so interpreter start-up is excluded.
2. **Memory**: the httpops child reports ``VmHWM`` (peak RSS) after the
   download minus ``VmRSS`` just before it: the most the download added.
3. **Frame safety**: a child runs a 120 Hz loop with 1 ms of pure-Python
   work per frame and ``engine.poll()``, first idle, then while 4 large
   downloads run on the same engine. Frame time is the interval between the
   starts of consecutive frames.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from .server import MIB, BenchServer

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
HZ = 120
FRAME = 1.0 / HZ
WORK = 0.001
LATE = 1.0 / 60
N_LOAD = 4
THROUGHPUT_TARGET_CURL = 0.9
THROUGHPUT_TARGET_REQUESTS = 1.0
RSS_TARGET_MIB = 32
P99_TARGET = 1.35


# -- measured in child processes -----------------------------------------------------------


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (Linux), or 0 where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _child_httpops(url: str, out: str, transport: str = "requests") -> dict[str, Any]:
    import httpops

    config = httpops.Config(downloads_dir=os.path.dirname(out), transport=transport)
    with httpops.Engine(config) as engine:
        rss_before = _status_kib("VmRSS")
        started = time.perf_counter()
        op = engine.download(url, out, resume=False)
        op.result(timeout=600)
        seconds = time.perf_counter() - started
        peak = _status_kib("VmHWM")
    return {"seconds": seconds, "crc": op.checksum, "rss_growth_kib": peak - rss_before}


def _child_requests(url: str, out: str) -> dict[str, Any]:
    import requests

    with requests.Session() as session:
        started = time.perf_counter()
        crc = 0
        with session.get(url, stream=True, timeout=30) as response, open(out, "wb") as f:
            response.raise_for_status()
            for chunk in response.iter_content(MIB):
                f.write(chunk)
                crc = zlib.crc32(chunk, crc)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "crc": f"{crc:08x}"}


def _busy(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def _calibrate() -> int:
    probe, samples = 20_000, []
    for _ in range(7):
        started = time.perf_counter()
        _busy(probe)
        samples.append(time.perf_counter() - started)
    return max(1, int(probe * WORK / statistics.median(samples)))


def _frames(engine: Any, iterations: int, until: Any, max_seconds: float) -> list[float]:
    """Run the 120 Hz loop until ``until()`` or ``max_seconds``; frame intervals in seconds."""
    intervals: list[float] = []
    next_at = time.perf_counter()
    last_start: float | None = None
    stop_at = next_at + max_seconds
    while True:
        start = time.perf_counter()
        if last_start is not None:
            intervals.append(start - last_start)
        last_start = start
        _busy(iterations)
        engine.poll(budget=0.002)
        if until() or start >= stop_at:
            return intervals
        next_at += FRAME
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # the host's own frame pacing, not a wait for a condition
        else:
            next_at = time.perf_counter()  # late: do not try to catch up with a burst


def _load_round(engine: Any, url: str, iterations: int, seconds: float) -> tuple[list[float], int]:
    """Frames while N_LOAD downloads are kept in flight; returns them and bytes completed."""
    done: list[int] = []
    live: set[Any] = set()
    stopping = False

    def start(slot: int) -> None:
        def finished(op: Any) -> None:
            live.discard(op)
            if op.error is None:
                done.append(op.received)
                if not stopping:
                    start(slot)  # keep N_LOAD downloads in flight all the time

        live.add(engine.download(url, f"load-{slot}.bin", finished, resume=False))

    for slot in range(N_LOAD):
        start(slot)
    frames = _frames(engine, iterations, lambda: False, seconds)
    stopping = True
    for op in list(live):
        op.cancel()
    engine.run_until_idle(timeout=30)
    return frames, sum(done)


def _curl_round(
    engine: Any, url: str, directory: str, iterations: int, seconds: float
) -> list[float]:
    """Control: frames while N_LOAD curl *processes* download (no GIL shared with us)."""
    curl = shutil.which("curl")
    assert curl is not None
    stop_at = time.monotonic() + seconds

    def loop(slot: int) -> None:
        while time.monotonic() < stop_at:
            out = os.path.join(directory, f"curl-{slot}.bin")
            subprocess.run([curl, "-s", "-o", out, url], check=False, timeout=120)

    threads = [
        threading.Thread(target=loop, args=(i,), name=f"bench-curl-{i}") for i in range(N_LOAD)
    ]
    for thread in threads:
        thread.start()
    frames = _frames(engine, iterations, lambda: False, seconds)
    for thread in threads:
        thread.join()
    return frames


def _child_frames(
    url: str, directory: str, idle_seconds: float, load_seconds: float, rounds: int
) -> dict[str, Any]:
    import httpops

    iterations = _calibrate()
    result: dict[str, Any] = {"idle": [], "load": [], "curl": [], "bytes": 0}
    with httpops.Engine(httpops.Config(downloads_dir=directory, transport="requests")) as engine:
        for _ in range(rounds):  # alternate, so a burst of outside noise hits one round
            result["idle"].append(_frames(engine, iterations, lambda: False, idle_seconds))
            frames, count = _load_round(engine, url, iterations, load_seconds)
            result["load"].append(frames)
            result["bytes"] += count
            if shutil.which("curl"):
                result["curl"].append(_curl_round(engine, url, directory, iterations, load_seconds))
    return result


def _child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_download --child")
    parser.add_argument("what", choices=["httpops", "httpops-curl", "requests", "frames"])
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--load-seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=RUNS)
    args = parser.parse_args(argv)
    if args.what == "httpops":
        result = _child_httpops(args.url, args.out)
    elif args.what == "httpops-curl":
        result = _child_httpops(args.url, args.out, "curl")
    elif args.what == "requests":
        result = _child_requests(args.url, args.out)
    else:
        result = _child_frames(
            args.url, args.out, args.idle_seconds, args.load_seconds, args.rounds
        )
    print(json.dumps(result), flush=True)


# -- the parent: start the server, run the children, make the tables --------------------------


def _run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_download", "--child", *args],
        cwd=str(ROOT), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args[0]} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _run_curl(curl: str, url: str, out: str) -> dict[str, Any]:
    started = time.perf_counter()
    subprocess.run([curl, "-s", "-S", "-f", "-o", out, url], check=True, timeout=900)
    return {"seconds": time.perf_counter() - started}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _throughput(server: BenchServer, size: int, directory: str) -> dict[str, list[dict[str, Any]]]:
    url = server.url(f"/bytes/{size}")
    curl = shutil.which("curl")
    results: dict[str, list[dict[str, Any]]] = {
        "httpops": [], "httpops-curl": [], "requests": [], "curl": []
    }  # fmt: skip
    for run in range(RUNS):
        for name in ("httpops", "httpops-curl", "requests", "curl"):
            out = os.path.join(directory, f"{name}-{run}.bin")
            if name == "curl":
                if curl is None:
                    continue
                result = _run_curl(curl, url, out)
            else:
                result = _run_child(name, url, out)
            if os.path.getsize(out) != size:
                raise RuntimeError(f"{name} wrote {os.path.getsize(out)} bytes, not {size}")
            os.unlink(out)  # keep the disk (and page cache) footprint to one file
            results[name].append(result)
    return results


def _throughput_table(
    size: int, results: dict[str, list[dict[str, Any]]], server: str
) -> dict[str, Any]:
    def mbps(name: str) -> float | None:
        runs = results[name]
        return statistics.median(size / r["seconds"] / 1e6 for r in runs) if runs else None

    ours, curl, loop = mbps("httpops"), mbps("curl"), mbps("requests")
    assert ours is not None and loop is not None
    rss = max(r["rss_growth_kib"] for r in results["httpops"]) / 1024
    on_curl = mbps("httpops-curl")
    curl_rss = max(r["rss_growth_kib"] for r in results["httpops-curl"]) / 1024
    rows: list[list[Any]] = [
        ["httpops Engine.download, requests transport (CRC32)", round(ours, 1), 1.0, round(rss, 1)],
        [
            "httpops, curl transport",
            round(on_curl or 0, 1),
            round(ours / (on_curl or 1), 2),
            round(curl_rss, 1),
        ],
        ["requests iter_content(1 MiB) + CRC32", round(loop, 1), round(ours / loop, 2), None],
    ]
    if curl is not None:
        rows.append(["curl -o FILE", round(curl, 1), round(ours / curl, 2), None])
    notes = [
        f"{size // MIB} MiB to a file in {_scratch() or tempfile.gettempdir()}, median of "
        f"{RUNS} runs per client, each in a fresh process; server: {server}.",
        f"ratio = httpops MB/s / this client's MB/s; targets: >= {THROUGHPUT_TARGET_CURL}x "
        f"curl, >= {THROUGHPUT_TARGET_REQUESTS}x the requests loop.",
        f"peak RSS growth = VmHWM after the download - VmRSS before it (worst of {RUNS} "
        f"runs); target <= {RSS_TARGET_MIB} MiB.",
    ]
    if on_curl is not None:
        versus = f", {on_curl / curl:.2f}x curl -o (target >= 1.0)" if curl else ""
        notes.append(
            f"Curl transport: {on_curl / ours:.2f}x the requests transport (target >= 1.5)"
            f"{versus}; peak RSS growth {curl_rss:.1f} MiB (target <= 32)."
        )
    if curl is None:
        notes.append("curl is not installed: no curl row.")
    return {
        "name": "download_throughput",
        "title": "Large download to disk: throughput and memory",
        "columns": ["client", "MB/s (median)", "httpops / client", "peak RSS growth (MiB)"],
        "rows": rows,
        "notes": notes,
    }


def _frame_stats(rounds: list[list[float]]) -> dict[str, float]:
    """Median over rounds of each round's p50, p99, max and frames over 16.7 ms."""
    per_round = [
        {
            "p50": _percentile(r, 50) * 1000,
            "p99": _percentile(r, 99) * 1000,
            "max": max(r) * 1000,
            "late": float(sum(1 for v in r if v > LATE)),
            "frames": float(len(r)),
        }
        for r in rounds
    ]
    return {k: statistics.median(s[k] for s in per_round) for k in per_round[0]}


def _frame_table(
    result: dict[str, Any], size: int, load_seconds: float, rounds: int
) -> dict[str, Any]:
    idle, load = _frame_stats(result["idle"]), _frame_stats(result["load"])
    worst_late = max(sum(1 for v in r if v > LATE) for r in result["load"])
    rate = result["bytes"] / (load_seconds * rounds) / 1e6

    def row(label: str, stats: dict[str, float]) -> list[Any]:
        return [
            label, int(stats["frames"]), round(stats["p50"], 2), round(stats["p99"], 2),
            round(stats["max"], 2), int(stats["late"]), round(stats["p99"] / idle["p99"], 2),
        ]  # fmt: skip

    rows = [row("idle", idle), row(f"{N_LOAD} httpops downloads", load)]
    if result["curl"]:
        rows.append(row(f"control: {N_LOAD} curl processes", _frame_stats(result["curl"])))
    return {
        "name": "download_frames",
        "title": f"120 Hz host loop while {N_LOAD} large downloads run",
        "columns": ["phase", "frames", "p50 ms", "p99 ms", "max ms", "> 16.7 ms", "p99 / idle p99"],
        "rows": rows,
        "notes": [
            f"Each frame: ~1 ms of pure-Python work + engine.poll(budget=2 ms), paced to "
            f"{HZ} Hz (8.33 ms); frame time = interval between frame starts.",
            f"Load: {N_LOAD} Engine.download of {size // MIB} MiB each kept in flight on the "
            f"same engine for {load_seconds:g} s (~{rate:.0f} MB/s written in total).",
            f"{rounds} alternating idle/load rounds; each figure is the median over rounds "
            f"(worst round under load: {worst_late} frames over 16.7 ms).",
            "Control row: the same loop while 4 curl processes download the same file: "
            "load that shares the CPUs but not the GIL, so it shows what the machine itself "
            "costs the loop.",
            f"Targets: p99 <= {P99_TARGET}x idle p99, no frame over 16.7 ms.",
        ],
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure (see the module docstring); returns the tables."""
    size = (64 if quick else 512) * MIB
    load_size = (64 if quick else 256) * MIB
    idle_seconds, load_seconds = (1.0, 1.5) if quick else (2.0, 3.0)
    with BenchServer(large_sizes=(size, load_size)) as server:
        with tempfile.TemporaryDirectory(prefix="httpops-bench-dl-", dir=_scratch()) as directory:
            results = _throughput(server, size, directory)
            frames = _run_child(
                "frames", server.url(f"/bytes/{load_size}"), directory,
                "--idle-seconds", str(idle_seconds), "--load-seconds", str(load_seconds),
                "--rounds", str(RUNS),
            )  # fmt: skip
        name = server.name
    return [
        _throughput_table(size, results, name),
        _frame_table(frames, load_size, load_seconds, RUNS),
    ]


def _scratch() -> str | None:
    """Where the files go: $HTTPOPS_BENCH_DL_DIR, else /dev/shm when present, else the temp dir.

    A RAM-backed file system keeps the disk's write-back stalls (seconds of
    noise on a VM) out of a comparison of the clients' own costs.
    """
    explicit = os.environ.get("HTTPOPS_BENCH_DL_DIR")
    if explicit:
        return explicit
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child_main(sys.argv[2:])
    else:
        for table in run(quick="--quick" in sys.argv):
            print(json.dumps(table, indent=1))
