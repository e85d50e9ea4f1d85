"""How long `ftdoctor check --verify` takes, against the slowest smoke test run alone.

The smoke tests run concurrently, so the whole should cost little more than the slowest one plus the plain
`check`, as long as the machine has a core per smoke; on fewer cores they share them and the total grows
towards the sum of their CPU time. The table says which.

    .venv/bin/python benchmarks/bench_verify.py [--repeat 3] [--python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SMOKES = ("torch", "bitsandbytes-4bit", "flash-attn", "distributed", "deepspeed", "triton")


def timed(args: list[str]) -> tuple[float, dict]:
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ftdoctor", "check", "--json", *args],
                          capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - began
    try:
        return wall, json.loads(proc.stdout)["data"]
    except (ValueError, KeyError):
        raise SystemExit(f"ftdoctor check {' '.join(args)} printed no JSON: {proc.stderr.strip()[-500:]}") from None


def median_run(args: list[str], repeat: int) -> tuple[float, dict]:
    runs = [timed(args) for _ in range(repeat)]
    walls = [wall for wall, _ in runs]
    return statistics.median(walls), runs[walls.index(statistics.median_low(walls))][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown (default 3)")
    parser.add_argument("--python", help="the interpreter to diagnose (default: this one)")
    options = parser.parse_args()
    base = ["--python", options.python] if options.python else []

    rows = []
    plain, _ = median_run(base, options.repeat)
    rows.append(("check (no smoke tests)", plain, "", ""))
    alone = {}
    for name in SMOKES:
        wall, data = median_run([*base, "--verify-only", name], options.repeat)
        smoke = data["verify"]["smokes"][0]
        alone[name] = smoke["elapsed_s"]
        rows.append((f"check --verify-only {name}", wall, f"{smoke['elapsed_s']:.2f}", smoke["status"]))
    total, data = median_run([*base, "--verify"], options.repeat)
    together = {s["name"]: s["elapsed_s"] for s in data["verify"]["smokes"]}
    rows.append(("check --verify (all of them)", total, f"{data['verify']['elapsed_s']:.2f}", ""))

    slowest = max(alone, key=alone.get)
    print(f"ftdoctor check --verify: {os.cpu_count()} CPU core(s), median of {options.repeat} run(s)\n")
    print(f"| {'command':<38} | {'wall s':>7} | {'smoke s':>8} | status  |")
    print(f"|{'-' * 40}|{'-' * 9}|{'-' * 10}|---------|")
    for label, wall, smoke_s, status in rows:
        print(f"| {label:<38} | {wall:7.2f} | {smoke_s:>8} | {status:<7} |")
    print()
    print(f"| {'smoke test':<20} | {'alone s':>7} | {'together s':>10} |")
    print(f"|{'-' * 22}|{'-' * 9}|{'-' * 12}|")
    for name in SMOKES:
        print(f"| {name:<20} | {alone[name]:7.2f} | {together.get(name, float('nan')):10.2f} |")
    print()
    verify_phase = data["verify"]["elapsed_s"]
    print(f"slowest single smoke: {slowest} ({alone[slowest]:.2f} s alone); all smokes together: {verify_phase:.2f} s "
          f"({verify_phase / alone[slowest]:.2f}x the slowest); sum of the smokes alone: {sum(alone.values()):.2f} s")
    print(f"check --verify {total:.2f} s = plain check {plain:.2f} s + {total - plain:.2f} s for the smoke tests")


if __name__ == "__main__":
    main()
