"""Training throughput of `ftdoctor train` against a plain TRL script, and the gain from packing.

    .venv/bin/python benchmarks/train_speed.py [--steps 200] [--repeats 3]

Builds the tiny local model (ftdoctor.trainer.tiny) and 2,000 short conversations in a temporary folder.
Then, alternating in fresh processes, the same LoRA SFT run (batch 8, sequence_len 128, assistant-only loss)
through `ftdoctor train` (preflight, gate, worker with its progress bar and metrics log) and through
benchmarks/plain_trl_sft.py. Throughput is the trainer's own count of non-padding input tokens over its
train_runtime, so process start-up and the gate are reported apart (wall time). Then ftdoctor runs without
and with `sample_packing` on the same short examples (sequence_len 256). Prints a table; asserts nothing.

The machine this runs on is usually shared, and other processes make wall-clock rates swing by 10× from run
to run. So two rates are shown: tokens per second of wall time (the best of the alternating repeats: a
neighbour only ever slows a run down) and tokens per CPU-second of the training process (process time
around `trainer.train()`, measured the same way in both), which a neighbour disturbs far less. The
wrapper's cost is judged on the CPU rate. Every run gets one thread (OMP_NUM_THREADS=1): with two, torch's
threads spin while they wait for each other, and on a busy machine that spinning is most of the CPU time.
Neither run logs to TensorBoard (the plain script reports to nothing; ftdoctor's config sets
`use_tensorboard: false`), so that the comparison is of the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
CONFIG = """base_model: ./model
datasets:
  - path: data/chat.jsonl
    type: chat_template
adapter: lora
lora_r: 16
lora_alpha: 32
lora_target_linear: true
sequence_len: {length}
sample_packing: {packing}
micro_batch_size: 8
gradient_accumulation_steps: 1
learning_rate: 0.002
lr_scheduler: constant
max_steps: {steps}
logging_steps: 5
save_strategy: "no"
use_tensorboard: false
seed: 0
output_dir: ./{out}
"""


def build(folder: Path) -> None:
    code = ("import sys; from pathlib import Path; from ftdoctor.trainer import tiny; p = Path(sys.argv[1]);"
            "tiny.build(p / 'model'); tiny.write_jsonl(p / 'data' / 'chat.jsonl', tiny.conversations(2000))")
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True)


def ftdoctor_run(folder: Path, steps: int, *, packing: bool = False, length: int = 128) -> tuple[float, float]:
    name = f"{'packed' if packing else 'ftd'}-{length}.yml"
    (folder / name).write_text(CONFIG.format(steps=steps, packing=str(packing).lower(), length=length,
                                             out=name.removesuffix(".yml")), encoding="utf-8")
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ftdoctor", "train", name, "--overwrite"], cwd=folder,
                          capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"ftdoctor train failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result = json.loads((folder / name.removesuffix(".yml") / "run" / "result.json").read_text())
    return _rate(result["metrics"]), wall


def plain_run(folder: Path, steps: int) -> tuple[float, float]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / "plain_trl_sft.py"), str(folder), str(steps)],
                          capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"the plain TRL script failed:\n{done.stderr[-2000:]}")
    return _rate(json.loads(done.stdout.strip().splitlines()[-1])), wall


def _rate(metrics: dict) -> tuple[float, float]:
    tokens = metrics["num_input_tokens_seen"]
    return tokens / metrics["train_runtime"], tokens / metrics["train_cpu_seconds"]


def row(name: str, rates: list[tuple[float, float]], walls: list[float]) -> str:
    wall = [r[0] for r in rates]
    cpu = [r[1] for r in rates]
    return (f"| {name} | {max(wall):,.0f} | {min(wall):,.0f}–{max(wall):,.0f} | {statistics.median(cpu):,.0f} | "
            f"{min(cpu):,.0f}–{max(cpu):,.0f} | {min(walls):.1f} s | {len(rates)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftdoctor-bench-") as tmp:
        folder = Path(tmp)
        build(folder)
        ftd, plain = ([], []), ([], [])
        for _ in range(options.repeats):  # alternate, so that a busy moment hits both
            for sink, run in ((plain, plain_run), (ftd, ftdoctor_run)):
                rate, wall = run(folder, options.steps)
                sink[0].append(rate)
                sink[1].append(wall)
        loose = ([], [])
        packed = ([], [])
        for _ in range(max(1, options.repeats - 1)):
            for sink, packing in ((loose, False), (packed, True)):
                rate, wall = ftdoctor_run(folder, options.steps, packing=packing, length=256)
                sink[0].append(rate)
                sink[1].append(wall)
    report(options, plain, ftd, loose, packed)


def report(options, plain, ftd, loose, packed) -> None:
    import platform

    cpu = lambda runs: statistics.median(r[1] for r in runs[0])  # noqa: E731
    best = lambda runs: max(r[0] for r in runs[0])  # noqa: E731
    cost, wall_cost = 1 - cpu(ftd) / cpu(plain), 1 - best(ftd) / best(plain)
    gain, wall_gain = cpu(packed) / cpu(loose), best(packed) / best(loose)
    print(f"tiny Llama (hidden 64, 2 layers) + LoRA r16, {options.steps} steps of 8 conversations, "
          f"{platform.machine()} CPU, one thread per run, {options.repeats} alternating repeats\n")
    print("| run | tokens/s (wall), best | range | tokens per CPU-second, median | range | whole command, best "
          "| runs |")
    print("|---|---|---|---|---|---|---|")
    print(row("plain TRL script", *plain))
    print(row("`ftdoctor train` (same training)", *ftd))
    print(row("`ftdoctor train`, sequence_len 256, no packing", *loose))
    print(row("`ftdoctor train`, sequence_len 256, sample_packing", *packed))
    print(f"\nwrapper cost on training throughput: {cost:+.1%} per CPU-second (median), {wall_cost:+.1%} wall "
          "(best to best); negative: ftdoctor was faster")
    print(f"packing gain on short examples: × {gain:.2f} per CPU-second (median), × {wall_gain:.2f} wall (best)")


if __name__ == "__main__":
    main()
