"""What a config will actually do on a target machine, with every default and `auto` resolved: the
method, precision, attention kernel, batch, sharding (DeepSpeed JSON read), LoRA targets matched against
the model's module names. Rules and the memory estimate read this, not the raw keys."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdoctor.trainer.config.load import LoadedConfig
from ftdoctor.trainer.config.schema import TrainConfig
from ftdoctor.trainer.locate import locate_path
from ftdoctor.trainer.model.inspect import ModelReport
from ftdoctor.trainer.target import Target

PREFERENCE = ("dpo", "ipo", "simpo", "orpo")
NEEDS_REFERENCE = ("dpo", "ipo", "kto")  # a frozen reference model unless an adapter can be switched off


@dataclass(frozen=True)
class Sharding:
    kind: str = "none"  # "none" | "zero" | "fsdp"
    stage: int = 0  # ZeRO stage; FSDP: 3 full shard, 2 grads + optimizer, 0 no shard
    offload_optimizer: bool = False
    offload_params: bool = False
    version: int | None = None  # FSDP version
    source: str = ""
    problem: str = ""  # the DeepSpeed file is missing or not JSON
    settings: dict[str, Any] = field(default_factory=dict)  # the DeepSpeed JSON, when read


@dataclass(frozen=True)
class LoraTargets:
    names: tuple[str, ...] = ()  # leaf module names that get LoRA
    unmatched: tuple[str, ...] = ()  # requested names/patterns that match no module
    expert_parameters: tuple[str, ...] = ()  # requested names that are fused MoE expert parameters
    known: bool = False  # the model's module names were known, so the match is real
    note: str = ""


@dataclass(frozen=True)
class TrainingPlan:
    method: str  # sft | dpo | ipo | simpo | orpo | kto | grpo | gdpo | ebft | reward | prm
    adapter: str | None
    quant_bits: int | None
    precision: str  # bf16 | fp16 | fp32
    precision_note: str
    attention: str
    attention_note: str
    sequence_len: int
    micro_batch: int
    grad_accum: int
    processes: int
    gradient_checkpointing: bool
    reentrant: bool | None  # use_reentrant in effect (None: not checkpointing)
    packing: bool
    optimizer: str
    lora_r: int
    lora_dropout: float
    lora: LoraTargets
    modules_to_save: tuple[str, ...]
    sharding: Sharding
    reference_model: bool
    tf32: bool
    fp8: bool

    @property
    def distributed(self) -> bool:
        return self.sharding.kind != "none"

    @property
    def preference(self) -> bool:
        return self.method in PREFERENCE or self.method in ("kto", "reward")


def make_plan(loaded: LoadedConfig, model: ModelReport | None, target: Target) -> TrainingPlan:
    c = loaded.config
    method = _method(c)
    adapter = c.adapter
    precision, precision_note = _precision(c, target)
    attention, attention_note = _attention(c)
    gc = bool(c.gradient_checkpointing) or bool(c.activation_offloading)
    return TrainingPlan(
        method=method, adapter=adapter, quant_bits=4 if c.load_in_4bit else (8 if c.load_in_8bit else None),
        precision=precision, precision_note=precision_note, attention=attention, attention_note=attention_note,
        sequence_len=c.sequence_len or 512, micro_batch=c.micro_batch_size or 1,
        grad_accum=_grad_accum(c, max(1, target.gpu_count)), processes=max(1, target.gpu_count),
        gradient_checkpointing=gc, reentrant=_reentrant(c) if gc else None, packing=bool(c.sample_packing),
        optimizer=c.optimizer or "adamw_torch_fused", lora_r=c.lora_r or 8, lora_dropout=c.lora_dropout or 0.0,
        lora=lora_targets(c, model) if adapter else LoraTargets(),
        modules_to_save=tuple(c.lora_modules_to_save or ()), sharding=sharding(loaded),
        reference_model=method in NEEDS_REFERENCE and not adapter,
        tf32=c.tf32 is True or (c.tf32 == "auto" and (target.min_cc or (0, 0)) >= (8, 0)), fp8=bool(c.fp8),
    )


def _method(c: TrainConfig) -> str:
    if c.rl:
        return c.rl
    if c.process_reward_model:
        return "prm"
    return "reward" if c.reward_model else "sft"


def _precision(c: TrainConfig, target: Target) -> tuple[str, str]:
    if c.bf16 is True or c.bfloat16:
        return "bf16", "bf16: true"
    if c.fp16 or c.float16:
        return "fp16", "fp16: true"
    if c.bf16 is False:
        return "fp32", "bf16: false and no fp16"
    if target.cpu_only:
        return "fp32", "bf16: auto on a machine without a GPU: float32"
    capable = (target.min_cc or (0, 0)) >= (8, 0)
    cc = ".".join(map(str, target.min_cc)) if target.min_cc else "?"
    return ("bf16", f"bf16: auto → on (compute capability {cc})") if capable else \
        ("fp16", f"bf16: auto → off on compute capability {cc}; Axolotl falls back to fp16")


def _attention(c: TrainConfig) -> tuple[str, str]:
    if c.attn_implementation:
        return c.attn_implementation, "attn_implementation"
    return "sdpa", "attn_implementation unset: transformers uses sdpa"


def _grad_accum(c: TrainConfig, gpus: int) -> int:
    if c.gradient_accumulation_steps:
        return c.gradient_accumulation_steps
    if c.batch_size and c.micro_batch_size:
        return max(1, c.batch_size // (c.micro_batch_size * gpus))
    return 1


def _reentrant(c: TrainConfig) -> bool:
    kwargs = c.gradient_checkpointing_kwargs
    if isinstance(kwargs, dict) and "use_reentrant" in kwargs:
        return bool(kwargs["use_reentrant"])
    return c.rl is None and c.unfrozen_parameters is None  # Axolotl's normalize_config default


def sharding(loaded: LoadedConfig) -> Sharding:
    c = loaded.config
    if c.deepspeed:
        return _deepspeed(c.deepspeed, loaded.folder)
    if c.fsdp or c.fsdp_config or c.fsdp_version:
        return _fsdp(c)
    return Sharding()


def _fsdp(c: TrainConfig) -> Sharding:
    options = c.fsdp_config
    legacy = [c.fsdp] if isinstance(c.fsdp, str) else list(c.fsdp or ())
    words = " ".join(legacy).split()
    version = c.fsdp_version or (options.fsdp_version if options else None) or (1 if legacy else 2)
    strategy = (options.sharding_strategy if options else None) or ""
    stage = 3
    if "shard_grad_op" in words or strategy in ("SHARD_GRAD_OP", "_HYBRID_SHARD_ZERO2") or (
            options and options.reshard_after_forward is False):
        stage = 2
    if strategy == "NO_SHARD":
        stage = 0
    offload = "offload" in words or bool(options and options.offload_params)
    return Sharding("fsdp", stage, offload, offload, version, source=f"FSDP{version}")


def _deepspeed(value: str | dict[str, Any], folder: Path) -> Sharding:
    if isinstance(value, dict):
        return _zero(value, "inline deepspeed settings")
    found = locate_path(value, folder)
    if found is None or found.path is None or not found.path.is_file():
        return Sharding("zero", 0, source=value, problem=f"the DeepSpeed config `{value}` does not exist (looked in "
                        f"{folder} and the working directory)")
    try:
        settings = json.loads(found.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Sharding("zero", 0, source=value, problem=f"the DeepSpeed config `{value}` is not JSON ({exc})")
    if not isinstance(settings, dict):
        return Sharding("zero", 0, source=value, problem=f"the DeepSpeed config `{value}` is not a JSON object")
    return _zero(settings, f"{value}" + (f" ({found.note})" if found.note else ""))


def _zero(settings: dict[str, Any], source: str) -> Sharding:
    zero = settings.get("zero_optimization") or {}
    stage = zero.get("stage", 0)
    stage = stage if isinstance(stage, int) else 0
    off_opt = (zero.get("offload_optimizer") or {}).get("device") in ("cpu", "nvme")
    off_par = (zero.get("offload_param") or {}).get("device") in ("cpu", "nvme")
    return Sharding("zero", stage, off_opt, off_par, source=source, settings=settings)


def lora_targets(c: TrainConfig, model: ModelReport | None) -> LoraTargets:
    naming = model.naming if model else None
    names = model.module_names if model else frozenset()
    requested = c.lora_target_modules
    if c.lora_target_linear or requested == "all-linear":
        if naming is None:
            return LoraTargets(note="every linear layer (the model's module names are unknown)")
        return LoraTargets(tuple(naming.linear), known=True, note="every linear layer (lora_target_linear)")
    if requested is None:
        return LoraTargets(note="no targets given: PEFT's defaults for the architecture apply")
    patterns = (requested,) if isinstance(requested, str) else tuple(requested)
    if not names:
        return LoraTargets(tuple(p for p in patterns if re.fullmatch(r"\w+", p)),
                           note="the model's module names are unknown")
    matched, unmatched, experts = _match(patterns, names, naming.expert_parameters if naming else ())
    linear = set(naming.linear) if naming else names
    return LoraTargets(tuple(n for n in sorted(matched) if n in linear or naming is None), tuple(unmatched),
                       tuple(experts), known=True)


def _match(patterns: tuple[str, ...], names: frozenset[str], expert_params: tuple[str, ...]):
    matched: set[str] = set()
    unmatched, experts = [], []
    for pattern in patterns:
        if pattern in names:
            matched.add(pattern)
            continue
        hits = {n for n in names if _regex_hit(pattern, n)}
        if hits:
            matched |= {h.rsplit(".", 1)[-1] for h in hits}
        elif pattern in ("gate_proj", "up_proj", "down_proj", "w1", "w2", "w3") and expert_params:
            experts.append(pattern)
        else:
            unmatched.append(pattern)
    return matched, unmatched, experts


def _regex_hit(pattern: str, name: str) -> bool:
    """PEFT's rule: a plain name matches a module path ending in it; otherwise a full-match regex."""
    if re.fullmatch(r"\w+", pattern):
        return name == pattern or name.endswith("." + pattern)
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False
