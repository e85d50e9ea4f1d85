"""Which torch build can this machine run, and the one command that installs it.

Shared by every rule whose fix is "install another torch build": the driver, architecture, torch-build and
package families. The judgement is the matrix's: a build fits when the driver's CUDA major covers the build's
(minor-version compatibility never crosses majors), every GPU has a kernel image in it (a cubin of the same
major and an equal or lower minor, or PTX the driver is new enough to JIT-compile), and the interpreter and C
library meet the release's floors.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ftdoctor.findings import Fix
from ftdoctor.matrix.compat import driver_runs_cuda, kernel_for
from ftdoctor.matrix.model import TorchRelease, TorchVariant, cc_tuple
from ftdoctor.rules.facts_view import (
    CC, cc_text, parse_version, physical_gpus, python_version, torch_build, windows_driver,
)

# PyTorch's own wheel index: one folder per build variant (cu126, cu130, cpu, ...).
TORCH_INDEX = "https://download.pytorch.org/whl"
COMPANIONS = ("torchvision", "torchaudio")  # built against one torch each: reinstall them from the same index


@dataclass(frozen=True)
class MachineNeeds:
    """What a torch build must fit on this machine. None: unknown, so not a constraint."""

    gpu: bool
    ccs: tuple[CC, ...] = ()
    driver: Version | None = None
    driver_cuda: Version | None = None  # the newest CUDA the driver supports
    windows: bool = False
    python: Version | None = None
    glibc: Version | None = None
    integrated: frozenset[CC] = frozenset()
    driver_label: str = ""  # the driver as NVIDIA prints it ("535.104.05"), for messages

    @property
    def driver_text(self) -> str:
        if self.driver is not None:
            return self.driver_label or str(self.driver)
        return f"(CUDA {self.driver_cuda})" if self.driver_cuda is not None else "?"


def machine_needs(facts, matrix) -> MachineNeeds:
    """Every GPU of the machine counts, not only those CUDA_VISIBLE_DEVICES lets this shell see: the build is
    installed for the machine. A GPU on the PCI bus without a driver still asks for a CUDA build."""
    gpus = physical_gpus(facts, matrix)
    d = facts.driver
    return MachineNeeds(
        gpu=bool(gpus or d.pci_devices),
        ccs=tuple(sorted({g.cc for g in gpus if g.cc})),
        driver=parse_version(d.driver_version.value),
        driver_cuda=parse_version(d.cuda_driver_version.value),
        windows=windows_driver(facts),
        python=python_version(facts),
        glibc=parse_version(facts.system.glibc_version),
        integrated=integrated_ccs(matrix),
        driver_label=d.driver_version.value or "",
    )


def integrated_ccs(matrix) -> frozenset[CC]:
    return frozenset(cc_tuple(cc) for cc in matrix.platform.cubin.integrated_ccs)


def driver_floor(matrix, cuda: str, windows: bool) -> str | None:
    """The oldest driver that runs anything built with this CUDA major (minor-version compatibility), as the
    matrix writes it ("580.65.06": drivers are compared as versions but shown as NVIDIA prints them)."""
    major = matrix.cuda.major(cuda)
    if major is None:
        return None
    return major.min_driver_windows if windows else major.min_driver_linux


def driver_runs(matrix, needs: MachineNeeds, cuda: str) -> bool | None:
    """Can the driver run a build with this CUDA at all? None: cannot tell."""
    floor = driver_floor(matrix, cuda, needs.windows)
    if needs.driver is not None and floor is not None:
        if needs.windows:
            return needs.driver >= Version(floor)
        return driver_runs_cuda(matrix.cuda, str(needs.driver), cuda) is not None
    if needs.driver_cuda is not None:
        return Version(cuda).major <= needs.driver_cuda.major
    return None


def driver_full(matrix, needs: MachineNeeds, cuda: str) -> bool | None:
    """Does the driver support this CUDA release itself (not only through minor-version compatibility)?
    That is what PTX JIT compilation needs: PTX from a newer toolkit than the driver cannot be compiled."""
    wanted = Version(cuda).release[:2]
    if needs.driver_cuda is not None:
        return needs.driver_cuda.release[:2] >= wanted
    full = matrix.cuda.full_feature_driver(cuda)
    if needs.driver is not None and full is not None and not needs.windows:
        return needs.driver >= Version(full)
    return None


@dataclass(frozen=True)
class Unfit:
    """Why a torch release or build cannot serve a machine, and what would make it fit."""

    why: str
    constraint: str  # "python" | "glibc" | "variant" | "driver" | "gpu"
    need: str = ""  # "driver >= 580.65.06", "Python 3.11"


def release_unfit(release: TorchRelease, needs: MachineNeeds) -> Unfit | None:
    """The release's own floors: wheels for the interpreter, the C library."""
    if needs.python is not None:
        series = f"{needs.python.major}.{needs.python.minor}"
        if series not in release.python_wheels:
            return Unfit(f"no wheels for Python {series} (it has {', '.join(release.python_wheels)})", "python",
                         f"Python {release.python_wheels[-1]}")
    if needs.glibc is not None and needs.glibc < Version(release.glibc_min):
        return Unfit(f"needs glibc {release.glibc_min} (the target has {needs.glibc})", "glibc", f"glibc {release.glibc_min}")
    return None


