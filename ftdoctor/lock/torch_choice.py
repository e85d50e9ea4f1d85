"""torch candidates for a target: every (release, patch version, CUDA variant) in the matrix, each either
usable (with what makes it more or less attractive) or ruled out with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ftdoctor.errors import UsageError
from ftdoctor.lock.proposal import Pin, TorchBuild
from ftdoctor.lock.target import Target
from ftdoctor.matrix.compat import driver_runs_cuda, variant_runs_on

PYTORCH_INDEX = "https://download.pytorch.org/whl/{suffix}"


@dataclass(frozen=True)
class TorchCandidate:
    release: object  # TorchRelease
    version: str  # "2.8.0"
    variant: object  # TorchVariant
    default_wheel: bool  # the index's default wheel (no extra index needed)
    driver_fit: str  # "full" | "mvc" | "cpu"
    newest_series: bool

    @property
    def label(self) -> str:
        return f"torch {self.version} ({self.variant.suffix})"

    @property
    def confirmed(self) -> bool:
        return self.release.confidence == "confirmed" and self.variant.confidence == "confirmed"

    def pin(self) -> Pin:
        local = "" if self.default_wheel else f"+{self.variant.suffix}"
        index = None if self.default_wheel else PYTORCH_INDEX.format(suffix=self.variant.suffix)
        return Pin("torch", self.version + local, variant=self.variant.suffix, index=index)

    def build(self) -> TorchBuild:
        cuda = None if self.variant.cuda == "cpu" else self.variant.cuda
        abi = self.variant.cxx11_abi if self.variant.cxx11_abi is not None else self.release.cxx11_abi
        archs = tuple(f"sm_{a.replace('.', '')}" for a in self.variant.archs)
        ptx = tuple(f"compute_{a.replace('.', '')}" for a in self.variant.ptx)
        return TorchBuild(cuda=cuda, cxx11_abi=abi, arch_list=archs + ptx)


@dataclass(frozen=True)
class RuledOut:
    what: str
    why: str
    constraint: str  # "python" | "driver" | "gpu" | "glibc" | "pin" | "rules" | "extra:<name>" | ...
    need: str = ""  # what would make it fit ("driver >= 580.65.06", "Python 3.11")


def parse_pin(text: str | None) -> SpecifierSet | None:
    """`2.8` -> ==2.8.*, `2.8.0` -> ==2.8.0, anything else is a specifier set (`>=2.6,<2.9`)."""
    if not text:
        return None
    spelled = text.strip()
    if spelled[0].isdigit():
        spelled = f"=={spelled}.*" if spelled.count(".") == 1 else f"=={spelled}"
    try:
        return SpecifierSet(spelled)
    except InvalidSpecifier:
        raise UsageError(f"{text!r} is not a torch version or range", where="--torch", hint="e.g. --torch 2.8 or --torch '>=2.6,<2.9'") from None


def candidates(matrix, target: Target, pin: SpecifierSet | None) -> tuple[list[TorchCandidate], list[RuledOut]]:
    releases = sorted(matrix.torch.releases, key=lambda r: Version(r.series))
    newest = releases[-1].series
    usable: list[TorchCandidate] = []
    ruled: list[RuledOut] = []
    for release in releases:
        for version in release.versions:
            if pin is not None and not pin.contains(version):
                continue  # the user excluded it: not worth a line in --explain
            why = _release_unfit(release, version, target)
            if why:
                ruled.append(why)
                continue
            for variant in release.variants:
                outcome = _variant(matrix, target, release, version, variant, newest)
                (usable if isinstance(outcome, TorchCandidate) else ruled).append(outcome)
    return usable, ruled


def _release_unfit(release, version: str, target: Target) -> RuledOut | None:
    what = f"torch {version}"
    if target.python not in release.python_wheels:
        return RuledOut(what, f"no wheels for Python {target.python} (it has {', '.join(release.python_wheels)})",
                        "python", f"Python {release.python_wheels[-1]}")
    if target.glibc and Version(target.glibc) < Version(release.glibc_min):
        return RuledOut(what, f"needs glibc {release.glibc_min} (the target has {target.glibc})", "glibc", f"glibc {release.glibc_min}")
    return None


def _variant(matrix, target: Target, release, version: str, variant, newest: str) -> TorchCandidate | RuledOut:
    what = f"torch {version} ({variant.suffix})"
    default = variant.cuda == release.default_cuda
    if target.cpu:
        if variant.cuda != "cpu":
            return RuledOut(what, "a CUDA build on a CPU-only target (the cpu variant is smaller)", "variant")
        return TorchCandidate(release, version, variant, False, "cpu", release.series == newest)
    if variant.cuda == "cpu":
        return RuledOut(what, "the CPU-only build on a GPU machine", "variant")
    fit = driver_runs_cuda(matrix.cuda, target.driver, variant.cuda)
    if fit is None:
        need = matrix.cuda.major(variant.cuda)
        return RuledOut(what, f"driver {target.driver} cannot run CUDA {variant.cuda}", "driver",
                        f"driver >= {need.min_driver_linux}" if need else "a newer driver")
    for cc in target.ccs:
        how = variant_runs_on(variant, cc)
        if how is None:
            return RuledOut(what, f"no code for sm_{cc.replace('.', '')} (it carries {', '.join('sm_' + a.replace('.', '') for a in variant.archs)})", "gpu")
        if how == "ptx" and fit != "full":
            return RuledOut(what, f"sm_{cc.replace('.', '')} runs only through PTX, which needs driver >= "
                            f"{matrix.cuda.full_feature_driver(variant.cuda)} to JIT-compile", "driver",
                            f"driver >= {matrix.cuda.full_feature_driver(variant.cuda)}")
    return TorchCandidate(release, version, variant, default, fit, release.series == newest)
