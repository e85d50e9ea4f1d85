"""Views of a facts snapshot that several rule families read: the torch build, the GPUs CUDA will see, parsed
versions. Read defensively: a snapshot may come from another machine, an older ftdoctor, or a probe that could
not tell, so every accessor answers None ("cannot tell") rather than guessing."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Distribution, Facts, Gpu, Status
from ftdoctor.matrix.model import TorchRelease, cc_tuple

CC = tuple[int, int]


def parse_version(text: str | None) -> Version | None:
    if not text:
        return None
    try:
        return Version(text.strip())
    except InvalidVersion:
        return None


def release_of(text: str | None) -> Version | None:
    """'2.8.0+cu128' -> 2.8.0 (local label and pre/dev parts dropped): the release a matrix row talks about."""
    parsed = parse_version(text)
    return Version(parsed.base_version) if parsed else None


def cc_text(cc: CC) -> str:
    return f"sm_{cc[0]}{cc[1]}"


def python_version(facts: Facts) -> Version | None:
    return parse_version(facts.python.version) if facts.python.status == Status.OK else None


def python_series(facts: Facts) -> str | None:
    """'3.11': the interpreter's minor series as wheel tags and matrix rows name it (whatever the probe status)."""
    parsed = parse_version(facts.python.version)
    return f"{parsed.major}.{parsed.minor}" if parsed else None


def installed(facts: Facts, name: str) -> str | None:
    dist = facts.distribution(name)
    return dist.version if dist else None


def wheel_name(dist: Distribution) -> str | None:
    """The file name a distribution was installed from, when pip recorded a URL or file (direct_url.json)."""
    if not dist.direct_url:
        return None
    tail = unquote(dist.direct_url.rstrip("/").rsplit("/", 1)[-1])
    return tail if tail.endswith(".whl") else None


def build_nvcc(facts: Facts) -> str | None:
    """The nvcc release an extension build would use: the toolkit under torch's CUDA_HOME, else the one resolved
    from CUDA_HOME/CUDA_PATH/PATH."""
    tk = facts.toolkit
    home = facts.torch.cuda_home or tk.cuda_home.value
    if home:
        for install in tk.installs:
            if install.path.rstrip("/") == home.rstrip("/") and install.version:
                return install.version
    return tk.nvcc_version


def windows_driver(facts: Facts) -> bool:
    """WSL and Windows report the Windows driver, whose numbers and floors differ from Linux's."""
    return facts.system.wsl or facts.system.os == "Windows"


@dataclass(frozen=True)
class GpuView:
    index: int
    name: str
    cc: CC | None
    cc_source: str
    mig: bool = False
    compute_mode: str | None = None

    @property
    def label(self) -> str:
        arch = cc_text(self.cc) if self.cc else "sm_?"
        return f"GPU {self.index} ({self.name}, {arch})"

    @property
    def capability(self) -> str | None:
        """'8.6', as matrix rows write compute capabilities; None when unknown."""
        return f"{self.cc[0]}.{self.cc[1]}" if self.cc else None


def gpu_groups(gpus: list[GpuView]) -> list[list[GpuView]]:
    """GPUs of one model and compute capability together, in order of first appearance."""
    groups: dict[tuple, list[GpuView]] = {}
    for g in gpus:
        groups.setdefault((g.name, g.cc), []).append(g)
    return list(groups.values())


def describe_gpus(gpus: list[GpuView]) -> str:
    """'GPU 0 (NVIDIA H100 80GB HBM3, sm_90)', or 'GPUs 0, 1, 2, 3 (4 × Tesla V100-SXM2-16GB, sm_70)' for a group."""
    parts = []
    for members in gpu_groups(gpus):
        first = members[0]
        if len(members) == 1:
            parts.append(first.label)
        else:
            arch = cc_text(first.cc) if first.cc else "sm_?"
            parts.append(f"GPUs {', '.join(str(g.index) for g in members)} ({len(members)} × {first.name}, {arch})")
    return "; ".join(parts)


def _view(gpu: Gpu, matrix) -> GpuView:
    cc, source = None, ""
    if gpu.compute_capability:
        try:
            cc, source = cc_tuple(gpu.compute_capability), gpu.source
        except ValueError:
            cc = None
    if cc is None and (model := matrix.gpus.lookup(gpu.name)) is not None:
        cc, source = cc_tuple(model.compute_capability), f"the matrix entry for {model.name}"
    return GpuView(gpu.index, gpu.name, cc, source, gpu.mig_mode == "enabled", gpu.compute_mode)


def physical_gpus(facts: Facts, matrix) -> list[GpuView]:
    """The GPUs the driver sees; torch's own list when no driver source answered but torch did."""
    found = facts.driver.gpus or (facts.torch.devices if facts.torch.status == Status.OK else ())
    return [_view(gpu, matrix) for gpu in found]


