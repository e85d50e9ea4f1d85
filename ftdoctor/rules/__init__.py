"""The rule registry: a literal list of rule-family modules, each exporting `RULES`.

Code bands (documented in docs/rules.md, generated from this registry):
    DRV1xx  NVIDIA driver and CUDA driver API        ARC2xx  GPU architecture vs builds, precision
    TOR3xx  the torch build                          TLK4xx  CUDA toolkit for extension builds
    SYS5xx  system libraries, shadowed CUDA libs     PKG6xx  Python packages that must fit each other
Training-config rules (CFG1xx DAT5xx MDL6xx MEM7xx CEN8xx) need a config: ftdoctor/trainer/rules/__init__.py.
"""

from __future__ import annotations

from importlib import import_module

from ftdoctor.rules.base import Rule

FAMILY_MODULES = (
    "ftdoctor.rules.driver",
)

FAMILY_TITLES = {
    "driver": "NVIDIA driver",
    "architecture": "GPU architecture and precision",
    "torch": "torch build",
    "toolkit": "CUDA toolkit",
    "system": "System libraries",
    "packages": "Python packages",
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
