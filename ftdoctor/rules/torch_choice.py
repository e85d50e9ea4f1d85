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
from packaging.version import Version

from ftdoctor.findings import Fix
from ftdoctor.matrix.model import TorchRelease, TorchVariant, cc_tuple
from ftdoctor.rules.facts_view import CC, parse_version, physical_gpus, python_version, windows_driver

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
        integrated=frozenset(cc_tuple(cc) for cc in matrix.platform.cubin.integrated_ccs),
    )


def kernel_for(cc: CC, sass: tuple[CC, ...], ptx: tuple[CC, ...], integrated: frozenset[CC] = frozenset()) -> str | None:
    """'sass' when a cubin runs on `cc`, 'ptx' when only JIT compilation of embedded PTX can, else None."""
    for code in sass:
        if code == cc or (code[0] == cc[0] and code[1] < cc[1] and cc not in integrated and code not in integrated):
            return "sass"
    if any(code <= cc for code in ptx):
        return "ptx"
    return None


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
        return needs.driver >= Version(floor)
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
class Choice:
    version: str  # "2.11.0"
    variant: TorchVariant
    release: TorchRelease

    @property
    def pin(self) -> str:
        return f"torch=={self.version}+{self.variant.suffix}"

    @property
    def index_url(self) -> str:
        return f"{TORCH_INDEX}/{self.variant.suffix}"

    @property
    def label(self) -> str:
        return f"torch {self.version}+{self.variant.suffix}"


def choose(matrix, needs: MachineNeeds, *, torch_spec: str | None = None, near: str | None = None) -> Choice | None:
    """The build to install. With `near` (the installed version): its own release when a variant of it fits (the
    smallest change), else the closest release, newer ones first; without: the newest. Within a release: the
    driver's CUDA major, a CUDA the driver supports itself, a confirmed matrix row, the highest CUDA."""
    fitting = [c for c in _candidates(matrix, torch_spec) if _fits(matrix, needs, c)]
    if not fitting:
        return None
    anchor = _series(near) if near else None
    return max(fitting, key=lambda c: _rank(matrix, needs, c, anchor))


def _series(version: str) -> Version:
    release = Version(version).release
    return Version(f"{release[0]}.{release[1] if len(release) > 1 else 0}")


def _candidates(matrix, torch_spec: str | None):
    spec = SpecifierSet(torch_spec or "")
    for release in matrix.torch.releases:
        versions = [v for v in release.versions if spec.contains(v, prereleases=True)]
        if versions:
            newest = max(versions, key=Version)
            yield from (Choice(newest, variant, release) for variant in release.variants)


def _fits(matrix, needs: MachineNeeds, choice: Choice) -> bool:
    release, variant = choice.release, choice.variant
    if needs.python is not None and f"{needs.python.major}.{needs.python.minor}" not in release.python_wheels:
        return False
    if needs.glibc is not None and needs.glibc < Version(release.glibc_min):
        return False
    if not needs.gpu:
        return variant.cuda == "cpu"
    if variant.cuda == "cpu" or driver_runs(matrix, needs, variant.cuda) is False:
        return False
    return all(_runs_on(matrix, needs, variant, cc) for cc in needs.ccs)


def _runs_on(matrix, needs: MachineNeeds, variant: TorchVariant, cc: CC) -> bool:
    sass, ptx = tuple(map(cc_tuple, variant.archs)), tuple(map(cc_tuple, variant.ptx))
    kind = kernel_for(cc, sass, ptx, needs.integrated)
    return kind == "sass" or (kind == "ptx" and driver_full(matrix, needs, variant.cuda) is not False)


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


def install_fix(ctx, choice: Choice, summary: str) -> Fix:
    """`<python> -m pip install torch==X+cuYYY [torchvision ...] --index-url <PyTorch's index for cuYYY>`."""
    companions = [name for name in COMPANIONS if ctx.facts.distribution(name)]
    command = ctx.pip("install", choice.pin, *companions, "--index-url", choice.index_url)
    note = f" ({', '.join(companions)} reinstalled from the same index to match)" if companions else ""
    return Fix(f"{summary}: {choice.label}{note}", (command,), "https://pytorch.org/get-started/locally/")
