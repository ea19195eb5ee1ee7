"""``python -m soak [--seconds N]``: run the mixed workload, then check nothing was lost or leaked.

The run is bounded twice: by ``--seconds`` and by ``--max-ops``; it then
stops starting work, drains what is in flight, closes every socket and the
engine, stops the servers' connections, and checks:

* every operation started completed exactly once, and none is still live;
* no injected fault was reported as a success (hostile drips and trailer
  floods end with their deadline);
* the engine's cookie jar stayed within its bounds despite the cookie flood;
* every WebSocket closed exactly once, no echoed message was lost, and no
  well-behaved socket ended in an error;
* threads and file descriptors came back to their baseline (taken after the
  servers started, before the engine existed);
* peak RSS stayed under ``--rss-limit-mib``.

It prints the figures and exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
import time
import traceback

import httpops
from httpops._cookies import COOKIES_TOTAL
from soak.accounting import Snapshot, peak_rss_mib, rss_mib, settle
from soak.workload import FLOOD_CLOSE_BOUND, Servers, Workload, make_config, temp_root

TICK = 0.002  # seconds the host sleeps between frames when nothing is ready
IN_FLIGHT = 96
WS_POOL = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long to start work")
    parser.add_argument("--max-ops", type=int, default=2_000_000, help="cap on operations")
    parser.add_argument("--rss-limit-mib", type=float, default=512.0, help="peak RSS bound")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    return parser.parse_args(argv)


def run(workload: Workload, seconds: float, max_ops: int) -> float:
    """The host loop: start work, poll, cancel, tend sockets; then drain. Returns the run time."""
    engine = workload.engine
    started = time.monotonic()
    stop_at = started + seconds
    housekeeping_at = started
    while time.monotonic() < stop_at and sum(workload.tally.started.values()) < max_ops:
        if time.monotonic() >= housekeeping_at:
            # The test server logs every request it saw; that log is not ours to measure.
            workload.servers.http.clear()
            workload.rss_samples.append(rss_mib())
            housekeeping_at += 1.0
        workload.top_up(IN_FLIGHT, budget=16)
        workload.tend_sockets(WS_POOL, closing=False)
        workload.tend_flood(closing=False)
        workload.cancel_due(time.monotonic())
        if engine.poll(budget=0.004) == 0:
            engine.events.wait_nonempty(TICK)
    ran = time.monotonic() - started
    drain_until = time.monotonic() + 30.0
    while (workload.live or workload.sockets or workload.floods) and time.monotonic() < drain_until:
        workload.tend_sockets(WS_POOL, closing=True)
        workload.cancel_due(float("inf"))
        if engine.poll() == 0:
            engine.events.wait_nonempty(TICK)
    return ran


def check(workload: Workload, engine: httpops.Engine) -> list[str]:
    """The exactly-once and nothing-lost checks; returns the violations."""
    tally, problems = workload.tally, []
    total = sum(tally.started.values())
    if len(tally.completions) != total or any(n != 1 for n in tally.completions.values()):
        doubled = sum(1 for n in tally.completions.values() if n != 1)
        problems.append(
            f"{total} started, {len(tally.completions)} completed, {doubled} more than once"
        )
    if workload.live or engine.operations:
        problems.append(f"{len(workload.live)} operations never completed")
    if tally.faults_succeeded:
        problems.append(f"faults reported as success: {tally.faults_succeeded[:3]}")
    jar = getattr(engine.transport, "cookies", None)
    tally.cookies_kept = len(jar) if jar is not None else 0
    if jar is not None and len(jar) > COOKIES_TOTAL:
        problems.append(f"cookie jar holds {len(jar)} cookies, over {COOKIES_TOTAL}")
    if workload.sockets or any(n != 1 for n in tally.ws_closes.values()):
        problems.append(f"{len(workload.sockets)} sockets not closed, or closed twice")
    if len(tally.ws_closes) != tally.ws_opened:
        problems.append(f"{tally.ws_opened} sockets opened, {len(tally.ws_closes)} closed")
    if tally.ws_received != tally.ws_sent:
        problems.append(f"WebSocket messages: {tally.ws_sent} sent, {tally.ws_received} echoed")
    if workload.floods or any(n != 1 for n in tally.flood_closes.values()):
        problems.append(f"{len(workload.floods)} close-flood sockets not closed, or closed twice")
    if len(tally.flood_closes) != tally.floods_opened:
        problems.append(
            f"{tally.floods_opened} close-flood sockets, {len(tally.flood_closes)} closed"
        )
    if tally.floods_slow:
        problems.append(f"closes against a flooding peer overran: {tally.floods_slow[:3]}")
    if tally.ws_unexpected:
        problems.append(f"sockets that failed: {tally.ws_unexpected[:3]}")
    return problems


def report(workload: Workload, ran: float, before: Snapshot, after: Snapshot) -> None:
    tally = workload.tally
    total = sum(tally.started.values())
    print(f"soak: {ran:.1f}s of work, {total} operations ({total / max(ran, 1e-9):.0f}/s)")
    for kind, count in sorted(tally.started.items()):
        print(f"  {kind:<10} {count}")
    print(f"  outcomes   {dict(sorted(tally.outcomes.items()))}")
    print(f"faults injected: {tally.faults} HTTP + {tally.ws_errors} WebSocket errors")
    print(f"random cancels: {tally.cancels}")
    print(f"cookie jar: {tally.cookies_kept} cookies after {tally.started['cookies']} floods")
    print(
        f"websockets: {tally.ws_opened} opened, {sum(tally.ws_closes.values())} closed, "
        f"{tally.ws_sent} messages sent, {tally.ws_received} echoed"
    )
    print(
        f"close floods: {tally.floods_opened} sockets to a peer that ignores the close frame, "
        f"{sum(tally.flood_closes.values())} closed within {FLOOD_CLOSE_BOUND:.0f}s"
    )
    print(f"threads: {before.threads} before, {after.threads} after")
    print(f"descriptors: {before.fds} before, {after.fds} after")


class _Count(logging.Handler):
    """Counts httpops log records that mean a bug: internal errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.bugs: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "internal error" in record.getMessage():
            self.bugs.append(record.getMessage())


