"""The shape of a facts snapshot.

Every section says how it was answered: `status` is one of `Status`, `source` names what answered
(a file, NVML, the CUDA driver API, nvidia-smi, a subprocess), and `reason` says why a section is
unknown. A probe that could not tell leaves `status="unknown"` with a reason; it never guesses.

Versions are kept as the strings the source printed; rules parse them with `packaging` when they compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SCHEMA = "ftdoctor-facts/1"


class Status(str, Enum):
    OK = "ok"  # the probe answered
    ABSENT = "absent"  # the probe looked and the thing is definitely not there
    UNKNOWN = "unknown"  # the probe could not tell; `reason` says why
    ERROR = "error"  # the probe found a failure that is itself a diagnosis (e.g. a crash on import)


@dataclass(frozen=True)
class Resolved:
    """A value chosen among several sources, with the source that answered."""

    value: str | None = None
    source: str = ""


@dataclass(frozen=True)
class KernelModule:
    status: Status = Status.UNKNOWN
    reason: str = ""
    source: str = ""
    version: str | None = None
    open_module: bool | None = None  # the open kernel module (True) or the proprietary one (False)


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    source: str
    uuid: str | None = None
    pci_bus_id: str | None = None
    compute_capability: str | None = None  # "9.0"
    memory_total_mib: int | None = None
    architecture: str | None = None
    mig_mode: str | None = None  # "enabled" | "disabled"
    compute_mode: str | None = None  # "default" | "exclusive_process" | "prohibited"


@dataclass(frozen=True)
class NvmlFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    error: str | None = None  # the NVML error name, e.g. "LibraryNotFound", "LibRmVersionMismatch"
    driver_version: str | None = None
    cuda_driver_version: str | None = None  # "12.4": the highest CUDA the driver supports
    nvml_version: str | None = None
    gpus: tuple[Gpu, ...] = ()


@dataclass(frozen=True)
class CudaDriverApiFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    library: str | None = None
    error: str | None = None  # e.g. "CUDA_ERROR_NO_DEVICE" from cuInit
    cuda_driver_version: str | None = None
    device_count: int | None = None
    compute_capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class NvidiaSmiFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    path: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    gpus: tuple[Gpu, ...] = ()


@dataclass(frozen=True)
class PciDevice:
    bus_id: str
    vendor: str  # "0x10de"
    device: str
    pci_class: str
    driver: str | None = None  # the kernel driver bound to it, if any


@dataclass(frozen=True)
class VisibleDevice:
    """One entry of CUDA_VISIBLE_DEVICES mapped to a physical GPU (NVML ignores the variable, CUDA honours it)."""

    logical_index: int
    token: str
    physical_index: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class DriverFacts:
    kernel_module: KernelModule = field(default_factory=KernelModule)
    nvml: NvmlFacts = field(default_factory=NvmlFacts)
    cuda_driver_api: CudaDriverApiFacts = field(default_factory=CudaDriverApiFacts)
    nvidia_smi: NvidiaSmiFacts = field(default_factory=NvidiaSmiFacts)
    pci_devices: tuple[PciDevice, ...] = ()  # NVIDIA display/3D controllers seen on the PCI bus
    pci_status: Status = Status.UNKNOWN
    dev_nodes: tuple[str, ...] = ()
    driver_version: Resolved = field(default_factory=Resolved)
    cuda_driver_version: Resolved = field(default_factory=Resolved)
    gpus: tuple[Gpu, ...] = ()  # physical GPUs, from the best source that answered
    cuda_visible_devices: str | None = None
    visible_devices: tuple[VisibleDevice, ...] = ()


@dataclass(frozen=True)
class ToolkitInstall:
    path: str
    version: str | None
    source: str  # "CUDA_HOME", "PATH", "/usr/local/cuda-*", ...


@dataclass(frozen=True)
class ToolkitFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    cuda_home: Resolved = field(default_factory=Resolved)  # source: "CUDA_HOME" | "CUDA_PATH" | "nvcc on PATH" | ...
    nvcc_path: str | None = None
    nvcc_version: str | None = None  # "12.8.93"
    installs: tuple[ToolkitInstall, ...] = ()


@dataclass(frozen=True)
class SystemFacts:
    os: str = ""
    machine: str = ""
    kernel_release: str = ""
    distro: str | None = None
    glibc_version: str | None = None
    libstdcxx_path: str | None = None
    glibcxx_max: str | None = None  # highest GLIBCXX_x.y.z symbol version of the libstdc++ in use
    container: tuple[str, ...] = ()  # hints: "docker", "podman", "kubernetes", ...
    wsl: bool = False
    shm_bytes: int | None = None
    cpu_count: int | None = None
    memory_total_bytes: int | None = None


@dataclass(frozen=True)
class Distribution:
    name: str  # normalized (PEP 503)
    version: str
    location: str | None = None
    installer: str | None = None
    requires: tuple[str, ...] = ()
    direct_url: str | None = None  # where a URL/file install came from (names a flash-attn wheel, say)
    wheel_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequirementViolation:
    package: str
    requirement: str
    installed: str | None  # None: the requirement is missing


@dataclass(frozen=True)
class PythonEnvFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    executable: str = ""
    version: str = ""
    implementation: str = ""
    prefix: str = ""
    base_prefix: str = ""
    kind: str = ""  # "venv" | "conda" | "system"
    distributions: tuple[Distribution, ...] = ()
    duplicates: tuple[str, ...] = ()  # names installed more than once on sys.path
    violations: tuple[RequirementViolation, ...] = ()


@dataclass(frozen=True)
class TorchFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    source: str = ""  # "subprocess" | "metadata"
    version: str | None = None
    cuda: str | None = None  # torch.version.cuda
    hip: str | None = None
    git_version: str | None = None
    cxx11_abi: bool | None = None
    cudnn: int | None = None
    nccl: str | None = None
    arch_list: tuple[str, ...] = ()  # torch.cuda.get_arch_list(): "sm_90", "compute_120", ...
    cuda_home: str | None = None  # torch.utils.cpp_extension.CUDA_HOME
    cuda_available: bool | None = None
    device_count: int | None = None
    devices: tuple[Gpu, ...] = ()
    warnings: tuple[str, ...] = ()
    loaded_libraries: tuple[str, ...] = ()
    returncode: int | None = None
    signal: str | None = None
    elapsed_s: float | None = None


class SmokeStatus(str, Enum):
    OK = "ok"  # the smoke op ran and its result was right
    FAILED = "failed"  # it ran and reported a failure (an import error, a wrong result, ...)
    SKIPPED = "skipped"  # not applicable here; `reason` says why ("no CUDA device")
    TIMEOUT = "timeout"  # it did not finish in time and was killed with its process group
    CRASHED = "crashed"  # it died without a report: a signal, or an exit without a result


@dataclass(frozen=True)
class SmokeResult:
    """One smoke test, run in its own subprocess of the diagnosed interpreter."""

    name: str  # "torch", "bitsandbytes-4bit", "flash-attn", "distributed", "deepspeed", "deepspeed-ops", "triton"
    status: SmokeStatus
    reason: str = ""  # one line: why it was skipped, or what went wrong
    details: dict[str, Any] = field(default_factory=dict)  # what the runner measured, per stage
    stage: str = ""  # the last stage the child announced: where it crashed or hung
    elapsed_s: float | None = None
    returncode: int | None = None
    signal: str | None = None  # "SIGSEGV"
    output_tail: str = ""  # the end of its stderr/stdout, kept to explain a failure


@dataclass(frozen=True)
class VerifyFacts:
    status: Status = Status.UNKNOWN  # OK once smoke tests ran (whatever their results)
    reason: str = "smoke tests not run (`ftdoctor check --verify` runs them)"
    smokes: tuple[SmokeResult, ...] = ()
    elapsed_s: float | None = None

    @property
    def ran(self) -> bool:
        return self.status == Status.OK

    def smoke(self, name: str) -> SmokeResult | None:
        return next((s for s in self.smokes if s.name == name), None)


@dataclass(frozen=True)
class NeededLibrary:
    """A DT_NEEDED entry of a compiled extension and where the dynamic loader would find it."""

    name: str  # "libc10.so", "libcudart.so.12"
    path: str | None = None  # None: not found in RUNPATH/RPATH, LD_LIBRARY_PATH, torch's libraries or the system


@dataclass(frozen=True)
class ExtensionAbi:
    """What one compiled extension needs from torch and the system, read from its ELF file without loading it."""

    path: str
    package: str  # the top-level folder under site-packages ("flash_attn"), or "torch_extensions" (JIT cache)
    links_torch: bool  # DT_NEEDED names a libc10/libtorch library
    needed: tuple[NeededLibrary, ...] = ()
    runtime_selected: bool = False  # one of several variants its package chooses from at run time (bitsandbytes)
    missing_torch_symbols: tuple[str, ...] = ()  # the first few undefined torch symbols torch does not export
    missing_torch_symbol_count: int = 0
    abi_flip_count: int = 0  # of those, how many torch exports with the other C++ string ABI
    glibc_needed: str | None = None  # the highest GLIBC_x.y symbol version it needs
    glibcxx_needed: str | None = None  # the highest GLIBCXX_x.y.z
    error: str | None = None  # the ELF file could not be read


@dataclass(frozen=True)
class AbiFacts:
    status: Status = Status.UNKNOWN
    reason: str = ""
    torch_lib_dir: str | None = None
    torch_libraries: tuple[str, ...] = ()  # file names in torch/lib: "libc10.so", "libtorch_cuda.so", ...
    scanned: int = 0  # ELF files looked at
    extensions: tuple[ExtensionAbi, ...] = ()  # those that link torch or belong to a known package
    elapsed_s: float | None = None


@dataclass(frozen=True)
class Facts:
    schema: str = SCHEMA
    ftdoctor_version: str = ""
    collected_at: str = ""
    label: str = ""  # a name for the machine (compare, fleets); empty unless the user gives one
    driver: DriverFacts = field(default_factory=DriverFacts)
    toolkit: ToolkitFacts = field(default_factory=ToolkitFacts)
    system: SystemFacts = field(default_factory=SystemFacts)
    python: PythonEnvFacts = field(default_factory=PythonEnvFacts)
    torch: TorchFacts = field(default_factory=TorchFacts)
    env: dict[str, str] = field(default_factory=dict)  # environment variables that change behaviour
    verify: VerifyFacts = field(default_factory=VerifyFacts)  # smoke tests (check --verify)
    abi: AbiFacts = field(default_factory=AbiFacts)  # compiled extensions vs torch and the system, from ELF files

    def distribution(self, name: str) -> Distribution | None:
        wanted = normalize_name(name)
        for dist in self.python.distributions:
            if dist.name == wanted:
                return dist
        return None


def normalize_name(name: str) -> str:
    """PEP 503 normalization, so `Flash_Attn` and `flash-attn` are one package."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()
