"""Throughput of small GETs: httpops against the usual ways to do it with requests.

Every client fetches the same ``/small`` URL ``n`` times (3000; quick: 600)
from the benchmark server, all submitted at once, and the clock stops when
the last body has been read (for httpops: when the last callback ran on
this thread). Each client is built and warmed up (connections open, threads
started) before the clock starts, so the figure is steady-state throughput.
The clients run one after the other in each round, in a rotated order, and
the table gives the median of the rounds.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests_futures.sessions import FuturesSession

import httpops

from .server import SMALL_BODY, BenchServer, measure_capacity

WORKERS = 8
REQUESTS_DEFAULTS = "httpops, requests transport (its defaults: 4 workers, niceness 10)"
CURL = "httpops, curl transport (the default where pycurl is installed)"

Client = Callable[[str, int, int], tuple[float, float]]


def _check(content: bytes) -> None:
    if content != SMALL_BODY:
        raise RuntimeError(f"unexpected body {content[:80]!r}")


def run_httpops(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """Like-for-like with the peers: 8 workers at normal OS priority, as their threads run."""
    return _run_engine(
        url, n, httpops.Config(max_workers=workers, worker_niceness=0, transport="requests")
    )


def run_httpops_defaults(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """The requests transport's defaults (4 workers, niceness 10), tuned for frame times."""
    return _run_engine(url, n, httpops.Config(transport="requests"))


def _run_engine(url: str, n: int, config: httpops.Config) -> tuple[float, float]:
    """(wall, CPU) seconds for ``n`` GETs through an Engine: submit all, run_until_idle."""
    workers = config.max_workers
    config = dataclasses.replace(config, raise_callback_errors=True)
    done = 0

    def on_done(op: httpops.Operation) -> None:
        nonlocal done
        if op.error is not None:
            raise op.error
        done += 1

    with httpops.Engine(config) as engine:
        for _ in range(workers * 4):  # warm-up: start every worker, open its connection
            engine.get(url, on_done)
        engine.run_until_idle(timeout=60)
        _check(engine.get(url).result(timeout=10).content)
        done = 0
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            engine.get(url, on_done)
        if not engine.run_until_idle(timeout=300):
            raise RuntimeError("httpops did not finish within 300 s")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if done != n:
        raise RuntimeError(f"httpops ran {done} callbacks for {n} requests")
    return elapsed, cpu


def run_httpops_curl(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """The curl transport (one network thread; ``workers`` does not apply)."""
    return _run_engine(url, n, httpops.Config(transport="curl"))


def run_futures(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """(wall, process CPU) seconds for ``n`` GETs through requests-futures' FuturesSession."""
    with FuturesSession(max_workers=workers) as session:
        for future in [session.get(url) for _ in range(workers * 4)]:
            _check(future.result().content)
        started, cpu = time.perf_counter(), time.process_time()
        futures = [session.get(url) for _ in range(n)]
        for future in futures:
            future.result().content  # noqa: B018 -- read like the other clients do
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        session.executor.shutdown()
    return elapsed, cpu


def run_pool(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """(wall, CPU) seconds for ``n`` GETs: ThreadPoolExecutor, a Session per thread."""
    local = threading.local()
    sessions: list[requests.Session] = []
    # Guards `sessions`, appended to by the pool's threads.
    lock = threading.Lock()

    def fetch() -> bytes:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            with lock:
                sessions.append(session)
        with session.get(url) as resp:
            return resp.content

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(fetch) for _ in range(workers * 4)]:
            _check(future.result())
        started, cpu = time.perf_counter(), time.process_time()
        futures = [pool.submit(fetch) for _ in range(n)]
        for future in futures:
            future.result()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    for session in sessions:
        session.close()
    return elapsed, cpu


def run_sequential(url: str, n: int, workers: int = WORKERS) -> tuple[float, float]:
    """(wall, process CPU) seconds for ``n`` GETs one after another on one requests.Session."""
    with requests.Session() as session:
        _check(session.get(url).content)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            with session.get(url) as resp:
                resp.content  # noqa: B018
        return time.perf_counter() - started, time.process_time() - cpu


CLIENTS: dict[str, Client] = {
    REQUESTS_DEFAULTS: run_httpops_defaults,
    "httpops, requests transport (8 workers, niceness 0)": run_httpops,
    CURL: run_httpops_curl,
    "requests-futures FuturesSession (8)": run_futures,
    "ThreadPoolExecutor(8) + thread-local Session": run_pool,
    "requests.Session, sequential": run_sequential,
}


def measure(url: str, n: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(req/s, CPU µs per request) of every client, ``rounds`` times, order rotated per round."""
    names = list(CLIENTS)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            elapsed, cpu = CLIENTS[name](url, n, WORKERS)
            results[name].append((n / elapsed, cpu / n * 1e6))
    return results


def run(quick: bool) -> list[dict[str, Any]]:
    """The small-GET throughput table."""
    n, rounds = (600, 3) if quick else (3000, 5)
    with BenchServer() as server:
        url = server.url("/small")
        capacity = measure_capacity(url, connections=WORKERS, seconds=1.0)
        results = measure(url, n, rounds)
    medians = {name: statistics.median(r for r, _ in values) for name, values in results.items()}
    # The headline is the library as shipped; the 8-worker row is like-for-like with the peers.
    ours = medians[REQUESTS_DEFAULTS]
    rows = [
        [
            name,
            medians[name],
            min(r for r, _ in values),
            max(r for r, _ in values),
            statistics.median(c for _, c in values),
            ours / medians[name],
        ]
        for name, values in results.items()
    ]
    futures = ours / medians["requests-futures FuturesSession (8)"]
    pool = ours / medians["ThreadPoolExecutor(8) + thread-local Session"]
    verdict = "met" if futures >= 1.5 and pool >= 1.0 else "NOT met"
    notes = [
        f"{n} GETs of a {len(SMALL_BODY)}-byte body per client per round; median of {rounds} "
        "rounds, clients in rotated order; warmed up before timing.",
        f"Server: {server.name}; it sustains >= {capacity:.0f} req/s "
        f"(raw-socket Python client, {WORKERS} keep-alive connections), so it is not the limit.",
        "'CPU µs/req': CPU time of the whole client process (every thread) per request.",
        "'httpops speed-up' = httpops req/s / this client's req/s.",
        f"Targets: httpops >= 1.5x requests-futures (got {futures:.2f}x) and >= 1.0x the "
        f"hand-written pool (got {pool:.2f}x): {verdict}.",
    ]
    curl = medians[CURL]
    curl_cpu = statistics.median(c for _, c in results[CURL])
    curl_futures = curl / medians["requests-futures FuturesSession (8)"]
    notes.append(
        f"Curl transport: {curl_futures:.2f}x requests-futures (target >= 10x), "
        f"{curl / ours:.2f}x the requests transport (target >= 6x), "
        f"{curl_cpu:.0f} CPU µs/req (target <= 80)."
    )
    return [
        {
            "name": "requests",
            "title": f"{n} small GETs: requests per second",
            "columns": ["client", "req/s (median)", "min", "max", "CPU µs/req", "httpops speed-up"],
            "rows": rows,
            "notes": notes,
        }
    ]