def variant_unfit(matrix, needs: MachineNeeds, variant: TorchVariant) -> Unfit | None:
    """The build's fit: CPU or CUDA as the machine needs, a driver that runs its CUDA, a kernel for every GPU (a
    cubin, or PTX that a driver supporting the build's CUDA itself can JIT-compile). Unknown facts never rule out."""
    if not needs.gpu:
        return None if variant.cuda == "cpu" else Unfit("a CUDA build on a CPU-only target (the cpu variant is smaller)", "variant")
    if variant.cuda == "cpu":
        return Unfit("the CPU-only build on a GPU machine", "variant")
    if driver_runs(matrix, needs, variant.cuda) is False:
        floor = driver_floor(matrix, variant.cuda, needs.windows)
        return Unfit(f"driver {needs.driver_text} cannot run CUDA {variant.cuda}", "driver",
                     f"driver >= {floor}" if floor else "a newer driver")
    sass, ptx = tuple(map(cc_tuple, variant.archs)), tuple(map(cc_tuple, variant.ptx))
    for cc in needs.ccs:
        kind = kernel_for(cc, sass, ptx, needs.integrated)
        if kind is None:
            carried = ", ".join(f"sm_{a.replace('.', '')}" for a in variant.archs)
            return Unfit(f"no code for {cc_text(cc)} (it carries {carried})", "gpu")
        if kind == "ptx" and driver_full(matrix, needs, variant.cuda) is False:
            full = matrix.cuda.full_feature_driver(variant.cuda)
            return Unfit(f"{cc_text(cc)} runs only through PTX, which needs driver >= {full} to JIT-compile", "driver",
                         f"driver >= {full}")
    return None


@dataclass(frozen=True)
class Choice:
    version: str  # "2.11.0"
    variant: TorchVariant
    release: TorchRelease

    @property
    def requirement(self) -> str:
        return f"torch=={self.version}+{self.variant.suffix}"

    @property
    def index_url(self) -> str:
        return f"{TORCH_INDEX}/{self.variant.suffix}"

    @property
    def label(self) -> str:
        return f"torch {self.version}+{self.variant.suffix}"


def choose(matrix, needs: MachineNeeds, *, torch_spec: str | None = None, near: str | None = None,
           cuda: str | None = None) -> Choice | None:
    """The build to install. With `near` (the installed version): its own release when a variant of it fits (the
    smallest change), else the closest release, newer ones first; without: the newest. Within a release: the
    driver's CUDA major, a CUDA the driver supports itself, a confirmed matrix row, the highest CUDA. `cuda`
    ("12.4") keeps only builds of that CUDA major.minor (to match a toolkit)."""
    fitting = [c for c in _candidates(matrix, torch_spec, cuda) if _fits(matrix, needs, c)]
    if not fitting:
        return None
    anchor = _series(near) if near else None
    return max(fitting, key=lambda c: _rank(matrix, needs, c, anchor))


