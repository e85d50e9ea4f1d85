"""How fast `ftdoctor` answers, beside torch's own environment report.

    python benchmarks/bench_check.py [--runs N]

Runs each command N times, round-robin (so background load hits them alike), and prints a table of
wall-clock seconds: median, fastest, slowest. Targets (issue 2): `check --no-torch` well under 0.5 s on a
2-core machine, and the full `check` (which imports torch in a subprocess) faster than
`python -m torch.utils.collect_env`, which imports torch in-process and then runs pip, lscpu and more.
"""

from __future__ import annotations

import argparse
import os
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


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.path.expanduser("~"))
    return time.perf_counter() - started


def measure(rows: list[tuple[str, list[str]]], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name, _ in rows}
    for name, argv in rows:  # one warm-up each: the page cache, not the first run's disk reads, is measured
        time_once(argv)
    for _ in range(runs):
        for name, argv in rows:
            times[name].append(time_once(argv))
    return times


def table(times: dict[str, list[float]]) -> str:
    width = max(len(name) for name in times)
    lines = [f"{'command':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}  runs",
             f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}  ----"]
    for name, samples in times.items():
        lines.append(f"{name:<{width}}  {statistics.median(samples):>9.3f}  {min(samples):>7.3f}  {max(samples):>7.3f}"
                     f"  {len(samples):>4}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with ftdoctor (and torch) installed")
    args = parser.parse_args()
    python = shutil.which(args.python) or args.python
    print(f"{os.cpu_count()} CPU(s), python {python}, {args.runs} runs each (after one warm-up)\n")
    print(table(measure(commands(python), args.runs)))


if __name__ == "__main__":
    main()
