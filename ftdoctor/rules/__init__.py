"""The rule registry: a literal list of rule-family modules, each exporting `RULES`.

Code bands (documented in docs/rules.md, generated from this registry):
    DRV1xx  NVIDIA driver and CUDA driver API        ARC2xx  GPU architecture vs builds, precision
    TOR3xx  the torch build                          TLK4xx  CUDA toolkit for extension builds
    SYS5xx  system libraries, shadowed CUDA libs     PKG6xx  Python packages that must fit each other
    TOR38x-39x  torch smoke test                     FLA75x-79x  flash-attn smoke test
    BNB85x-89x  bitsandbytes smoke test              DSP95x-99x  DeepSpeed smoke tests
    NET1xx  distributed (NCCL/gloo, shm, P2P, port)  TRI1xx  Triton
    ABI1xx  compiled extensions vs torch and the system (static, from ELF files)
Training-config rules (CFG1xx DAT5xx MDL6xx MEM7xx CEN8xx) need a config: ftdoctor/trainer/rules/__init__.py.
"""

from __future__ import annotations

from importlib import import_module

from ftdoctor.rules.base import Rule

FAMILY_MODULES = (
    "ftdoctor.rules.driver",
    "ftdoctor.rules.verify_torch",
    "ftdoctor.rules.verify_flash_attn",
    "ftdoctor.rules.verify_bitsandbytes",
    "ftdoctor.rules.verify_deepspeed",
    "ftdoctor.rules.distributed",
    "ftdoctor.rules.triton",
    "ftdoctor.rules.abi",
)

FAMILY_TITLES = {
    "driver": "NVIDIA driver",
    "architecture": "GPU architecture and precision",
    "torch": "torch build",
    "toolkit": "CUDA toolkit",
    "system": "System libraries",
    "packages": "Python packages",
    "verify-torch": "torch smoke test",
    "verify-flash-attn": "flash-attn smoke test",
    "verify-bitsandbytes": "bitsandbytes smoke test",
    "verify-deepspeed": "DeepSpeed smoke tests",
    "distributed": "Distributed (NCCL / gloo)",
    "triton": "Triton",
    "abi": "Compiled extensions (ABI)",
}


def all_rules() -> list[type[Rule]]:
    rules: list[type[Rule]] = []
    for name in FAMILY_MODULES:
        rules.extend(import_module(name).RULES)
    codes = [r.code for r in rules]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicates)}")  # a bug; the registry test catches it
    return rules
