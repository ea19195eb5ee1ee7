"""The benchmark runner: ``python -m bench [--quick] [--only NAME ...]`` (``make bench``).

It imports every module ``bench/bench_*.py`` in sorted order and calls its
``run(quick: bool) -> list[dict]``. Each returned table is printed as
Markdown and written to ``bench/results/<name>.json`` together with the
machine it ran on. A module that raises is reported with its traceback and
the others still run; the exit status is 1 if any failed.

``make`` cannot pass flags, so the environment works too:
``make bench BENCH_QUICK=1 BENCH_ONLY=requests,host``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import report

_PACKAGE_DIR = Path(__file__).resolve().parent
# Below this fraction of idle CPU before a module starts, its figures are flagged.
BUSY_IDLE = 0.8


def discover() -> list[str]:
    """Names of the benchmark modules (``bench_*``), sorted."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(_PACKAGE_DIR)])
        if info.name.startswith("bench_")
    )


def _select(modules: list[str], only: list[str]) -> list[str]:
    if not only:
        return modules
    wanted = {name if name.startswith("bench_") else f"bench_{name}" for name in only}
    unknown = wanted - set(modules)
    if unknown:
        known = ", ".join(m.removeprefix("bench_") for m in modules)
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; known: {known}")
    return [m for m in modules if m in wanted]


def run_module(name: str, quick: bool, machine: dict[str, Any], write: bool) -> bool:
    """Run one module; print and write its tables. Returns False if it failed."""
    print(f"## {name}{' (quick)' if quick else ''}\n", flush=True)
    idle = report.cpu_idle()
    if idle is not None and idle < BUSY_IDLE:
        print(
            f"_Warning: the machine was busy before this module ({idle:.0%} of CPU idle); "
            "its figures are pessimistic._\n",
            flush=True,
        )
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        tables = [report.check_table(t) for t in module.run(quick)]
    except Exception:
        print(f"**{name} FAILED** after {time.perf_counter() - started:.1f} s:\n")
        print("```\n" + traceback.format_exc().rstrip() + "\n```\n", flush=True)
        return False
    elapsed = time.perf_counter() - started
    extra = {
        "module": name,
        "quick": quick,
        "elapsed_s": round(elapsed, 2),
        "cpu_idle_before": None if idle is None else round(idle, 3),
    }
    for table in tables:
        print(report.format_table(table), flush=True)
        if write:
            report.write(table, machine, extra)
    print(f"_{name}: {elapsed:.1f} s_\n", flush=True)
    return True


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0")
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[n for n in os.environ.get("BENCH_ONLY", "").split(",") if n],
        metavar="NAME",
        help="run only this module (e.g. requests or bench_requests); repeatable",
    )
    parser.add_argument(
        "--server",
        choices=("auto", "nginx", "own"),
        default=None,
        help="benchmark server: nginx when installed (auto, the default) or our own",
    )
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not write bench/results"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; 0 if all succeeded."""
    args = _parse(argv)
    modules = discover()
    if args.list:
        print("\n".join(modules))
        return 0
    selected = _select(modules, args.only)
    if args.server:
        os.environ["HTTPOPS_BENCH_SERVER"] = args.server  # read by bench.server.BenchServer
    machine = report.machine_info()
    print(
        f"# httpops benchmarks{' (quick)' if args.quick else ''}\n\n"
        f"{machine['cpu_count']} CPUs ({machine['cpu']}), {machine['implementation']} "
        f"{machine['python']}, {machine['platform']}, requests {machine['requests']}, "
        f"urllib3 {machine['urllib3']}, commit {(machine['git_commit'] or '?')[:12]}"
        f"{' (dirty)' if machine['git_dirty'] else ''}, {machine['date']}\n",
        flush=True,
    )
    started = time.perf_counter()
    failed = [m for m in selected if not run_module(m, args.quick, machine, not args.no_write)]
    total = time.perf_counter() - started
    status = f"FAILED: {', '.join(failed)}" if failed else "all passed"
    print(f"{len(selected)} module(s) in {total:.1f} s; {status}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
