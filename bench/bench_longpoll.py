"""No queue in front of a request: long-polls in flight, then one short GET.

``n`` long-polls (1,000 and 10,000; quick: 200 and 2,000) are submitted to one engine and the
clock waits until the server holds all of them; then one short GET is
submitted and timed until its callback runs on this thread (``wait``). The
server answers the short GET at once, so its latency is the engine's own
delay. RSS growth while the long-polls are in flight, per long-poll, is the
memory one waiting request costs. Our own server runs (nginx has no
long-poll route); its thread per connection holds each long-poll.

The requests transport is shown for contrast with 4 workers: the short GET
waits for a worker, i.e. for the long-polls ahead of it, so it is measured
with long-polls that last only 2 s.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import httpops

from .server import BenchServer

_POLL_MS = 60_000


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _short_get_latency(
    base: str, transport: str, n: int, poll_ms: int, rounds: int
) -> tuple[list[float], float]:
    """Latencies (ms) of the short GET per round, and RSS KiB per long-poll."""
    latencies: list[float] = []
    per_poll = 0.0
    config = httpops.Config(transport=transport, deadline=None, read_timeout=120.0)
    with httpops.Engine(config) as engine:
        engine.get(base + "/small").result(timeout=10)  # warm-up: threads, a connection
        rss_before = _rss_kib()
        polls = [engine.get(f"{base}/wait/{poll_ms}?i={i}") for i in range(n)]
        # Every one on the curl transport; as many as there are workers on requests.
        wanted = n if transport == "curl" else min(n, config.max_workers)
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and sum(op.state.value == "running" for op in polls) < wanted
        ):
            engine.poll()
            time.sleep(0.01)
        time.sleep(0.5)
        per_poll = (_rss_kib() - rss_before) / n
        for _ in range(rounds):
            started = time.perf_counter()
            short = engine.get(base + "/small")
            if not engine.wait(short, timeout=poll_ms / 1000 * (n + 1)):
                raise RuntimeError("the short GET did not finish")
            latencies.append((time.perf_counter() - started) * 1000)
        for op in polls:
            op.cancel()
    return latencies, per_poll


def run(quick: bool) -> list[dict[str, Any]]:
    """The long-poll table."""
    n = 200 if quick else 1000
    n_many = 2000 if quick else 10_000
    rounds = 5
    with BenchServer(kind="own") as server:
        base = server.base_url
        curl, curl_rss = _short_get_latency(base, "curl", n, _POLL_MS, rounds)
        many, many_rss = _short_get_latency(base, "curl", n_many, _POLL_MS, rounds)
        small_n = 8
        req, req_rss = _short_get_latency(base, "requests", small_n, 2000, 1)
    rows = [
        [f"curl transport, {n} long-polls in flight", n, statistics.median(curl), max(curl),
         curl_rss],
        [f"curl transport, {n_many} long-polls in flight", n_many, statistics.median(many),
         max(many), many_rss],
        [f"requests transport (4 workers), {small_n} long-polls of 2 s", small_n,
         statistics.median(req), max(req), req_rss],
    ]  # fmt: skip
    target = "met" if statistics.median(curl) <= 50 else "NOT met"
    return [
        {
            "name": "longpoll",
            "title": "A short GET while long-polls are in flight",
            "columns": ["engine", "long-polls", "latency ms (median)", "max ms", "RSS KiB/poll"],
            "rows": rows,
            "notes": [
                f"Server: {server.name} (a thread per connection); short GET timed from "
                f"submit to its callback, {rounds} times (requests transport: once).",
                f"Target: the short GET within 50 ms on the curl transport: {target}.",
                f"Target: under 50 KiB of RSS per slow request with {n_many} in flight: "
                f"{'met' if many_rss < 50 else 'NOT met'} ({many_rss:.1f} KiB).",
                f"With {n_many} sockets, more than libcurl's fdset() can hold (FD_SETSIZE), "
                "the loop also looks every 20 ms; the first short GET (the max) comes while "
                "those connections are still being set up.",
            ],
        }
    ]
