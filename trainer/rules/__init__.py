"""The preflight's rule registry: rule families that judge a training config for a target machine.

Code bands:
    CFG1xx  the config itself: keys, types, values (100-119) and combinations that cannot work (120-159)
    DAT5xx  datasets: present, readable, columns for the declared type and method, lengths
    MDL6xx  the base model and its tokenizer: found, LoRA targets, chat template, special tokens
    MEM7xx  the memory estimate against the target GPUs
    CEN8xx  the config against the environment: GPU generation, flash-attn, bitsandbytes, DeepSpeed/FSDP
            processes, library versions for the keys used, CPU-only machines

Machine rules (`ftdoctor check`) live in ftdoctor/rules/ with their own bands (DRV, ARC, TOR, ...).
"""

from __future__ import annotations

from importlib import import_module

from ftdoctor.rules.base import Rule

FAMILY_MODULES = (
    "ftdoctor.trainer.rules.schema",
    "ftdoctor.trainer.rules.combinations",
    "ftdoctor.trainer.rules.distributed",
    "ftdoctor.trainer.rules.data",
    "ftdoctor.trainer.rules.model",
    "ftdoctor.trainer.rules.memory",
    "ftdoctor.trainer.rules.environment",
)

FAMILY_TITLES = {
    "config": "Training config",
    "config-combinations": "Config combinations",
    "config-distributed": "Multi-GPU settings",
    "dataset": "Datasets",
    "model": "Base model and tokenizer",
    "memory": "GPU memory",
    "config-environment": "Config vs this machine",
}


def preflight_rules() -> list[type[Rule]]:
    rules: list[type[Rule]] = []
    for name in FAMILY_MODULES:
        rules.extend(import_module(name).RULES)
    codes = [r.code for r in rules]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicates)}")
    return rules
