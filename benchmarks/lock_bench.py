"""How long `ftdoctor lock` takes for described targets, offline: in-process (the search and the rules) and as
a command (process start included). Prints a table; run it with the project's interpreter:

    .venv/bin/python benchmarks/lock_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SCENARIOS = [
    ("H100, driver 580, py3.12, all extras", ["--gpu", "H100", "--driver", "580.95.05", "--python", "3.12", "--with", "flash-attn,bitsandbytes,deepspeed"]),
    ("H100, newest policy, all extras", ["--gpu", "H100", "--driver", "580.95.05", "--python", "3.12", "--with", "flash-attn,bitsandbytes,deepspeed", "--prefer", "newest"]),
    ("A100, driver 535, py3.10", ["--gpu", "A100", "--driver", "535.104.05", "--python", "3.10", "--with", "bitsandbytes"]),
    ("RTX 5090, driver 575, newest", ["--gpu", "RTX 5090", "--driver", "575.57.08", "--python", "3.12", "--prefer", "newest"]),
    ("V100, driver 535", ["--gpu", "V100", "--driver", "535.104.05", "--python", "3.12", "--with", "bitsandbytes,deepspeed"]),
    ("CPU only", ["--cpu", "--python", "3.12", "--with", "bitsandbytes,deepspeed"]),
    ("T4 + flash-attn (impossible: advice)", ["--gpu", "T4", "--driver", "535.104.05", "--python", "3.12", "--with", "flash-attn"]),
]


def in_process(args: list[str], repeat: int) -> list[float]:
    from ftdoctor.cli import command_parser, COMMANDS
    from ftdoctor.cli import lock as lock_cli
    from ftdoctor.lock.search import Request, lock
    from ftdoctor.lock.target import described
    from ftdoctor.lock.torch_choice import parse_pin
    from ftdoctor.matrix import load_matrix
    from ftdoctor.lock import stack

    command = next(c for c in COMMANDS if c.name == "lock")
    ns = command_parser(command, lock_cli).parse_args(args)
    times = []
    for _ in range(repeat):
        stack._CHOSEN.clear()  # no warm search cache: every run pays for the whole search
        start = time.perf_counter()
        matrix = load_matrix()
        target = described(matrix, gpu=ns.gpu, driver=ns.driver, python=ns.python, platform=ns.platform, cpu=ns.cpu)
        lock(matrix, Request(target, lock_cli._extras(ns.extras), parse_pin(ns.torch), ns.prefer))
        times.append(time.perf_counter() - start)
    return times


def as_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ftdoctor", "lock", *args], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    opts = parser.parse_args()
    print(f"{'scenario':<42} {'in-process median':>18} {'max':>8} {'command (wall)':>15}")
    print("-" * 86)
    for name, args in SCENARIOS:
        times = in_process(args, opts.repeat)
        wall = as_command(args)
        print(f"{name:<42} {statistics.median(times) * 1000:>15.1f} ms {max(times) * 1000:>5.0f} ms {wall * 1000:>12.0f} ms")


if __name__ == "__main__":
    main()
