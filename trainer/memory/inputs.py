"""The memory estimate's inputs, read off a training plan."""

from __future__ import annotations

from ftdoctor.trainer.config.schema import TrainConfig
from ftdoctor.trainer.memory.estimate import MemoryInputs
from ftdoctor.trainer.model.shape import ModelShape
from ftdoctor.trainer.plan import TrainingPlan
from ftdoctor.trainer.target import Target


def inputs_from_plan(plan: TrainingPlan, shape: ModelShape, config: TrainConfig, target: Target) -> MemoryInputs:
    bnb = config.bnb_config_kwargs or {}
    trl = config.trl
    colocate = None
    if trl and trl.use_vllm and trl.vllm_mode == "colocate":
        colocate = float((trl.extras or {}).get("vllm_gpu_memory_utilization", 0.3))
    targets = plan.lora.names
    if plan.adapter and not targets and shape is not None:
        targets = ("q_proj", "v_proj")  # PEFT's default for llama-style models when none are given
    return MemoryInputs(
        shape=shape, precision=plan.precision, quant_bits=plan.quant_bits,
        double_quant=bool(bnb.get("bnb_4bit_use_double_quant", True)), method=plan.method,
        adapter=plan.adapter, lora_r=plan.lora_r, lora_dropout=plan.lora_dropout, lora_targets=targets,
        modules_to_save=plan.modules_to_save, dora=bool(config.peft_use_dora),
        adapter_fp32=not plan.quant_bits, optimizer=plan.optimizer, micro_batch=plan.micro_batch,
        sequence_len=plan.sequence_len, grad_accum=plan.grad_accum,
        gradient_checkpointing=plan.gradient_checkpointing, attention=plan.attention, sharding=plan.sharding,
        processes=plan.processes, reference_model=plan.reference_model, vllm_colocate_share=colocate,
        gpu=not target.cpu_only,
    )
