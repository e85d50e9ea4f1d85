"""How long the CI formats and the fleet commands take, as a user runs them (a fresh process each time).

    .venv/bin/python benchmarks/ci_formats.py [--nodes 64] [--repeat 3]

Prints a table: the command, the median wall time over the repeats. Snapshots are written to a temporary
folder from the test fixtures' node (tests/ci/ci_machines.py), each node a little different.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "ci"))

from ci_machines import node, save  # noqa: E402

from ftdoctor.facts.model import Resolved  # noqa: E402


def fleet(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        facts = node(f"node{i:03d}")
        if i % 7 == 0:  # a few nodes on another driver, so that the comparison has something to say
            facts = replace(facts, driver=replace(facts.driver, driver_version=Resolved("580.82.07", "nvml")))
        paths.append(save(facts, folder / f"node{i:03d}.json"))
    return paths


def timed(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ftdoctor", *args], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = fleet(folder, options.nodes)
        rows = [(f"check --facts ONE --format {fmt}", ["check", "--facts", str(paths[0]), "--format", fmt])
                for fmt in ("terminal", "json", "junit", "github", "sarif", "markdown")]
        rows += [
            (f"compare {options.nodes} snapshots", ["compare", "--facts-dir", str(folder)]),
            (f"check --facts-dir ({options.nodes}) --format junit", ["check", "--facts-dir", str(folder), "--format", "junit"]),
            (f"check --facts-dir ({options.nodes}) --format sarif", ["check", "--facts-dir", str(folder), "--format", "sarif"]),
        ]
        width = max(len(name) for name, _ in rows)
        print(f"{'command':<{width}}  median s  (of {options.repeat})")
        for name, args in rows:
            print(f"{name:<{width}}  {timed(args, options.repeat):8.3f}")


if __name__ == "__main__":
    main()