def _stacks(names: frozenset[str]) -> str:
    """Where each thread named in ``names`` is: the clue a leak report needs."""
    frames = sys._current_frames()
    text = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if thread.name in names and frame is not None:
            text.append(f"stack of {thread.name}:\n")
            text.extend(traceback.format_stack(frame)[-6:])
    return "".join(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The websockets *server* logs a peer that vanishes mid-frame; that is our fault injection.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    bugs = _Count()
    logging.getLogger("httpops").addHandler(bugs)
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    servers = Servers()
    root = temp_root()
    try:
        rss_start = rss_mib()
        before = Snapshot.take()
        engine = httpops.Engine(make_config(root.name))
        workload = Workload(engine, servers, random.Random(seed))
        ran = run(workload, args.seconds, args.max_ops)
        problems = check(workload, engine)
        rss_end = rss_mib()
        engine.close(timeout=5.0)
        engine.poll()
        del engine, workload.engine
        after = settle(before, timeout=10.0)
        # Taken now, while the servers still run: where a leaked thread is stuck.
        stuck = _stacks(after.names - before.names)
        report(workload, ran, before, after)
    finally:
        servers.stop()
        root.cleanup()
    peak = peak_rss_mib()
    samples = workload.rss_samples
    warm = samples[len(samples) // 4] if samples else rss_start
    print(
        f"RSS: {rss_start:.0f} MiB at start, {warm:.0f} MiB after a quarter of the run, "
        f"{rss_end:.0f} MiB at the end, peak {peak:.0f} MiB (bound {args.rss_limit_mib:.0f} MiB)"
    )
    print(f"seed: {seed}")  # fmt: skip
    if after.threads > before.threads or after.fds > before.fds:
        problems.append(f"leaked threads {sorted(after.names - before.names)} or descriptors")
        print(stuck, end="")
    if bugs.bugs:
        problems.append(f"{len(bugs.bugs)} internal errors logged, first: {bugs.bugs[0]}")
    if peak > args.rss_limit_mib:
        problems.append(f"peak RSS {peak:.0f} MiB over the bound of {args.rss_limit_mib:.0f}")
    for problem in problems:
        print(f"VIOLATION: {problem}")
    print("soak: FAILED" if problems else "soak: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
