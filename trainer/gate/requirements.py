"""What a config needs to work on the machine it is launched on, derived from the config alone (pure).

Each requirement names the smoke test of ftdoctor's verified loading that proves it (`ftdoctor.verify`
catalog names: torch, bitsandbytes-4bit, flash-attn, distributed, deepspeed, deepspeed-ops), so that the
gate runs exactly those and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftdoctor.trainer.config.schema import TrainConfig
from ftdoctor.trainer.launch.plan import LaunchPlan
from ftdoctor.trainer.plan import TrainingPlan

BNB_OPTIMIZER_MARKS = ("8bit", "paged_", "bnb", "lion_32bit")
ORDER = ("torch", "cuda", "bf16", "flash-attn", "bitsandbytes-4bit", "bitsandbytes-8bit", "collective", "deepspeed",
         "deepspeed-ops")


@dataclass(frozen=True)
class Requirement:
    name: str  # one of ORDER
    smoke: str  # the verified-loading smoke test that proves it
    why: str  # what in the config (or the launch) needs it
    key: str | None = None  # the config key, for the finding's location
    count: int = 1  # GPUs for cuda; ranks for collective
    detail: str = ""  # the backend, the ops, ...


def derive(config: TrainConfig, plan: TrainingPlan, launch: LaunchPlan) -> tuple[Requirement, ...]:
    found = [Requirement("torch", "torch", f"training runs torch on the {launch.device.upper()}")]
    gpu_only = _gpu_only(config, plan)
    if launch.device == "cuda" or gpu_only:
        why = gpu_only[0][1] if gpu_only and launch.device != "cuda" else f"{launch.processes} process(es) on GPUs"
        found.append(Requirement("cuda", "torch", why, gpu_only[0][0] if gpu_only else None,
                                 count=launch.processes if launch.device == "cuda" else 1))
    if plan.precision == "bf16" and (launch.device == "cuda" or gpu_only):
        found.append(Requirement("bf16", "torch", "bf16 mixed precision", "bf16"))
    if plan.attention.startswith("flash_attention"):
        found.append(Requirement("flash-attn", "flash-attn", f"attn_implementation: {plan.attention}",
                                 "attn_implementation"))
    found.extend(_bitsandbytes(config, plan))
    if launch.processes > 1:
        found.append(Requirement("collective", "distributed", f"{launch.processes} processes ({launch.distributed})",
                                 count=launch.processes, detail=launch.backend or ""))
    found.extend(_deepspeed(plan, launch))
    return tuple(sorted(found, key=lambda r: ORDER.index(r.name)))


def _gpu_only(config: TrainConfig, plan: TrainingPlan) -> list[tuple[str, str]]:
    """(key, why) of the settings that run only on an NVIDIA GPU."""
    found = []
    if plan.attention.startswith("flash_attention"):
        found.append(("attn_implementation", f"attn_implementation: {plan.attention} (flash-attn runs on CUDA only)"))
    if config.tf32 is True:
        found.append(("tf32", "tf32: true (TF32 tensor cores)"))
    if config.fp8:
        found.append(("fp8", "fp8: true (FP8 tensor cores)"))
    if config.trl is not None and config.trl.use_vllm:
        found.append(("trl", "trl.use_vllm: true (vLLM generates on GPUs)"))
    return found


def _bitsandbytes(config: TrainConfig, plan: TrainingPlan) -> list[Requirement]:
    found = []
    if plan.quant_bits == 4:
        found.append(Requirement("bitsandbytes-4bit", "bitsandbytes-4bit", "load_in_4bit: true", "load_in_4bit"))
    optimizer = plan.optimizer
    eight = plan.quant_bits == 8 or any(mark in optimizer for mark in BNB_OPTIMIZER_MARKS)
    if eight:
        why = "load_in_8bit: true" if plan.quant_bits == 8 else f"optimizer: {optimizer}"
        # verified loading has one bitsandbytes smoke: its native library and a 4-bit layer; 8-bit shares the library
        found.append(Requirement("bitsandbytes-8bit", "bitsandbytes-4bit", why,
                                 "load_in_8bit" if plan.quant_bits == 8 else "optimizer"))
    return found


def _deepspeed(plan: TrainingPlan, launch: LaunchPlan) -> list[Requirement]:
    if launch.distributed != "deepspeed":
        return []
    sharding = plan.sharding
    found = [Requirement("deepspeed", "deepspeed", f"deepspeed: ZeRO-{sharding.stage}", "deepspeed",
                         detail=f"stage {sharding.stage}")]
    ops = deepspeed_ops(sharding.settings, launch.device, sharding.offload_optimizer)
    if ops:
        found.append(Requirement("deepspeed-ops", "deepspeed-ops", f"ZeRO-{sharding.stage} on the "
                                 f"{launch.device.upper()}", "deepspeed", detail=",".join(ops)))
    return found


def deepspeed_ops(settings: dict[str, Any], device: str, offload_optimizer: bool) -> tuple[str, ...]:
    """The C++/CUDA ops DeepSpeed builds (JIT) for these settings here."""
    ops = []
    if device == "cpu":
        ops.append("deepspeed_shm_comm")  # its collectives on the CPU
    optimizer = str((settings.get("optimizer") or {}).get("type", "")).lower()
    if optimizer:
        # DeepSpeed's own optimizer: CPUAdam when it is offloaded, FusedAdam (a CPU variant here) otherwise
        ops.append("cpu_adam" if offload_optimizer else ("fused_adam" if "adam" in optimizer else optimizer))
    return tuple(ops)
