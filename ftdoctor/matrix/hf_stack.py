"""Rows for the Hugging Face training stack (transformers, trl, peft, accelerate): the bounds that pip does not
enforce because they sit in an extra, in a check at import time, or in a config default."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftdoctor.matrix.model import _check_source, _specifier

# What happens when the bound is not met.
EFFECTS = {
    "disables-torch": "transformers logs 'Disabling PyTorch because PyTorch >= X is required' and runs without torch",
    "declared": "declared in an extra's metadata only: pip does not enforce it unless the extra was requested",
    "trainer-import-error": "Trainer/TrainingArguments raise ImportError when the bound is not met",
    "refuses-bin-checkpoints": "loading pickle (.bin) checkpoints raises ValueError; safetensors still load",
    "requires-python": "Requires-Python of the release: it was installed past pip's check (or the interpreter changed)",
}
NEEDS = ("torch", "accelerate", "python")


@dataclass(frozen=True)
class StackBound:
    """While `package` is in `versions`, `needs` must satisfy `spec`, or `effect` happens."""

    package: str
    versions: str
    needs: str
    spec: str
    effect: str
    source: str
    confidence: str = "confirmed"  # "confirmed" | "unconfirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.versions, "versions")
        _specifier(self.spec, "spec")
        if self.effect not in EFFECTS:
            raise ValueError(f"effect {self.effect!r} is not one of {', '.join(EFFECTS)}")
        if self.needs not in NEEDS:
            raise ValueError(f"needs {self.needs!r} is not one of {', '.join(NEEDS)}")

    def covers(self, version: str) -> bool:
        return _contains(self.versions, version)

    def met_by(self, version: str) -> bool:
        """As the packages themselves compare: a pre-release is below its release ('2.6.0a0+git…' < 2.6, which
        transformers disables), a local label ('+cu124') does not count."""
        try:
            return SpecifierSet(self.spec).contains(Version(version), prereleases=True)
        except InvalidVersion:
            return False

    @property
    def lowest(self) -> str | None:
        """The lower end of `versions` ('5.1' for '>=5.1,<5.15'): pinning below it avoids the bound."""
        floors = [s.version for s in SpecifierSet(self.versions) if s.operator in (">=", "~=") or
                  (s.operator == "==" and "*" not in s.version)]
        return min(floors, key=Version) if floors else None


@dataclass(frozen=True)
class ConfigDefault:
    """A default of a training config that depends on the installed version (TRL's bf16=True, say)."""

    package: str
    versions: str
    setting: str
    value: str
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.versions, "versions")

    def covers(self, version: str) -> bool:
        return _contains(self.versions, version)


@dataclass(frozen=True)
class HfStackMatrix:
    schema: str
    bounds: tuple[StackBound, ...]
    defaults: tuple[ConfigDefault, ...] = ()

    def bounds_for(self, package: str, version: str, *effects: str) -> list[StackBound]:
        return [
            b for b in self.bounds if b.package == package and b.covers(version) and (not effects or b.effect in effects)
        ]

    def default_for(self, package: str, version: str, setting: str) -> ConfigDefault | None:
        return next((d for d in self.defaults if d.package == package and d.setting == setting and d.covers(version)), None)


def _contains(spec: str, version: str) -> bool:
    """Local labels ('+cu128') and dev suffixes do not change which row applies."""
    try:
        parsed = Version(Version(version).base_version)
    except InvalidVersion:
        return False
    return SpecifierSet(spec).contains(parsed, prereleases=True)
