"""The compatibility matrix as frozen data. Version bounds live in `compat_matrix/*.toml` and nowhere else;
these classes only give them types and lookups. Every row carries the `source` that establishes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:  # the topic modules import the helpers below, so their classes are named for typing only
    from ftdoctor.matrix.bitsandbytes import BitsandbytesMatrix
    from ftdoctor.matrix.deepspeed import DeepSpeedMatrix
    from ftdoctor.matrix.flash_attn import FlashAttnMatrix
    from ftdoctor.matrix.hf_releases import HfReleasesMatrix
if TYPE_CHECKING:
    from ftdoctor.matrix.images import ImageMatrix
    from ftdoctor.matrix.hf_stack import HfStackMatrix
    from ftdoctor.matrix.platforms import PlatformMatrix
if TYPE_CHECKING:  # trainer_api.py imports this module's helpers
    from ftdoctor.matrix.trainer_api import TrainerApiMatrix
if TYPE_CHECKING:
    from ftdoctor.matrix.distributed import DistributedMatrix

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
    cxx11_abi: bool | None = None  # torch._C._GLIBCXX_USE_CXX11_ABI of this variant's wheels; None: as the release's default wheel

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
class CudaCapability:
    """The first CUDA release whose nvcc and driver know a compute capability (and the last that can target it)."""

    cc: str
    first_cuda: str
    source: str
    last_cuda: str = ""
    arch_specific_cuda: str = ""  # the first nvcc that targets its arch-specific variant (sm_90a), when later

    def __post_init__(self) -> None:
        _check_source(self.source)
        cc_tuple(self.cc)
        _version(self.first_cuda, "first_cuda")
        for value, what in ((self.last_cuda, "last_cuda"), (self.arch_specific_cuda, "arch_specific_cuda")):
            if value:
                _version(value, what)


@dataclass(frozen=True)
class CudaMatrix:
    schema: str
    majors: tuple[CudaMajor, ...]
    toolkits: tuple[CudaToolkit, ...]
    capabilities: tuple[CudaCapability, ...] = ()

    def first_driver_for_cc(self, cc: str) -> str | None:
        """The driver bundled with the first CUDA that knows this GPU: an older driver cannot drive it at all."""
        row = next((c for c in self.capabilities if cc_tuple(c.cc) == cc_tuple(cc)), None)
        return self.full_feature_driver(row.first_cuda) if row else None

    def first_nvcc_for(self, arch: str) -> str | None:
        """The first CUDA whose nvcc compiles for `arch` ('sm_89', 'compute_90a'); None when the matrix does not say
        (an unknown architecture, or a family-specific 'f' target)."""
        text = arch.strip().lower()
        row = next((c for c in self.capabilities if cc_tuple(c.cc) == cc_tuple(text)), None)
        if row is None or text.endswith("f"):
            return None
        return (row.arch_specific_cuda or row.first_cuda) if text.endswith("a") else row.first_cuda

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


class Matrix:
    """The whole matrix: one part per `compat_matrix/*.toml` file, each read and checked the first time it is
    used, then kept. `check` never pays for the release list only `lock` reads (a third of the load time).
    A damaged file still fails with its file and key, at that first use; the test suite reads every part.
    """

    torch: TorchMatrix
    cuda: CudaMatrix
    gpus: GpuMatrix
    flash_attn: FlashAttnMatrix
    bitsandbytes: BitsandbytesMatrix
    deepspeed: DeepSpeedMatrix
    hf_releases: HfReleasesMatrix
    images: ImageMatrix
    hf_stack: HfStackMatrix
    platform: PlatformMatrix
    distributed: DistributedMatrix
    trainer_api: TrainerApiMatrix

    def __init__(self, read_part: Callable[[str], Any]) -> None:
        """`read_part(name)` reads and checks the part called `name` (a name annotated above)."""
        self._read_part = read_part

    def __getattr__(self, name: str) -> Any:  # only reached while the part is not yet read
        if name not in Matrix.__annotations__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        part = self._read_part(name)
        self.__dict__[name] = part  # a race between threads reads a file twice, harmlessly
        return part

    def replace(self, **parts: Any) -> Matrix:
        """A matrix with these parts swapped (what-if checks, tests); the others are this one's."""
        unknown = sorted(set(parts) - set(Matrix.__annotations__))
        if unknown:
            raise TypeError(f"the matrix has no part {unknown[0]!r}")
        return Matrix(lambda name: parts[name] if name in parts else getattr(self, name))

    def read_all(self) -> Matrix:
        """Read every part now (the tests, `matrix verify`): a damaged file fails here, not later."""
        for name in Matrix.__annotations__:
            getattr(self, name)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        if name != "_read_part":
            raise AttributeError(f"the matrix is read-only: cannot set {name!r}")
        object.__setattr__(self, name, value)
