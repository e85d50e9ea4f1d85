"""What the run shows and records while it trains, as Trainer callbacks (transformers is imported inside).

`TerminalProgress` replaces the Trainer's own progress bar: one bar, and at each log step a line with the
loss, grad norm, learning rate, tokens/s and peak memory; the same numbers go to `run/metrics.jsonl` (and
to TensorBoard, which is re-added after it so that it sees them; `TensorBoard.choose` decides whether it
logs, and the run says so either way). `RuntimeCheck` records what actually ran
(world size, the distributed mode, the class the model was wrapped in) and stops a run whose processes
do not form the world it was launched for: each would otherwise train alone on the whole data.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ftdoctor.trainer.recipe.job import Job

SHOWN = (("loss", "loss {:.4g}"), ("eval_loss", "eval loss {:.4g}"), ("grad_norm", "grad norm {:.3g}"),
         ("learning_rate", "lr {:.2e}"), ("tokens_per_second", "{:,.0f} tok/s"), ("memory_mib", "{:,.0f} MiB"))


@dataclass(frozen=True)
class TensorBoard:
    """Whether this run logs to TensorBoard, and the line that tells the user either way."""

    on: bool
    note: str
    folder: str | None = None  # what to point `tensorboard --logdir` at

    @classmethod
    def choose(cls, job: Job, wanted: bool | None) -> "TensorBoard":
        """On when a writer is importable in THIS interpreter (the training one) and the config did not turn it
        off; the fallback is the terminal and metrics.jsonl, which the note names."""
        import os

        # transformers writes to TENSORBOARD_LOGGING_DIR when set, else one subfolder of output_dir/runs per launch
        folder = os.path.expanduser(os.environ.get("TENSORBOARD_LOGGING_DIR") or str(Path(job.output_dir) / "runs"))
        if wanted is False:
            return cls(False, "not logging to TensorBoard: use_tensorboard: false (metrics: run/metrics.jsonl)")
        if not tensorboard_installed():
            return cls(False, f"not logging to TensorBoard: tensorboard is not installed for {sys.executable} "
                              "(pip install tensorboard); the metrics are in run/metrics.jsonl")
        return cls(True, f"logging to TensorBoard in {folder} (view: tensorboard --logdir {folder})", folder)


def tensorboard_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("tensorboard") is not None or find_spec("tensorboardX") is not None


class WorldMismatch(RuntimeError):
    """The processes do not form the world the run was launched for."""


def peak_memory_mib(device: str) -> float:
    """Peak memory of this process: the GPU's allocator on CUDA, the resident set on the CPU."""
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _base():
    from transformers import TrainerCallback

    return TrainerCallback


class MetricsWindow:
    """Tokens per second since the first step ended, from the Trainer's count of non-padding input tokens
    (the first step pays for warm-up; step-to-step rates jump with every log, save and epoch boundary)."""

    def __init__(self) -> None:
        self.tokens: int | None = None
        self.time = 0.0

    def start(self, tokens_seen: int) -> None:
        if self.tokens is None:
            self.tokens, self.time = tokens_seen, time.perf_counter()

    def rate(self, tokens_seen: int | None) -> float | None:
        now = time.perf_counter()
        if tokens_seen is None or self.tokens is None or now <= self.time or tokens_seen <= self.tokens:
            return None
        return (tokens_seen - self.tokens) / (now - self.time)


def terminal_progress(job: Job, stream: TextIO | None = None):
    """A callback instance (built here so that transformers is imported only when the recipe runs)."""

    class TerminalProgress(_base()):
        def __init__(self) -> None:
            self.stream = stream or sys.stderr
            self.bar = None
            self.window = MetricsWindow()
            self.metrics = job.run_dir / "metrics.jsonl"

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="training", unit="step",
                                file=self.stream, dynamic_ncols=True)
            self.window = MetricsWindow()

        def on_step_end(self, args, state, control, **kwargs):
            self.window.start(state.num_input_tokens_seen or 0)
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs if logs is not None else {}
            if "loss" in logs:
                rate = self.window.rate(logs.get("num_input_tokens_seen", state.num_input_tokens_seen))
                if rate is not None:
                    logs["tokens_per_second"] = rate
                logs["memory_mib"] = peak_memory_mib(job.device)
            if not state.is_world_process_zero:
                return
            record = {"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
            with self.metrics.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            shown = [fmt.format(logs[key]) for key, fmt in SHOWN if isinstance(logs.get(key), (int, float))]
            if shown and self.bar is not None:
                self.bar.write(f"step {state.global_step}/{state.max_steps} · " + " · ".join(shown), file=self.stream)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    return TerminalProgress()


def runtime_check(job: Job, trainer_ref: list):
    """A callback that records what actually ran; `trainer_ref[0]` is the trainer (set once it exists)."""

    class RuntimeCheck(_base()):
        def __init__(self) -> None:
            self.seen: dict[str, Any] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            self.seen = observed(trainer_ref[0])
            self.seen["mismatch"] = mismatch(job, self.seen)
            if self.seen["mismatch"] and state.is_world_process_zero:
                print(f"ftdoctor: WARNING: {self.seen['mismatch']}", file=sys.stderr, flush=True)
            if state.is_world_process_zero:
                from ftdoctor import atomic

                atomic.write_text(job.run_dir / "runtime.json", json.dumps(self.seen, indent=2) + "\n",
                                  overwrite=True)
            if self.seen["world_size"] != job.processes:
                raise WorldMismatch(
                    f"launched for {job.processes} processes but this one sees a world of {self.seen['world_size']} "
                    f"({self.seen['distributed_type']}): each process would train alone on all the data")

    return RuntimeCheck()


EXPECTED = {"deepspeed": ("deepspeed_enabled", "DeepSpeed"), "fsdp": ("fsdp_enabled", "FSDP")}


def mismatch(job: Job, seen: dict[str, Any]) -> str:
    """What ran differently from what was launched ("" when nothing): FSDP on a CPU becomes DDP silently."""
    if job.distributed in EXPECTED:
        flag, name = EXPECTED[job.distributed]
        if not seen[flag]:
            return (f"{name} was asked for, but the model runs in {seen['wrapper']} ({seen['distributed_type']}): "
                    f"every process holds the whole model")
    if job.distributed == "ddp" and seen["wrapper"] != "DistributedDataParallel":
        return f"DDP was asked for, but the model runs in {seen['wrapper']} ({seen['distributed_type']})"
    return ""


def observed(trainer) -> dict[str, Any]:
    accelerator = trainer.accelerator
    wrapped = trainer.model_wrapped
    backend = None
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        backend = str(dist.get_backend())
    return {
        "world_size": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type).rsplit(".", 1)[-1],
        "backend": backend,
        "wrapper": type(wrapped).__name__,
        "model": type(trainer.model).__name__,
        "fsdp_enabled": bool(trainer.is_fsdp_enabled),
        "deepspeed_enabled": bool(trainer.is_deepspeed_enabled),
        "device": str(accelerator.device),
    }


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
