"""The machine a lock is made for: this one, a saved facts snapshot, or one described on the command line.

Every way of naming it ends in the same `Target`, and every contradiction in the description (a GPU with
--cpu, a driver too old to drive the GPU, an unknown GPU name) is refused here with one line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ftdoctor.errors import UsageError
from ftdoctor.facts.model import Distribution, Facts
from ftdoctor.matrix.model import cc_tuple

PLATFORMS = ("linux_x86_64",)


@dataclass(frozen=True)
class TargetGpu:
    name: str
    cc: str  # "9.0"


@dataclass(frozen=True)
class Target:
    gpus: tuple[TargetGpu, ...]  # () for a CPU-only machine
    driver: str | None
    python: str  # "3.12"
    platform: str = "linux_x86_64"
    glibc: str | None = None
    nvcc: str | None = None  # the toolkit extension builds would use, when known
    origin: str = "described"  # "described" | "this machine" | "facts FILE"
    env: dict[str, str] = field(default_factory=dict)
    installed: tuple[Distribution, ...] = ()  # the live environment (for `fix`), empty for described targets
    base: Facts | None = None  # the snapshot a target came from: proposals are judged on top of it

    @property
    def cpu(self) -> bool:
        return not self.gpus

    @property
    def ccs(self) -> list[str]:
        return sorted({g.cc for g in self.gpus}, key=cc_tuple)

    def describe(self) -> str:
        if self.cpu:
            hardware = "CPU only"
        else:
            names = sorted({f"{g.name} (sm_{g.cc.replace('.', '')})" for g in self.gpus})
            hardware = f"{', '.join(names)}, driver {self.driver}"
        glibc = f", glibc {self.glibc}" if self.glibc else ""
        return f"{hardware}, Python {self.python}, {self.platform}{glibc}"


def described(matrix, *, gpu: str | None, driver: str | None, python: str | None, platform: str | None,
              cpu: bool, glibc: str | None = None, nvcc: str | None = None) -> Target:
    if cpu and gpu:
        raise UsageError("--cpu and --gpu contradict each other", hint="describe a GPU machine or a CPU-only one, not both")
    if not cpu and not gpu:
        raise UsageError("no target machine", hint="pass --target auto, --facts FILE, --gpu NAME --driver VERSION, or --cpu")
    py = _python(python)
    plat = _platform(platform)
    if cpu:
        if driver:
            raise UsageError("--driver was given with --cpu", hint="a CPU-only target has no NVIDIA driver; drop --driver or give --gpu")
        return Target((), None, py, plat, _optional_version(glibc, "--glibc"), _optional_version(nvcc, "--nvcc"))
    model = resolve_gpu(matrix, gpu)
    if not driver:
        raise UsageError("--gpu needs --driver", hint="the driver decides which CUDA can run: give the version nvidia-smi prints, e.g. --driver 550.54.15")
    drv = _driver(driver)
    _check_driver_drives(matrix, model, drv)
    return Target((model,), drv, py, plat, _optional_version(glibc, "--glibc"), _optional_version(nvcc, "--nvcc"))


def resolve_gpu(matrix, text: str) -> TargetGpu:
    """A GPU from a model name ('H100', 'RTX 4090') or a compute capability ('sm_90', '8.6')."""
    spelled = text.strip()
    if re.fullmatch(r"(sm_?|compute_)?\d+(\.\d)?[af]?", spelled, re.IGNORECASE):
        try:
            major, minor = cc_tuple(spelled)
        except ValueError:
            raise UsageError(f"{text!r} is not a compute capability", where="--gpu", hint="write it as sm_90 or 9.0") from None
        cc = f"{major}.{minor}"
        if not any(cc_tuple(c.cc) == (major, minor) for c in matrix.cuda.capabilities):
            raise UsageError(f"no NVIDIA GPU has compute capability {cc}", where="--gpu", hint=_known_ccs(matrix))
        return TargetGpu(f"sm_{major}{minor}", cc)
    model = matrix.gpus.lookup(spelled)
    if model is None:
        names = [g.name for g in matrix.gpus.gpus]
        near = difflib.get_close_matches(spelled.upper(), [n.upper() for n in names], n=1, cutoff=0.5)
        suggestion = next((n for n in names if near and n.upper() == near[0]), None)
        hint = f"did you mean {suggestion!r}?" if suggestion else "give a model name such as 'H100' or 'RTX 4090'"
        raise UsageError(f"unknown GPU {text!r}", where="--gpu",
                         hint=f"{hint} (or give its compute capability, e.g. --gpu sm_90)")
    return TargetGpu(model.name, model.compute_capability)


def _known_ccs(matrix) -> str:
    return "known compute capabilities: " + ", ".join(c.cc for c in matrix.cuda.capabilities)


def _python(text: str | None) -> str:
    if not text:
        raise UsageError("no Python version for the target", hint="pass --python 3.12 (or --target auto / --facts FILE)")
    match = re.fullmatch(r"(?:cp|py|python)?\s*(3)\.?(\d{1,2})(?:\.\d+)?", text.strip(), re.IGNORECASE)
    if not match:
        raise UsageError(f"{text!r} is not a Python 3 version", where="--python", hint="write it as 3.12")
    return f"{match.group(1)}.{match.group(2)}"


def _platform(text: str | None) -> str:
    plat = (text or "linux_x86_64").strip().lower().replace("-", "_")
    if plat not in PLATFORMS:
        raise UsageError(f"platform {text!r} is not covered by ftdoctor's matrix", where="--platform",
                         hint=f"supported: {', '.join(PLATFORMS)} (the matrix records Linux x86_64 wheels)")
    return plat


def _driver(text: str) -> str:
    try:
        version = Version(text.strip())
    except InvalidVersion:
        raise UsageError(f"{text!r} is not a driver version", where="--driver", hint="e.g. 550.54.15 (nvidia-smi prints it)") from None
    if version.major < 400 or version.major > 999:
        raise UsageError(f"{text!r} is not an NVIDIA Linux driver version", where="--driver",
                         hint="Linux drivers are numbered like 535.104.05 or 580.95.05")
    return text.strip()


def _optional_version(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    try:
        Version(text)
    except InvalidVersion:
        raise UsageError(f"{text!r} is not a version", where=flag) from None
    return text


def _check_driver_drives(matrix, gpu: TargetGpu, driver: str) -> None:
    first = matrix.cuda.first_driver_for_cc(gpu.cc)
    if first is not None and Version(driver) < Version(first):
        raise UsageError(
            f"driver {driver} cannot drive {gpu.name}: a compute capability {gpu.cc} GPU needs driver {first} or newer "
            "(the driver of the first CUDA that knows it)",
            where="--driver", hint=f"describe the machine as it is, e.g. --driver {first}",
        )


def from_facts(facts: Facts, matrix, origin: str) -> Target:
    """The target a facts snapshot describes (its GPUs, driver, Python, platform, toolkit, installed packages)."""
    from ftdoctor.rules import facts_view

    gpus = []
    for gpu in facts_view.physical_gpus(facts, matrix):
        if gpu.capability is None:
            raise UsageError(f"the compute capability of {gpu.name!r} is unknown", where=origin,
                             hint="describe the target instead: --gpu sm_XY --driver ... --python ...")
        gpus.append(TargetGpu(gpu.name, gpu.capability))
    if gpus and not facts.driver.driver_version.value:
        raise UsageError("the machine has NVIDIA GPUs but no driver answered", where=origin,
                         hint="fix the driver first (`ftdoctor check` says why), or describe the target with --driver")
    if not gpus and (facts.driver.pci_devices or facts.driver.dev_nodes):
        # Taken as CPU-only, every CPU build would be refused by the rules (an NVIDIA GPU is there) and every CUDA
        # build by the target (no GPU listed): "nothing fits" would hide the real cause.
        seen = f"{len(facts.driver.pci_devices)} on the PCI bus" if facts.driver.pci_devices else "/dev/nvidia* device nodes"
        raise UsageError(f"the machine has NVIDIA GPUs ({seen}) but the driver listed none, so their models are unknown",
                         where=origin, hint="fix the driver first (`ftdoctor check` says why), or describe the target: "
                         "--gpu NAME --driver VERSION --python X.Y")
    python = facts_view.python_series(facts)
    if python is None:
        raise UsageError("the snapshot does not say which Python it has", where=origin, hint="add --python 3.12")
    machine_name = facts.system.machine or "x86_64"
    return Target(
        gpus=tuple(gpus),
        driver=facts.driver.driver_version.value if gpus else None,
        python=python,
        platform=_platform(f"linux_{machine_name}"),
        glibc=facts.system.glibc_version,
        nvcc=facts_view.build_nvcc(facts),
        origin=origin,
        env=dict(facts.env),
        installed=facts.python.distributions,
        base=facts,
    )
