"""bitsandbytes rows: which native CUDA libraries each release ships, how one is chosen, and the GPU floors.

Since 0.43.1 bitsandbytes loads `libbitsandbytes_cuda{MAJOR}{MINOR}.so` for `torch.version.cuda` (not the
system toolkit). Up to 0.49 the match must be exact; from 0.50 it falls back within the same CUDA major.
`BNB_CUDA_VERSION=124` bypasses the choice and loads exactly that library.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftdoctor.matrix.model import _check_source, _specifier, _version, cc_tuple

SELECTION_RULES = ("libcudart_search", "exact", "same_major_fallback")


@dataclass(frozen=True)
class BnbTargets:
    """The GPU code compiled into the libraries built with the CUDA versions in `cuda` (a specifier)."""

    cuda: str  # ">=11.8,<12.8"
    archs: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.cuda, "cuda")
        for cc in self.archs:
            cc_tuple(cc)


@dataclass(frozen=True)
class BnbRelease:
    version: str
    requires_python: str
    torch: str  # the torch specifier of its Requires-Dist ("" when it declares none)
    glibc_min: str
    cuda_libs: tuple[str, ...]  # "12.8" for libbitsandbytes_cuda128.so in the Linux x86_64 wheel
    source: str
    cpu_ops: bool = False  # the CPU library implements the 4-bit/8-bit ops (not only a stub)
    targets: tuple[BnbTargets, ...] = ()
    versions: tuple[str, ...] = ()  # other patch releases this row speaks for (same libraries)
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        for v in (self.version, *self.versions):
            _version(v, "version")
        _specifier(self.requires_python, "requires_python")
        _specifier(self.torch, "torch")
        for cuda in self.cuda_libs:
            _version(cuda, "cuda_libs")

    def archs_for(self, cuda_lib: str) -> tuple[str, ...] | None:
        """The compute capabilities compiled into one of this release's libraries; None when not recorded."""
        for block in self.targets:
            if Version(cuda_lib) in SpecifierSet(block.cuda):
                return block.archs
        return None


@dataclass(frozen=True)
class BnbSelection:
    versions: str  # bitsandbytes versions this rule applies to
    rule: str  # one of SELECTION_RULES
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.versions, "versions")
        if self.rule not in SELECTION_RULES:
            raise ValueError(f"rule must be one of {', '.join(SELECTION_RULES)}")


@dataclass(frozen=True)
class BnbFeature:
    """A compute-capability floor of one feature, for a range of releases."""

    feature: str  # "llm_int8" | "optimizers_8bit" | "nf4_fp4"
    title: str
    min_cc: str
    versions: str
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        cc_tuple(self.min_cc)
        _specifier(self.versions, "versions")


@dataclass(frozen=True)
class BnbChoice:
    """Which library a release loads for a torch CUDA version, and how it got there."""

    library: str | None  # "12.8"; None: nothing loadable
    how: str  # "exact" | "fallback" | "override" | "missing" | "override-missing"


@dataclass(frozen=True)
class BitsandbytesMatrix:
    schema: str
    package: str
    override_env: str
    selection: tuple[BnbSelection, ...]
    features: tuple[BnbFeature, ...]
    releases: tuple[BnbRelease, ...]

    def release(self, version: str) -> BnbRelease | None:
        try:
            wanted = Version(Version(version).public)
        except InvalidVersion:
            return None
        for row in self.releases:
            if wanted in {Version(v) for v in (row.version, *row.versions)}:
                return row
        return None

    def rule_for(self, version: str) -> str | None:
        v = Version(Version(version).public)
        return next((s.rule for s in self.selection if v in SpecifierSet(s.versions)), None)

    def choose(self, version: str, torch_cuda: str, override: str | None = None) -> BnbChoice:
        """The library bitsandbytes `version` loads under a torch built for `torch_cuda` (e.g. "12.8")."""
        row = self.release(version)
        if row is None:
            return BnbChoice(None, "unknown")
        if override:
            wanted = f"{override[:-1]}.{override[-1]}" if override.isdigit() and len(override) >= 2 else override
            return BnbChoice(wanted if wanted in row.cuda_libs else None, "override" if wanted in row.cuda_libs else "override-missing")
        if torch_cuda in row.cuda_libs:
            return BnbChoice(torch_cuda, "exact")
        if self.rule_for(version) == "same_major_fallback":
            fallback = _same_major(row.cuda_libs, torch_cuda)
            if fallback:
                return BnbChoice(fallback, "fallback")
        return BnbChoice(None, "missing")

    def floor(self, feature: str, version: str) -> BnbFeature | None:
        v = Version(Version(version).public)
        return next((f for f in self.features if f.feature == feature and v in SpecifierSet(f.versions)), None)

    def newest_first(self) -> list[BnbRelease]:
        return sorted(self.releases, key=lambda r: Version(r.version), reverse=True)


def _same_major(libs: tuple[str, ...], runtime: str) -> str | None:
    """bitsandbytes >= 0.50: highest shipped <= runtime in the same major, else lowest shipped > runtime."""
    have = Version(runtime)
    same = sorted((Version(lib) for lib in libs if Version(lib).major == have.major))
    lower = [v for v in same if v < have]
    if lower:
        return str(lower[-1])
    higher = [v for v in same if v > have]
    return str(higher[0]) if higher else None