def visible_gpus(facts: Facts, matrix) -> list[GpuView]:
    """The GPUs a CUDA process will use, in CUDA_VISIBLE_DEVICES order when it is set."""
    gpus = physical_gpus(facts, matrix)
    if facts.driver.cuda_visible_devices is None:
        return gpus
    tokens = facts.driver.visible_devices
    if any(vd.token.startswith("MIG-") for vd in tokens):
        return [g for g in gpus if g.mig] or gpus
    by_index = {g.index: g for g in gpus}
    return [by_index[vd.physical_index] for vd in tokens if vd.physical_index in by_index]


@dataclass(frozen=True)
class TorchBuild:
    """The installed torch: from the import subprocess when it ran, else from its metadata and the matrix."""

    version: str
    cuda: str | None
    hip: str | None
    imported: bool
    sass: tuple[CC, ...] = ()
    ptx: tuple[CC, ...] = ()
    arch_source: str = ""  # where sass/ptx came from; "" when unknown
    release: TorchRelease | None = None

    @property
    def is_cpu(self) -> bool:
        return not self.cuda and not self.hip

    @property
    def series(self) -> str:
        release = release_of(self.version)
        return f"{release.major}.{release.minor}" if release else ""

    @property
    def label(self) -> str:
        build = f"CUDA {self.cuda}" if self.cuda else (f"ROCm {self.hip}" if self.hip else "CPU-only")
        return f"torch {self.version} ({build})"


def not_a_cuda_build(build: TorchBuild | None) -> str | None:
    """Why a rule about torch's CUDA has nothing to judge (no torch, or a build without CUDA); None when it has."""
    if build is None:
        return "torch is not installed"
    return None if build.cuda else "torch is not a CUDA build"


def torch_build(facts: Facts, matrix) -> TorchBuild | None:
    t = facts.torch
    dist = facts.distribution("torch")
    version = t.version or (dist.version if dist else None)
    if not version:
        return None
    imported = t.status == Status.OK
    release = matrix.torch.release_for(version)
    cuda, hip = (t.cuda, t.hip) if imported else _from_metadata(version, t.cuda, t.hip, dist, release)
    build = TorchBuild(version, cuda, hip, imported, release=release)
    return _with_archs(build, t.arch_list if imported else (), matrix)


def _from_metadata(version: str, cuda: str | None, hip: str | None, dist, release) -> tuple[str | None, str | None]:
    """torch's CUDA without importing it: the local label, else the nvidia-*/cuda-toolkit pins of its metadata,
    else (a label-less index wheel whose requirements were not recorded) the matrix's default for that release."""
    from ftdoctor.probes.torch_probe import cuda_from_metadata

    label = version.partition("+")[2]
    if label.startswith("rocm"):
        return None, hip or label.removeprefix("rocm")
    found = cuda or (cuda_from_metadata(dist) if dist else None)
    if found or label or release is None or release.default_cuda == "cpu":
        return found, hip
    return release.default_cuda, hip


def torch_cuda(facts: Facts, matrix) -> str | None:
    """torch.version.cuda, imported or from metadata (see `torch_build`); None for a CPU build or no torch."""
    build = torch_build(facts, matrix)
    return build.cuda if build else None


def torch_cxx11_abi(facts: Facts, matrix) -> bool | None:
    """torch._C._GLIBCXX_USE_CXX11_ABI: from the probe, else from the matrix row of that wheel."""
    if facts.torch.cxx11_abi is not None:
        return facts.torch.cxx11_abi
    version = facts.torch.version
    release = matrix.torch.release_for(version) if version else None
    if release is None:
        return None
    label = version.partition("+")[2]
    if label.startswith("cu"):
        variant = release.variant(f"{label[2:-1]}.{label[-1]}")
        if variant is not None and variant.cxx11_abi is not None:
            return variant.cxx11_abi
    return release.cxx11_abi


def _ccs(arch_list: tuple[str, ...], prefix: str) -> tuple[CC, ...]:
    found = []
    for arch in arch_list:
        try:
            if arch.startswith(prefix):
                found.append(cc_tuple(arch))
        except ValueError:
            continue  # an entry this ftdoctor cannot read is not evidence of a kernel
    return tuple(found)


def _with_archs(build: TorchBuild, arch_list: tuple[str, ...], matrix) -> TorchBuild:
    from dataclasses import replace

    if not build.cuda:
        return build
    if arch_list:
        sass, ptx = _ccs(arch_list, "sm_"), _ccs(arch_list, "compute_")
        return replace(build, sass=sass, ptx=ptx, arch_source="torch.cuda.get_arch_list()")
    variant = build.release.variant(build.cuda) if build.release else None
    if variant is None:
        return build
    why = "torch was not imported" if not build.imported else "torch reported no arch list"
    note = ", unconfirmed" if variant.confidence != "confirmed" else ""
    source = f"the matrix row for torch {build.series} {variant.suffix} ({why}{note})"
    return replace(
        build, sass=tuple(map(cc_tuple, variant.archs)), ptx=tuple(map(cc_tuple, variant.ptx)), arch_source=source
    )