def _series(version: str) -> Version | None:
    """"2.7.1+cu126" -> 2.7; None for a version string that is no version (a source build's "2.8.0a0+git…" parses,
    "unknown" does not): then no release is preferred for being near it."""
    try:
        release = Version(version).release
    except InvalidVersion:
        return None
    return Version(f"{release[0]}.{release[1] if len(release) > 1 else 0}")


def _candidates(matrix, torch_spec: str | None, cuda: str | None = None):
    spec = SpecifierSet(torch_spec or "")
    wanted = Version(cuda).release[:2] if cuda else None
    for release in matrix.torch.releases:
        versions = [v for v in release.versions if spec.contains(v, prereleases=True)]
        if versions:
            newest = max(versions, key=Version)
            variants = [v for v in release.variants if wanted is None or (v.cuda != "cpu" and Version(v.cuda).release[:2] == wanted)]
            yield from (Choice(newest, variant, release) for variant in variants)


def _fits(matrix, needs: MachineNeeds, choice: Choice) -> bool:
    return release_unfit(choice.release, needs) is None and variant_unfit(matrix, needs, choice.variant) is None


def _rank(matrix, needs: MachineNeeds, choice: Choice, anchor: Version | None) -> tuple:
    cuda = choice.variant.cuda
    series = Version(choice.release.series)
    if anchor is None:
        closeness: tuple = (series,)
    else:
        distance = abs(series.release[1] - anchor.release[1]) + 100 * abs(series.release[0] - anchor.release[0])
        closeness = (series == anchor, series >= anchor, -distance)
    # Within a release: the driver's own CUDA major first (not an old 11.8 build on a 12.x driver), then a CUDA the
    # driver supports itself over one it runs through minor-version compatibility, then the highest.
    same_major = cuda != "cpu" and needs.driver_cuda is not None and Version(cuda).major == needs.driver_cuda.major
    return (
        *closeness,
        Version(choice.version),
        same_major,
        cuda != "cpu" and driver_full(matrix, needs, cuda) is True,
        choice.variant.confidence == "confirmed",
        Version(cuda) if cuda != "cpu" else Version("0"),
    )


def machine_choice(ctx, *, torch_spec: str | None = None) -> Choice | None:
    """The build `choose` picks for this machine, nearest the installed release."""
    build = torch_build(ctx.facts, ctx.matrix)
    return choose(ctx.matrix, machine_needs(ctx.facts, ctx.matrix), torch_spec=torch_spec,
                  near=build.version if build else None)


def torch_install_fix(ctx, summary: str, *, torch_spec: str | None = None) -> Fix | None:
    """The one answer the rules (and `explain`) give to "install another torch": `machine_choice`, written by
    `install_fix`. None when no build in the matrix fits."""
    choice = machine_choice(ctx, torch_spec=torch_spec)
    return install_fix(ctx, choice, summary) if choice else None


def install_fix(ctx, choice: Choice, summary: str) -> Fix:
    """`<python> -m pip install torch==X+cuYYY [torchvision ...] --index-url <PyTorch's index for cuYYY>`."""
    companions = [name for name in COMPANIONS if ctx.facts.distribution(name)]
    command = install_command(ctx, choice, companions)
    note = f" ({', '.join(companions)} reinstalled from the same index to match)" if companions else ""
    return Fix(f"{summary}: {choice.label}{note}", (command,), "https://pytorch.org/get-started/locally/")


def install_command(ctx, choice: Choice, companions=(), *, reinstall: bool = False) -> str:
    """`<python> -m pip install [--force-reinstall] torch==X+cuYYY [companions] --index-url <PyTorch's cuYYY>`."""
    force = ("--force-reinstall",) if reinstall else ()
    return ctx.pip("install", *force, choice.requirement, *companions, "--index-url", choice.index_url)
