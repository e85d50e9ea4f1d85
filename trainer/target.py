"""The machine a config is judged for: this one (live facts), a saved snapshot (`--facts`), or a described
one (`--gpu "RTX 4090" --gpus 2`). A described machine has the named GPUs; its software is this
environment's installed packages (read from metadata), and the header says so."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ftdoctor.errors import UsageError
from ftdoctor.facts.model import Facts, Status, normalize_name

GIB = 1 << 30


@dataclass(frozen=True)
class TargetGpu:
    name: str
    compute_capability: str | None  # "8.9"
    memory_bytes: int | None


@dataclass(frozen=True)
class Target:
    source: str  # "live" | "facts FILE" | "described"
    gpus: tuple[TargetGpu, ...] = ()
    packages: dict[str, str] = field(default_factory=dict)  # normalized name -> version ("" when unknown)
    packages_known: bool = True  # False: no package information at all (judge nothing about libraries)
    torch_cuda: str | None = None  # the CUDA torch was built for; None: CPU build or unknown
    torch_build_known: bool = False
    nccl: str | None = None
    nccl_known: bool = False  # torch was imported to ask (not with --no-torch, not for a described machine)
    system_memory_bytes: int | None = None
    visible_devices: str | None = None  # CUDA_VISIBLE_DEVICES of the snapshot
    notes: tuple[str, ...] = ()

    @property
    def gpu_count(self) -> int:
        return len(self.gpus)

    @property
    def cpu_only(self) -> bool:
        return not self.gpus

    @property
    def min_cc(self) -> tuple[int, int] | None:
        from ftdoctor.matrix import cc_tuple

        ccs = [cc_tuple(g.compute_capability) for g in self.gpus if g.compute_capability]
        return min(ccs) if ccs else None

    @property
    def memory_bytes(self) -> int | None:
        sizes = [g.memory_bytes for g in self.gpus if g.memory_bytes]
        return min(sizes) if sizes and len(sizes) == len(self.gpus) else None

    def version(self, package: str) -> str | None:
        return self.packages.get(normalize_name(package)) or None

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU (CPU only)"
        first = self.gpus[0]
        memory = f", {first.memory_bytes / GIB:.0f} GiB" if first.memory_bytes else ""
        cc = f"sm_{first.compute_capability.replace('.', '')}" if first.compute_capability else "sm_?"
        count = f"{len(self.gpus)} × " if len(self.gpus) > 1 else ""
        return f"{count}{first.name} ({cc}{memory})"


def from_facts(facts: Facts, source: str) -> Target:
    gpus = tuple(TargetGpu(g.name, g.compute_capability, g.memory_total_mib * (1 << 20) if g.memory_total_mib else None)
                 for g in _visible(facts))
    packages = {d.name: d.version for d in facts.python.distributions}
    torch = facts.torch
    imported = torch.status == Status.OK and torch.source == "subprocess"
    labelled = torch.cuda is not None or (torch.version or "").endswith("+cpu")  # the metadata could tell
    return Target(
        source=source, gpus=gpus, packages=packages, packages_known=facts.python.status == Status.OK,
        torch_cuda=torch.cuda, torch_build_known=imported or labelled, nccl=torch.nccl, nccl_known=imported,
        system_memory_bytes=facts.system.memory_total_bytes, visible_devices=facts.driver.cuda_visible_devices,
    )


def _visible(facts: Facts):
    gpus = facts.driver.gpus
    mapped = [v.physical_index for v in facts.driver.visible_devices]
    if facts.driver.cuda_visible_devices is None or not facts.driver.visible_devices:
        return gpus
    return tuple(g for g in gpus if g.index in mapped)


def described(name: str, count: int, matrix, packages: dict[str, str], *, memory_gib: float | None = None,
              system_memory_bytes: int | None = None) -> Target:
    """`--gpu NAME --gpus N`: the GPU model from ftdoctor's matrix, this environment's packages."""
    if count < 1:
        raise UsageError("--gpus must be at least 1", hint="use --cpu to judge a machine without a GPU")
    model = matrix.gpus.lookup(name)
    if model is None:
        known = ", ".join(sorted({g.name for g in matrix.gpus.gpus})[:12])
        raise UsageError(f"unknown GPU {name!r}", where="--gpu", hint=f"known names include {known}, ...")
    gib, note = _memory(name, model.memory_gib, memory_gib)
    gpu = TargetGpu(model.name, model.compute_capability, int(gib * GIB))
    notes = (f"described machine: {count} × {model.name}; libraries judged from this environment's packages",) + note
    return Target(source="described", gpus=(gpu,) * count, packages=packages, torch_cuda=None,
                  torch_build_known=False, system_memory_bytes=system_memory_bytes, notes=notes)


def first_gpus(target: Target, count: int, matrix, what: str) -> Target:
    """`--gpus N` without `--gpu`: the first N of a real machine's GPUs, as `CUDA_VISIBLE_DEVICES` would pick them.
    More GPUs than the machine has is refused: ftdoctor does not invent hardware for a real machine's facts."""
    if count < 1:
        raise UsageError("--gpus must be at least 1", where="--gpus", hint="use --cpu to judge a machine without a GPU")
    if count > target.gpu_count:
        have = "no GPU" if target.cpu_only else f"{target.gpu_count} GPU{'s' if target.gpu_count > 1 else ''} " \
            f"({target.gpus[0].name})"
        raise UsageError(f"--gpus {count}, but {what} has {have}", where="--gpus",
                         hint=f"to judge {count} GPUs of a model, describe them: {_describe_option(target, matrix)} "
                              f"--gpus {count}")
    if count == target.gpu_count:
        return target
    note = f"judged on the first {count} of its {target.gpu_count} GPUs (--gpus {count})"
    return replace(target, gpus=target.gpus[:count], notes=target.notes + (note,))


def _describe_option(target: Target, matrix) -> str:
    model = matrix.gpus.lookup(target.gpus[0].name) if target.gpus else None
    if model is None:
        return '--gpu NAME'
    memory = target.gpus[0].memory_bytes
    if len(model.memory_gib) > 1 and memory:
        nearest = min(model.memory_gib, key=lambda size: abs(size * GIB - memory))
        return f'--gpu "{model.name} {nearest}GB"'
    return f'--gpu "{model.name}"'


def cpu_only(packages: dict[str, str], system_memory_bytes: int | None) -> Target:
    return Target(source="described", gpus=(), packages=packages, system_memory_bytes=system_memory_bytes,
                  notes=("described machine: no GPU; libraries judged from this environment's packages",))


def _memory(name: str, sizes: tuple[int, ...], override: float | None) -> tuple[float, tuple[str, ...]]:
    if override:
        return override, ()
    numbers = [int(n) for n in re.findall(r"(\d+)\s*G", name, re.IGNORECASE)]
    for number in numbers:
        if number in sizes:
            return number, ()
    if len(sizes) == 1:
        return sizes[0], ()
    smallest = min(sizes)
    return smallest, (f"{name} comes with {' or '.join(str(s) for s in sizes)} GiB; judged with {smallest} GiB "
                      f"(say `--gpu '{name} {max(sizes)}GB'` or --gpu-memory for another)",)
