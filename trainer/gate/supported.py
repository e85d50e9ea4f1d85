"""The library releases ftdoctor's bundled trainer is written for: the ranges of its `train` and `deepspeed`
extras, read from ftdoctor's own installed metadata (pyproject.toml is the one place they are written).

The recipe uses the names of current releases (transformers 5's `dtype`, TRL 1.x's `activation_checkpointing`,
...): below these ranges a launch fails part-way, or worse, runs with a key silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

DISTRIBUTION = "ftdoctor-cli"
EXTRAS = ("train", "deepspeed")


@dataclass(frozen=True)
class SupportedRange:
    package: str  # normalized distribution name
    specifier: str  # PEP 440, e.g. ">=5.0"
    extra: str


def supported_ranges(distribution: str = DISTRIBUTION) -> tuple[SupportedRange, ...] | None:
    """Every requirement of the training extras; None when ftdoctor's metadata cannot be read (a source
    checkout run without being installed)."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        lines = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return None
    found = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        extra = next((e for e in EXTRAS if requirement.marker and requirement.marker.evaluate({"extra": e})), None)
        if extra is not None:
            found.append(SupportedRange(canonicalize_name(requirement.name), str(requirement.specifier), extra))
    return tuple(found)
