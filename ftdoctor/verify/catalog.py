"""The smoke tests ftdoctor can run, by name. Names are stable: the trainer's gate asks for them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ftdoctor.errors import UsageError

SMOKES_DIR = Path(__file__).resolve().parent / "smokes"


@dataclass(frozen=True)
class SmokeOptions:
    world_size: int = 2  # ranks of the distributed smoke
    timeout_s: float | None = None  # one bound for every smoke instead of each one's own
    deepspeed_ops: tuple[str, ...] = ()  # ops for "deepspeed-ops"; empty: the optimizer ops ZeRO needs here
    notice_every_s: float = 10.0  # how often a still-running smoke is announced (when a stream is given)


@dataclass(frozen=True)
class Smoke:
    name: str
    script: str  # a file in smokes/
    timeout_s: float
    summary: str
    arguments: Callable[[SmokeOptions, float], list[str]] = lambda options, timeout: []
    opt_in: bool = False  # slow: runs only when asked for by name

    def argv(self, python: str, options: SmokeOptions) -> list[str]:
        return [python, str(SMOKES_DIR / self.script), *self.arguments(options, self.bound(options))]

    def bound(self, options: SmokeOptions) -> float:
        return options.timeout_s or self.timeout_s


def _distributed_args(options: SmokeOptions, timeout: float) -> list[str]:
    # The launcher's own bound is shorter, so that it can still say which rank hung where.
    return ["--world-size", str(options.world_size), "--timeout", f"{max(1.0, timeout * 0.75):.1f}"]


def _deepspeed_ops_args(options: SmokeOptions, timeout: float) -> list[str]:
    return ["--build", *options.deepspeed_ops]


CATALOG = (
    Smoke("torch", "smoke_torch.py", 120, "CUDA initialisation and a matmul on every visible device (the CPU without one)"),
    Smoke("bitsandbytes-4bit", "smoke_bitsandbytes.py", 180,
          "bitsandbytes' native library, its sanity check, a 4-bit NF4 layer + LoRA training step"),
    Smoke("flash-attn", "smoke_flash_attn.py", 180, "flash-attn's compiled extension imports; forward matches sdpa on a GPU"),
    Smoke("distributed", "smoke_distributed.py", 120, "local ranks all-reduce over NCCL (GPUs) or gloo", _distributed_args),
    Smoke("deepspeed", "smoke_deepspeed.py", 120, "DeepSpeed imports; its op-build prerequisites are in place"),
    Smoke("deepspeed-ops", "smoke_deepspeed.py", 1800, "DeepSpeed builds and loads the ops a ZeRO config needs (slow)",
          _deepspeed_ops_args, opt_in=True),
    Smoke("triton", "smoke_triton.py", 180, "Triton compiles and runs a trivial kernel on the GPU"),
)
NAMES = tuple(smoke.name for smoke in CATALOG)


def select(names: Iterable[str] | None = None, *, opt_in: Iterable[str] = ()) -> list[Smoke]:
    """The smokes to run: `names` exactly, or every default one plus the opt-in ones named in `opt_in`."""
    by_name = {smoke.name: smoke for smoke in CATALOG}
    wanted = list(names) if names is not None else [s.name for s in CATALOG if not s.opt_in] + list(opt_in)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise UsageError(f"unknown smoke test {unknown[0]!r}", hint=f"known: {', '.join(NAMES)}")
    return [by_name[name] for name in dict.fromkeys(wanted)]
