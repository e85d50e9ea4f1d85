"""Platform rows: manylinux tags against glibc and libstdc++, shared memory, native bf16, integrated GPUs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import Version

from ftdoctor.matrix.model import _check_source, _version, cc_tuple

_TAG = re.compile(r"^(manylinux_(\d+)_(\d+)|manylinux1|manylinux2010|manylinux2014)_")


@dataclass(frozen=True)
class ManylinuxPolicy:
    tag: str  # "manylinux_2_28"
    glibc: str
    glibcxx_max: str  # the newest GLIBCXX symbol version a wheel of this policy may need
    source: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.glibc, "glibc")
        _version(self.glibcxx_max, "glibcxx_max")


@dataclass(frozen=True)
class SharedMemory:
    min_bytes: int
    recommended: str  # the docker --shm-size to suggest
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)


@dataclass(frozen=True)
class Precision:
    bf16_native_min_cc: str
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        cc_tuple(self.bf16_native_min_cc)


@dataclass(frozen=True)
class Cubin:
    integrated_ccs: tuple[str, ...]  # served only by their own cubins, never by others of the same major
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        for cc in self.integrated_ccs:
            cc_tuple(cc)


@dataclass(frozen=True)
class WheelNeeds:
    """What one wheel tag asks of the C and C++ runtime."""

    tag: str
    glibc: Version
    glibcxx_max: Version | None


@dataclass(frozen=True)
class PlatformMatrix:
    schema: str
    manylinux: tuple[ManylinuxPolicy, ...]
    shared_memory: SharedMemory
    precision: Precision
    cubin: Cubin

    def wheel_needs(self, tag: str) -> WheelNeeds | None:
        """'cp311-cp311-manylinux_2_28_x86_64' or 'manylinux_2_28_x86_64' -> glibc 2.28, GLIBCXX <= 3.4.24."""
        platform_tag = tag.split("-")[-1]
        match = _TAG.match(platform_tag)
        if not match:
            return None  # "linux_x86_64" (built here), "any", macOS, Windows: no promise to judge
        glibc = self._glibc(match.group(1), match.group(2), match.group(3))
        if glibc is None:
            return None
        policies = [p for p in self.manylinux if Version(p.glibc) <= glibc]
        newest = max(policies, key=lambda p: Version(p.glibc), default=None)
        return WheelNeeds(platform_tag, glibc, Version(newest.glibcxx_max) if newest else None)

    def _glibc(self, name: str, major: str | None, minor: str | None) -> Version | None:
        if major is not None:
            return Version(f"{major}.{minor}")
        policy = next((p for p in self.manylinux if name in p.aliases), None)
        return Version(policy.glibc) if policy else None
