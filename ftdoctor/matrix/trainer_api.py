"""Matrix rows for training configs: config keys that TRL / transformers renamed or removed, features that
need a library version, and features that need a GPU generation. Data in `compat_matrix/trainer_api.toml`."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftdoctor.matrix.model import _check_source, _specifier, _version, cc_tuple


@dataclass(frozen=True)
class KeyChange:
    """A config key a library stopped (or started) accepting."""

    key: str
    package: str
    source: str
    replacement: str = ""
    deprecated: str = ""  # first version that warns
    removed: str = ""  # first version without it
    effect: str = ""  # what happens to a config that still uses it
    commands: tuple[str, ...] = ()  # TRL commands the row is about (empty: every command)
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        for value, what in ((self.deprecated, "deprecated"), (self.removed, "removed")):
            if value:
                _version(value, what)

    def state(self, installed: str) -> str:
        """"removed" | "deprecated" | "ok" | "unknown" for an installed version string."""
        try:
            have = Version(installed)
        except InvalidVersion:
            return "unknown"
        if self.removed and have >= Version(self.removed):
            return "removed"
        if self.deprecated and have >= Version(self.deprecated):
            return "deprecated"
        return "ok"


@dataclass(frozen=True)
class FeatureNeed:
    """A config feature (`rl:grpo`, `peft_use_dora`, ...) that needs a version range of a library."""

    feature: str
    package: str
    requires: str  # a version specifier, e.g. ">=0.14.0"
    why: str
    source: str
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.requires, "requires")

    def allows(self, installed: str) -> bool | None:
        try:
            return Version(installed) in SpecifierSet(self.requires)
        except InvalidVersion:
            return None

    @property
    def floor(self) -> str | None:
        """The lowest version the row allows (the version of its `>=` clause), when it has one."""
        return next((s.version for s in SpecifierSet(self.requires) if s.operator == ">="), None)


@dataclass(frozen=True)
class GpuNeed:
    """A feature that needs a GPU generation: compute capability within [min_cc, max_cc]."""

    feature: str
    min_cc: str
    why: str
    source: str
    max_cc: str = ""

    def __post_init__(self) -> None:
        _check_source(self.source)
        cc_tuple(self.min_cc)
        if self.max_cc:
            cc_tuple(self.max_cc)

    def allows(self, cc: tuple[int, int]) -> bool:
        return cc >= cc_tuple(self.min_cc) and (not self.max_cc or cc <= cc_tuple(self.max_cc))


@dataclass(frozen=True)
class TrainerApiMatrix:
    schema: str
    keys: tuple[KeyChange, ...] = ()
    features: tuple[FeatureNeed, ...] = ()
    gpu: tuple[GpuNeed, ...] = ()

    def key(self, name: str, command: str | None = None) -> KeyChange | None:
        return next((row for row in self.keys if row.key == name and (
            not row.commands or command is None or command in row.commands)), None)

    def needs(self, feature: str) -> tuple[FeatureNeed, ...]:
        return tuple(row for row in self.features if row.feature == feature)

    def first_release_knowing(self, model_type: str, package: str = "transformers") -> str | None:
        """The first release of `package` that knows a checkpoint's `model_type`, when the matrix records it."""
        return next((row.floor for row in self.needs(f"model_type:{model_type}") if row.package == package), None)

    def gpu_need(self, feature: str) -> GpuNeed | None:
        return next((row for row in self.gpu if row.feature == feature), None)
