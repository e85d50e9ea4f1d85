"""Benchmark `ftdoctor explain`: seconds and throughput per log size and shape, printed as a table.

    .venv/bin/python benchmarks/bench_explain.py            # 1, 10 and 50 MB
    .venv/bin/python benchmarks/bench_explain.py --sizes 10 200

Logs are generated in memory (no files): "trainer" is a HuggingFace Trainer run (a loss dict per step,
tqdm progress bars with carriage returns) ending in a CUDA OOM; "errors" repeats the real-log corpus, so
nearly every line is a candidate; "ranks" interleaves 8 ranks with [rankN]: prefixes; "wide" has 64 KiB
lines. Each row is the best of --repeat runs of explain_stream (catalog and matrix already loaded, as in
a warm process), plus the one-off cost of loading them. A second table times what a user waits for: the
`ftdoctor explain FILE` process from start to exit on the "trainer" log, with --no-facts and with this
machine's facts probed (the default).
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ftdoctor.explain import explain_stream
from ftdoctor.explain.catalog import load_catalog
from ftdoctor.matrix import load_matrix

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "explain" / "logs"
OOM = b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB of which 1.00 MiB is free.\n"


def trainer(size: int) -> bytes:
    rng, out, n, step = random.Random(0), [], 0, 0
    while n < size:
        step += 1
        line = (f"{{'loss': {rng.uniform(0.5, 3):.4f}, 'grad_norm': {rng.uniform(0, 2):.4f}, "
                f"'learning_rate': {2e-5 * rng.random():.3e}, 'epoch': {step / 1000:.3f}}}\n"
                f" {step % 100:3d}%|####      | {step}/100000 [01:23<12:34, 1.23it/s]\r").encode()
        out.append(line)
        n += len(line)
    return b"".join(out) + OOM


def errors(size: int) -> bytes:
    corpus = b"\n".join(p.read_bytes() for p in sorted(CORPUS.glob("*.log")))
    return (corpus * (size // len(corpus) + 1))[:size] + b"\n" + OOM


def ranks(size: int) -> bytes:
    body = trainer(size // 8)
    lines = body.splitlines(keepends=True)
    return b"".join(f"[rank{i % 8}]: ".encode() + line for i, line in enumerate(lines * 8))[:size] + b"\n" + OOM


def wide(size: int) -> bytes:
    line = (b"x" * 65535) + b"\n"
    return line * (size // len(line)) + OOM


SHAPES = {"trainer": trainer, "errors": errors, "ranks": ranks, "wide": wide}


def best_of(data: bytes, repeat: int) -> tuple[float, int, int]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = explain_stream(io.BytesIO(data))
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result.read.lines, len(result.diagnoses)


def cli_best_of(path: Path, facts: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ftdoctor", "explain", str(path), *facts, "--json"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def cli_table(sizes: list[float], repeat: int) -> None:
    print(f"\n{'command line (trainer log)':<34} {'size MB':>8} {'seconds':>8}")
    print("-" * 52)
    with tempfile.TemporaryDirectory() as folder:
        for size_mb in sizes:
            path = Path(folder) / "train.log"
            path.write_bytes(trainer(int(size_mb * 1_000_000)))
            for label, facts in (("ftdoctor explain LOG --no-facts", ["--no-facts"]), ("ftdoctor explain LOG", [])):
                print(f"{label:<34} {size_mb:>8.1f} {cli_best_of(path, facts, repeat):>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 50], help="log sizes in MB")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line table")
    args = parser.parse_args()
    start = time.perf_counter()
    load_catalog()
    load_matrix()
    print(f"catalog + matrix load: {time.perf_counter() - start:.3f} s ({len(load_catalog().signatures)} signatures)\n")
    print(f"{'shape':<8} {'size MB':>8} {'lines':>10} {'seconds':>8} {'MB/s':>7} {'found':>5}")
    print("-" * 52)
    for shape in args.shapes:
        for size_mb in args.sizes:
            data = SHAPES[shape](int(size_mb * 1_000_000))
            seconds, lines, found = best_of(data, args.repeat)
            mb = len(data) / 1_000_000
            print(f"{shape:<8} {mb:>8.1f} {lines:>10,} {seconds:>8.3f} {mb / seconds:>7.1f} {found:>5}")
    if not args.no_cli:
        cli_table(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
