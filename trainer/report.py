"""The header lines and JSON data that come with preflight findings."""

from __future__ import annotations

from typing import Any

from ftdoctor.trainer.memory.render import as_data, gib
from ftdoctor.trainer.preflight import Preflight


def header(pre: Preflight, origin: str) -> list[str]:
    from ftdoctor import __version__

    plan, loaded = pre.plan, pre.loaded
    dialect = "TRL CLI" if loaded.dialect == "trl" else "Axolotl-style"
    adapter = plan.adapter or "full fine-tune"
    if plan.quant_bits:
        adapter += f", {plan.quant_bits}-bit base"
    sharding = "no sharding" if plan.sharding.kind == "none" else (
        f"DeepSpeed ZeRO-{plan.sharding.stage}" if plan.sharding.kind == "zero" else f"FSDP{plan.sharding.version}")
    lines = [
        f"ftdoctor {__version__} · preflight of {loaded.path} ({dialect}) {origin}",
        f"  target    {pre.target.describe()}",
        f"  method    {plan.method} · {adapter} · {plan.precision} · {plan.attention} attention",
        f"  batch     {plan.micro_batch} × {plan.sequence_len} tokens, {plan.grad_accum} accumulation step(s), "
        f"{plan.processes} process(es), {sharding}",
    ]
    if pre.estimate is not None:
        capacity = pre.target.memory_bytes if not pre.target.cpu_only else pre.target.system_memory_bytes
        of = f" of {gib(capacity)}" if capacity else ""
        lines.append(f"  memory    about {gib(pre.estimate.peak_bytes)}{of} at the peak (ftdoctor estimate: details)")
    lines.extend(f"  note      {note}" for note in pre.target.notes)
    return lines


def data(pre: Preflight) -> dict[str, Any]:
    plan = pre.plan
    capacity = pre.target.memory_bytes if not pre.target.cpu_only else pre.target.system_memory_bytes
    return {
        "config": str(pre.loaded.path),
        "dialect": pre.loaded.dialect,
        "target": pre.target.describe(),
        "plan": {
            "method": plan.method, "adapter": plan.adapter, "quant_bits": plan.quant_bits,
            "precision": plan.precision, "attention": plan.attention, "sequence_len": plan.sequence_len,
            "micro_batch": plan.micro_batch, "grad_accum": plan.grad_accum, "processes": plan.processes,
            "sharding": {"kind": plan.sharding.kind, "stage": plan.sharding.stage,
                         "offload_optimizer": plan.sharding.offload_optimizer,
                         "offload_params": plan.sharding.offload_params},
            "lora_targets": list(plan.lora.names),
        },
        "estimate": as_data(pre.estimate, capacity) if pre.estimate else None,
    }
