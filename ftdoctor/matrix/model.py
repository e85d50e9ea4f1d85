"""The compatibility matrix as frozen data. Version bounds live in `compat_matrix/*.toml` and nowhere else;
these classes only give them types and lookups. Every row carries the `source` that establishes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:  # trainer_api.py imports this module's helpers
    from ftdoctor.matrix.distributed import DistributedMatrix
    from ftdoctor.matrix.trainer_api import TrainerApiMatrix

MATRIX_SCHEMA = "ftdoctor-matrix/1"


def _version(text: str, what: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ValueError(f"{what}: {text!r} is not a version") from None


def _specifier(text: str, what: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ValueError(f"{what}: {text!r} is not a version specifier") from None


def _check_source(source: str) -> None:
    if not source.strip():
        raise ValueError("every row needs a non-empty `source`")


def cc_tuple(cc: str) -> tuple[int, int]:
    """'8.6' -> (8, 6); also accepts 'sm_86', 'compute_86', '86'."""
    text = cc.strip().lower().removeprefix("sm_").removeprefix("compute_").rstrip("af")  # sm_90a, sm_100f
    if "." in text:
        major, minor = text.split(".", 1)
    elif text.isdigit() and len(text) >= 2:
        major, minor = text[:-1], text[-1]
    else:
        raise ValueError(f"{cc!r} is not a compute capability")
    return int(major), int(minor or 0)


@dataclass(frozen=True)
class TorchVariant:
    """One build flavour of a torch release: a CUDA version, or "cpu"."""

    cuda: str  # "12.8" or "cpu"
    archs: tuple[str, ...]  # compute capabilities with SASS: "8.0", "9.0", ...
    source: str
    ptx: tuple[str, ...] = ()  # compute capabilities whose PTX is embedded as well
    index_suffix: str = ""  # "cu128"; derived from `cuda` when empty
    confidence: str = "confirmed"  # "confirmed" | "unconfirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        if self.cuda != "cpu":
            _version(self.cuda, "cuda")
        for cc in self.archs + self.ptx:
            cc_tuple(cc)

    @property
    def suffix(self) -> str:
        if self.index_suffix:
            return self.index_suffix
        return "cpu" if self.cuda == "cpu" else "cu" + self.cuda.replace(".", "")


@dataclass(frozen=True)
class TorchRelease:
    series: str  # "2.8"
    versions: tuple[str, ...]  # the patch releases: "2.8.0"
    requires_python: str
    python_wheels: tuple[str, ...]  # CPython versions with Linux x86_64 wheels on the package index
    glibc_min: str
    default_cuda: str  # the CUDA of the default wheel on the package index
    cxx11_abi: bool  # of the default Linux wheel
    variants: tuple[TorchVariant, ...]
    source: str
    cxx_std: int = 17
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        for v in self.versions:
            _version(v, "versions")
        _specifier(self.requires_python, "requires_python")
        _version(self.glibc_min, "glibc_min")
        if not any(v.cuda == self.default_cuda for v in self.variants):
            raise ValueError(f"default_cuda {self.default_cuda} is not among the variants")

    def variant(self, cuda: str | None) -> TorchVariant | None:
        wanted = "cpu" if cuda in (None, "cpu") else cuda
        for variant in self.variants:
            if variant.cuda == wanted:
                return variant
        return None

    @property
    def newest(self) -> Version:
        return max(Version(v) for v in self.versions)


@dataclass(frozen=True)
class TorchMatrix:
    schema: str
    releases: tuple[TorchRelease, ...]

    def release_for(self, version: str) -> TorchRelease | None:
        """The release row for an installed version such as '2.8.0+cu128' (local label and dev suffix ignored)."""
        try:
            base = Version(version).base_version
        except InvalidVersion:
            return None
        series = ".".join(base.split(".")[:2])
        for release in self.releases:
            if release.series == series:
                return release
        return None


@dataclass(frozen=True)
class CudaMajor:
    major: int
    min_driver_linux: str  # the minor-version-compatibility floor of this major
    min_driver_windows: str
    lowest_cc: str  # the oldest compute capability nvcc of this major can target
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.min_driver_linux, "min_driver_linux")
        _version(self.min_driver_windows, "min_driver_windows")
        cc_tuple(self.lowest_cc)


@dataclass(frozen=True)
class CudaToolkit:
    version: str  # "12.8.0"
    driver_linux: str  # the driver bundled with this toolkit: enough for every feature of it
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.version, "version")
        _version(self.driver_linux, "driver_linux")


@dataclass(frozen=True)
class CudaMatrix:
    schema: str
    majors: tuple[CudaMajor, ...]
    toolkits: tuple[CudaToolkit, ...]

    def major(self, cuda: str) -> CudaMajor | None:
        wanted = Version(cuda).major
        return next((m for m in self.majors if m.major == wanted), None)

    def full_feature_driver(self, cuda: str) -> str | None:
        """The driver bundled with the first toolkit of this major.minor: no minor-version limits above it."""
        wanted = Version(cuda).release[:2]
        rows = sorted(
            (t for t in self.toolkits if Version(t.version).release[:2] == wanted), key=lambda t: Version(t.version)
        )
        return rows[0].driver_linux if rows else None

    def newest_cuda_for_driver(self, driver: str) -> str | None:
        """The newest toolkit whose bundled driver is not newer than `driver` (major.minor)."""
        have = Version(driver)
        fitting = [Version(t.version) for t in self.toolkits if Version(t.driver_linux) <= have]
        if not fitting:
            return None
        best = max(fitting)
        return f"{best.major}.{best.minor}"


@dataclass(frozen=True)
class GpuModel:
    name: str  # "H100"
    pattern: str  # a case-insensitive regex matched against NVML/nvidia-smi names and user input
    compute_capability: str
    architecture: str
    memory_gib: tuple[int, ...]
    source: str
    kind: str = "datacenter"  # "datacenter" | "consumer" | "workstation" | "embedded"

    def __post_init__(self) -> None:
        _check_source(self.source)
        cc_tuple(self.compute_capability)
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern {self.pattern!r}: {exc}") from None


@dataclass(frozen=True)
class GpuMatrix:
    schema: str
    gpus: tuple[GpuModel, ...]

    def lookup(self, name: str) -> GpuModel | None:
        """The model a device or user-given name refers to; the longest match wins ('RTX 4090 D' over 'RTX 4090')."""
        hits = [(m, g) for g in self.gpus if (m := re.search(g.pattern, name, re.IGNORECASE))]
        if not hits:
            return None
        return max(hits, key=lambda hit: hit[0].end() - hit[0].start())[1]


@dataclass(frozen=True)
class Matrix:
    torch: TorchMatrix
    cuda: CudaMatrix
    gpus: GpuMatrix
    distributed: DistributedMatrix
    trainer_api: TrainerApiMatrix | None = None
