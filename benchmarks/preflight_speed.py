"""How long the training-config preflight takes, without torch in the process.

    .venv/bin/python benchmarks/preflight_speed.py

Builds the tiny local model and dataset (ftdoctor.trainer.tiny) in a temporary folder, then times:
the preflight in-process, the command line in fresh processes (described, CPU, and live machine), the
real-config corpus, and a config whose dataset is a 2 GB file. Prints a table; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = """base_model: ./model
datasets:
  - path: data/chat.jsonl
    type: chat_template
sequence_len: 128
adapter: lora
lora_r: 8
lora_target_linear: true
micro_batch_size: 4
gradient_accumulation_steps: 2
learning_rate: 0.0002
val_set_size: 0.05
"""


def build_project(folder: Path) -> Path:
    code = ("import sys; from ftdoctor.trainer import tiny; from pathlib import Path; p = Path(sys.argv[1]);"
            "tiny.build(p / 'model', weights=False); tiny.write_jsonl(p / 'data' / 'chat.jsonl', tiny.conversations(2000))")
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True)
    (folder / "config.yml").write_text(CONFIG, encoding="utf-8")
    return folder


def timed(argv: list[str], cwd: Path, runs: int = 3) -> tuple[float, int]:
    times, code = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        code = subprocess.run(argv, cwd=cwd, capture_output=True, text=True).returncode
        times.append(time.perf_counter() - started)
    return statistics.median(times), code


def in_process(project: Path, runs: int = 5) -> tuple[float, list[str]]:
    code = f"""
import json, statistics, sys, time
from ftdoctor.facts.model import Facts
from ftdoctor.matrix import load_matrix
from ftdoctor.rules.base import Context
from ftdoctor.trainer.machine import installed_packages
from ftdoctor.trainer.preflight import judge_preflight, prepare
from ftdoctor.trainer.target import described
matrix = load_matrix(); target = described("H100", 1, matrix, installed_packages())
times = []
for _ in range({runs}):
    t = time.perf_counter(); pre = prepare("config.yml", target)
    judge_preflight(pre, Context(facts=Facts(), matrix=matrix)); times.append(time.perf_counter() - t)
heavy = [m for m in ("torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "deepspeed") if m in sys.modules]
print(json.dumps([statistics.median(times), heavy]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def corpus() -> tuple[float, int]:
    code = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "trainer"))
from preflight_helpers import gpu_target, run_preflight
root = Path("tests/trainer/configs").resolve(); files = sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml"))
here = os.getcwd(); t = time.perf_counter()
for f in files:
    os.chdir(root / f.relative_to(root).parts[0]); run_preflight(f, gpu_target(count=8))
print(json.dumps([time.perf_counter() - t, len(files)]))
"""
    env = {**os.environ, "HF_HUB_CACHE": tempfile.mkdtemp()}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, env=env)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def big_dataset(project: Path) -> float:
    rows = "".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                            {"role": "assistant", "content": f"a{i}"}]}) + "\n" for i in range(5000))
    with (project / "data" / "big.jsonl").open("wb") as handle:
        handle.write(rows.encode())
        handle.truncate(2 * 1024 ** 3)
    (project / "big.yml").write_text(CONFIG.replace("data/chat.jsonl", "data/big.jsonl"), encoding="utf-8")
    seconds, _ = timed([sys.executable, "-m", "ftdoctor", "train", "big.yml", "--dry-run", "--cpu"], project, runs=1)
    (project / "data" / "big.jsonl").unlink()
    return seconds


def main() -> None:
    ftdoctor = [sys.executable, "-m", "ftdoctor"]
    with tempfile.TemporaryDirectory() as tmp:
        project = build_project(Path(tmp))
        inside, heavy = in_process(project)
        rows = [
            ("preflight in-process (tiny model + 2,000 conversations, tokenized)", inside, f"heavy modules: {heavy or 'none'}"),
            ("ftdoctor train config.yml --dry-run --gpu H100", *timed(ftdoctor + ["train", "config.yml", "--dry-run", "--gpu", "H100"], project)),
            ("ftdoctor train config.yml --dry-run --cpu", *timed(ftdoctor + ["train", "config.yml", "--dry-run", "--cpu"], project)),
            ("ftdoctor train config.yml --dry-run --no-torch (probes this machine)", *timed(ftdoctor + ["train", "config.yml", "--dry-run", "--no-torch"], project)),
            ("ftdoctor estimate config.yml --gpu 'RTX 4090'", *timed(ftdoctor + ["estimate", "config.yml", "--gpu", "RTX 4090"], project)),
            ("ftdoctor check --no-torch --config config.yml", *timed(ftdoctor + ["check", "--no-torch", "--config", "config.yml"], project)),
            ("preflight of a config whose dataset is a 2 GB file (--cpu)", big_dataset(project), "streamed"),
        ]
        seconds, count = corpus()
        rows.append((f"corpus: {count} real configs, in one process", seconds, f"{seconds / count * 1000:.0f} ms each"))
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'seconds':>8}  note")
    print(f"{'-' * width}  {'-' * 8}  ----")
    for name, seconds, note in rows:
        note = f"exit {note}" if isinstance(note, int) else note
        print(f"{name:<{width}}  {seconds:8.3f}  {note}")


if __name__ == "__main__":
    main()
