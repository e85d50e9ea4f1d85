"""How fast `ftdoctor` answers, beside torch's own environment report.

    python benchmarks/bench_check.py [--runs N] [--as-found]

Runs each command N times, round-robin (so background load hits them alike), and prints a table of
wall-clock seconds (median, fastest, slowest) and the median CPU seconds the command and its children used.
Wall time is what a user waits; CPU time is what the command costs, and barely moves when other work shares
the machine, so a wall median far above it means the run was contended (the load average is printed too).
Targets (issue 2): `check --no-torch` well under 0.5 s on a 2-core machine, and the full `check` (which
imports torch in a subprocess) faster than `python -m torch.utils.collect_env`, which imports torch
in-process and then runs pip, lscpu and more.

ftdoctor's own modules are byte-compiled first, as pip and uv do when they install a package: an editable
checkout under PYTHONDONTWRITEBYTECODE=1 otherwise recompiles every module on every run (about 0.1 s here),
which no installed copy does. `--as-found` skips that step and measures whatever bytecode is there (none, in
such a checkout that was never compiled).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def commands(python: str) -> list[tuple[str, list[str]]]:
    script = os.path.join(os.path.dirname(python), "ftdoctor")
    ftdoctor = [script] if os.access(script, os.X_OK) else [python, "-m", "ftdoctor"]
    rows = [
        ("ftdoctor --help", ftdoctor + ["--help"]),
        ("ftdoctor check --no-torch", ftdoctor + ["check", "--no-torch"]),
        ("ftdoctor check", ftdoctor + ["check"]),
    ]
    if _has_torch(python):
        rows.append(("python -m torch.utils.collect_env", [python, "-m", "torch.utils.collect_env"]))
    return rows


def _has_torch(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('torch') is not None)"],
                           capture_output=True, text=True)
    return probe.stdout.strip() == "True"


def time_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every child it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.path.expanduser("~"))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(rows: list[tuple[str, list[str]]], runs: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in rows}
    for name, argv in rows:  # one warm-up each: the page cache, not the first run's disk reads, is measured
        time_once(argv)
    for _ in range(runs):
        for name, argv in rows:
            times[name].append(time_once(argv))
    return times


def table(times: dict[str, list[tuple[float, float]]]) -> str:
    width = max(len(name) for name in times)
    lines = [f"{'command':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}  {'cpu s':>6}  runs",
             f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}  {'-' * 6}  ----"]
    for name, samples in times.items():
        wall = [w for w, _ in samples]
        cpu = statistics.median(c for _, c in samples)
        lines.append(f"{name:<{width}}  {statistics.median(wall):>9.3f}  {min(wall):>7.3f}  {max(wall):>7.3f}"
                     f"  {cpu:>6.3f}  {len(samples):>4}")
    return "\n".join(lines)


def compile_ftdoctor(python: str) -> str:
    """Byte-compile the ftdoctor package the interpreter imports; says where, for the table's heading."""
    where = subprocess.run([python, "-c", "import ftdoctor, os; print(os.path.dirname(ftdoctor.__file__))"],
                           capture_output=True, text=True).stdout.strip()
    # by the measured interpreter: the bytecode's file name and format are its own
    if where and subprocess.run([python, "-m", "compileall", "-q", where], stdout=subprocess.DEVNULL).returncode == 0:
        return "ftdoctor byte-compiled (as installed)"
    return "ftdoctor NOT byte-compiled (could not write its __pycache__)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with ftdoctor (and torch) installed")
    parser.add_argument("--as-found", action="store_true",
                        help="do not byte-compile ftdoctor first: measure the bytecode as found (an editable checkout)")
    args = parser.parse_args()
    python = shutil.which(args.python) or args.python
    compiled = "ftdoctor's bytecode as found" if args.as_found else compile_ftdoctor(python)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPU(s), load average {load}, python {python}, {args.runs} runs each (after one warm-up), "
          f"{compiled}\n")
    print(table(measure(commands(python), args.runs)))


if __name__ == "__main__":
    main()
