"""DeepSpeed rows: its torch floor, what building an op needs, and the nvcc-vs-torch CUDA agreement it enforces.

DeepSpeed ships an sdist on the package index for Linux; its CUDA ops are compiled on first use (JIT) or at
install time (DS_BUILD_OPS=1) with the nvcc found through torch's CUDA_HOME. Before compiling it requires that
nvcc's major.minor equal torch.version.cuda, unless both sit in one family of its allow-list
(`cuda_minor_mismatch_ok`); there is no family for CUDA 13, so a CUDA-13 torch needs nvcc of the same minor.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftdoctor.matrix.model import _check_source, _specifier, _version


@dataclass(frozen=True)
class CudaFamily:
    major: int
    minors: tuple[str, ...]  # "12.0", ..., "12.9": any two of these may mix


@dataclass(frozen=True)
class DeepSpeedRelease:
    versions: str  # the DeepSpeed releases this row covers
    torch: str  # Requires-Dist torch specifier ("" when bare `torch`)
    mismatch_ok: tuple[CudaFamily, ...]
    cxx_std_torch_2_12: int  # the host -std it passes for torch >= 2.12 (17 before #8238, 20 from 0.19.5)
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _specifier(self.versions, "versions")
        _specifier(self.torch, "torch")
        for family in self.mismatch_ok:
            for minor in family.minors:
                _version(minor, "mismatch_ok")


@dataclass(frozen=True)
class DeepSpeedAgreement:
    ok: bool
    how: str  # "equal" | "family" | "skip-check" | "mismatch"


@dataclass(frozen=True)
class DeepSpeedMatrix:
    schema: str
    package: str
    index_files: str
    index_source: str
    requires: tuple[str, ...]  # its other Requires-Dist (for pinning it without building its sdist)
    requires_source: str
    build_prerequisites: tuple[str, ...]
    build_source: str
    skip_check_env: str
    known_versions: tuple[str, ...]  # releases the lock may pin (the newest patch of each minor line)
    known_versions_source: str
    releases: tuple[DeepSpeedRelease, ...]

    def __post_init__(self) -> None:
        for v in self.known_versions:
            _version(v, "known_versions")
        _check_source(self.known_versions_source)
        _check_source(self.requires_source)
        _check_source(self.build_source)
        _check_source(self.index_source)

    def release(self, version: str) -> DeepSpeedRelease | None:
        try:
            v = Version(Version(version).public)
        except InvalidVersion:
            return None
        return next((r for r in self.releases if v in SpecifierSet(r.versions)), None)

    def agreement(self, version: str, nvcc: str, torch_cuda: str, skip_check: bool = False) -> DeepSpeedAgreement | None:
        """Whether DeepSpeed `version` accepts building with `nvcc` against a torch built for `torch_cuda`."""
        row = self.release(version)
        if row is None:
            return None
        nv, tc = _major_minor(nvcc), _major_minor(torch_cuda)
        if nv == tc:
            return DeepSpeedAgreement(True, "equal")
        family = next((f for f in row.mismatch_ok if f.major == Version(nv).major), None)
        if family and nv in family.minors and tc in family.minors:
            return DeepSpeedAgreement(True, "family")
        if skip_check:
            return DeepSpeedAgreement(True, "skip-check")
        return DeepSpeedAgreement(False, "mismatch")


def _major_minor(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor}"
