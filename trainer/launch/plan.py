"""How a run will be launched on THIS machine: how many processes, on which device, with which distributed
mode and collective backend. Derived from the preflight's plan, the live facts and `--processes`."""

from __future__ import annotations

from dataclasses import dataclass

from ftdoctor.facts.model import Facts, Status
from ftdoctor.trainer.plan import TrainingPlan


@dataclass(frozen=True)
class LaunchPlan:
    processes: int
    device: str  # "cuda" | "cpu"
    distributed: str  # none | ddp | deepspeed | fsdp
    precision: str  # bf16 | fp16 | fp32 (what will run here)
    gpus: int  # CUDA devices torch sees (0 when unknown or none)
    gpus_known: bool
    zero_stage: int = 0
    requested: int | None = None  # --processes as given

    @property
    def backend(self) -> str | None:
        if self.processes < 2:
            return None
        return "nccl" if self.device == "cuda" else "gloo"

    @property
    def launcher(self) -> str:
        return "accelerate" if self.processes > 1 else "python"


def visible_gpus(facts: Facts) -> tuple[int, bool]:
    """CUDA devices torch reports in a subprocess probe; (0, False) when torch could not be asked."""
    torch = facts.torch
    if torch.status != Status.OK or torch.source != "subprocess":
        return 0, False
    return (torch.device_count or 0) if torch.cuda_available else 0, True


def launch_plan(plan: TrainingPlan, facts: Facts, requested: int | None) -> LaunchPlan:
    gpus, known = visible_gpus(facts)
    device = "cuda" if gpus > 0 else "cpu"
    processes = requested or (gpus if device == "cuda" else 1) or 1
    kind = plan.sharding.kind
    distributed = {"zero": "deepspeed", "fsdp": "fsdp"}.get(kind, "ddp" if processes > 1 else "none")
    return LaunchPlan(processes=processes, device=device, distributed=distributed, precision=plan.precision, gpus=gpus,
                      gpus_known=known, zero_stage=plan.sharding.stage if kind == "zero" else 0, requested=requested)
