"""When an estimate does not fit: which single changes would make it fit, and if none alone does, the
smallest combination in a sensible order (cheapest in quality and speed first)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ftdoctor.trainer.memory.estimate import Estimate, MemoryInputs, estimate
from ftdoctor.trainer.plan import Sharding


@dataclass(frozen=True)
class Change:
    summary: str  # "gradient_checkpointing: true"
    inputs: MemoryInputs
    estimate: Estimate


def candidates(x: MemoryInputs) -> list[tuple[str, MemoryInputs]]:
    """Single changes, cheapest first."""
    options: list[tuple[str, MemoryInputs]] = []
    if not x.gradient_checkpointing:
        options.append(("gradient_checkpointing: true", replace(x, gradient_checkpointing=True)))
    if x.attention == "eager":
        options.append(("attn_implementation: sdpa", replace(x, attention="sdpa")))
    if x.micro_batch > 1:
        smaller = max(1, x.micro_batch // 2)
        options.append((f"micro_batch_size: {smaller} (and gradient_accumulation_steps: "
                        f"{x.grad_accum * x.micro_batch // smaller} to keep the batch)",
                        replace(x, micro_batch=smaller, grad_accum=x.grad_accum * x.micro_batch // smaller)))
    if not _eight_bit(x.optimizer) and x.sharding.kind != "zero":
        name = "adamw_torch_8bit" if x.sharding.kind == "fsdp" else "adamw_bnb_8bit"
        options.append((f"optimizer: {name}", replace(x, optimizer=name)))
    if x.sequence_len > 512:
        shorter = max(512, x.sequence_len // 2)
        options.append((f"sequence_len: {shorter}", replace(x, sequence_len=shorter)))
    if not x.adapter:
        options.append(("adapter: lora (with lora_target_linear: true)",
                        replace(x, adapter="lora", lora_r=16, lora_targets=_linear(x), reference_model=False)))
    elif x.quant_bits is None:
        options.append(("adapter: qlora with load_in_4bit: true", replace(x, quant_bits=4, adapter="qlora",
                                                                          adapter_fp32=False)))
    if x.processes > 1 and (x.sharding.kind != "zero" or x.sharding.stage < 3):
        options.append(("deepspeed ZeRO-3 (zero3_bf16.json)", replace(x, sharding=Sharding("zero", 3))))
    if not x.sharding.offload_optimizer and (x.adapter is None or x.processes > 1):
        stage = max(2, x.sharding.stage) if x.sharding.kind == "zero" else 2
        options.append((f"deepspeed ZeRO-{stage} with offload_optimizer to CPU",
                        replace(x, sharding=Sharding("zero", stage, offload_optimizer=True,
                                                     offload_params=x.sharding.offload_params))))
    return options


def ways_to_fit(x: MemoryInputs, capacity: int, limit: int = 3) -> list[Change]:
    singles = [Change(text, inputs, estimate(inputs)) for text, inputs in candidates(x)]
    fitting = [c for c in singles if c.estimate.peak_bytes <= capacity]
    if fitting:
        return fitting[:limit]
    return _combination(x, capacity)


def _combination(x: MemoryInputs, capacity: int) -> list[Change]:
    applied: list[str] = []
    current = x
    for _ in range(8):
        options = candidates(current)
        if not options:
            break
        best = min(options, key=lambda o: estimate(o[1]).peak_bytes)
        applied.append(best[0])
        current = best[1]
        result = estimate(current)
        if result.peak_bytes <= capacity:
            return [Change(" + ".join(applied), current, result)]
    return []


def _eight_bit(optimizer: str) -> bool:
    return "8bit" in optimizer or "4bit" in optimizer


def _linear(x: MemoryInputs) -> tuple[str, ...]:
    from ftdoctor.trainer.model.naming import naming_for

    naming = naming_for(x.shape.model_type)
    return naming.linear if naming else ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
