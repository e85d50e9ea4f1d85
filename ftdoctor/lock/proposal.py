"""A proposed set of pins, and the facts snapshot it would produce on the target machine.

The lock judges a proposal with the same rules `check` runs on a live machine: it builds the facts that
installing the pins on the target would give (torch's CUDA, ABI and compiled architectures from the matrix,
each package's Requires-Dist from its matrix row) and hands them to the rule engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from packaging.requirements import Requirement

from ftdoctor.facts.model import (
    CudaDriverApiFacts, Distribution, DriverFacts, Facts, Gpu, KernelModule, NvmlFacts, PythonEnvFacts, Resolved,
    Status, SystemFacts, ToolkitFacts, ToolkitInstall, TorchFacts, normalize_name,
)
from ftdoctor.lock.target import Target
from ftdoctor.probes.python_env import violations


@dataclass(frozen=True)
class Pin:
    name: str
    version: str  # the exact version written into the lock ("2.14.1+cu126" for a PyTorch-index variant)
    variant: str = ""  # torch: "cu128" | "cpu"; flash-attn: its wheel key or "source build"
    index: str | None = None  # the index a variant comes from, when it is not the default one
    url: str | None = None  # a direct wheel URL (flash-attn's prebuilt wheels)
    requires: tuple[str, ...] = ()  # its Requires-Dist (from the matrix), for the consistency rules
    reasons: tuple[str, ...] = ()
    build: tuple[str, ...] = ()  # commands that build it when no wheel fits (flash-attn source build)

    def with_reason(self, *reasons: str) -> Pin:
        return replace(self, reasons=self.reasons + reasons)


@dataclass(frozen=True)
class TorchBuild:
    """What the matrix says the pinned torch wheel is (so rules need not import it)."""

    cuda: str | None
    cxx11_abi: bool
    arch_list: tuple[str, ...]


@dataclass(frozen=True)
class Proposal:
    pins: tuple[Pin, ...]
    torch: TorchBuild | None = None
    notes: tuple[str, ...] = field(default=())

    def pin(self, name: str) -> Pin | None:
        return next((p for p in self.pins if p.name == name), None)


def markers(target: Target) -> dict[str, str]:
    machine = target.platform.removeprefix("linux_")
    return {
        "python_version": target.python, "python_full_version": f"{target.python}.0",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "sys_platform": "linux", "platform_system": "Linux", "platform_machine": machine, "os_name": "posix",
        "platform_release": "", "platform_version": "", "implementation_version": f"{target.python}.0",
    }


def facts_for(target: Target, proposal: Proposal) -> Facts:
    """The snapshot a machine like `target` would give once the proposal is installed: the target's own snapshot
    (when it came from one) with the packages and torch replaced, else a healthy machine as described."""
    dists = tuple(_distribution(p) for p in proposal.pins) + _implied(proposal, target)
    gpus = tuple(Gpu(index=i, name=g.name, source="lock target", compute_capability=g.cc) for i, g in enumerate(target.gpus))
    python = PythonEnvFacts(
        status=Status.OK, executable="python", version=f"{target.python}.0", implementation="CPython",
        kind="venv", distributions=dists, violations=violations(dists, markers(target)),
    )
    if target.base is not None:
        base = target.base
        python = replace(python, executable=base.python.executable or "python", prefix=base.python.prefix,
                         base_prefix=base.python.base_prefix, kind=base.python.kind or "venv")
        return replace(base, label="lock proposal", python=python, torch=_torch(proposal, base.driver.gpus or gpus))
    return Facts(
        label="lock proposal",
        driver=_driver(target, gpus),
        toolkit=_toolkit(target),
        system=SystemFacts(os="Linux", machine=target.platform.removeprefix("linux_"), glibc_version=target.glibc),
        python=python,
        torch=_torch(proposal, gpus),
        env=dict(target.env),
    )


def _distribution(pin: Pin) -> Distribution:
    version = pin.version if pin.url is None else pin.version.split("+")[0]
    return Distribution(name=pin.name, version=version, requires=pin.requires, direct_url=pin.url, installer="ftdoctor lock")


def _implied(proposal: Proposal, target: Target) -> tuple[Distribution, ...]:
    """Dependencies the pins pull in without pinning them: pip installs them, so they count as present (version
    left open; an unparsable version satisfies every specifier, as in pip's own check)."""
    pinned = {p.name for p in proposal.pins}
    env = markers(target)
    names = set()
    for pin in proposal.pins:
        for req in map(_requirement, pin.requires):
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                names.add(normalize_name(req.name))
    return tuple(Distribution(name=n, version="", installer="ftdoctor lock (dependency)") for n in sorted(names - pinned))


@lru_cache(maxsize=4096)
def _requirement(text: str) -> Requirement:
    return Requirement(text)


def _driver(target: Target, gpus: tuple[Gpu, ...]) -> DriverFacts:
    """A described GPU machine has a working driver: its kernel module and libraries answer with that version."""
    if target.cpu:
        return DriverFacts(pci_status=Status.OK)
    value = Resolved(target.driver, "lock target")
    source = "lock target"
    return DriverFacts(
        kernel_module=KernelModule(status=Status.OK, source=source, version=target.driver),
        nvml=NvmlFacts(status=Status.OK, driver_version=target.driver, gpus=gpus),
        cuda_driver_api=CudaDriverApiFacts(status=Status.OK, library=source, device_count=len(gpus),
                                           compute_capabilities=tuple(g.compute_capability for g in gpus)),
        driver_version=value, gpus=gpus, pci_status=Status.OK,
    )


def _toolkit(target: Target) -> ToolkitFacts:
    if target.nvcc is None:
        return ToolkitFacts(status=Status.UNKNOWN, reason="the target's CUDA toolkit was not described")
    home = "/usr/local/cuda"  # where the described toolkit lives does not matter to any rule, only its version
    return ToolkitFacts(status=Status.OK, nvcc_version=target.nvcc, nvcc_path=f"{home}/bin/nvcc",
                        cuda_home=Resolved(home, "lock target"), installs=(ToolkitInstall(home, target.nvcc, "lock target"),))


def _torch(proposal: Proposal, gpus: tuple[Gpu, ...]) -> TorchFacts:
    pin, build = proposal.pin("torch"), proposal.torch
    if pin is None or build is None:
        return TorchFacts(status=Status.ABSENT, source="lock", reason="torch is not in the proposal")
    cuda_ok = build.cuda is not None and bool(gpus)
    return TorchFacts(
        status=Status.OK, source="lock", version=pin.version, cuda=build.cuda, cxx11_abi=build.cxx11_abi,
        arch_list=build.arch_list, cuda_available=cuda_ok, device_count=len(gpus) if cuda_ok else 0,
        devices=gpus if cuda_ok else (),
    )
