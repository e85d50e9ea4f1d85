"""torch candidates for a target: every (release, patch version, CUDA variant) in the matrix, each either
usable (with what makes it more or less attractive) or ruled out with the reason. Whether a build fits is the
rules' judgement (`ftdoctor.rules.torch_choice`); the lock adds its ranking attributes and the reasons."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ftdoctor.errors import UsageError
from ftdoctor.lock.proposal import Pin, TorchBuild
from ftdoctor.lock.target import Target
from ftdoctor.matrix.compat import driver_runs_cuda
from ftdoctor.matrix.model import cc_tuple
from ftdoctor.rules.torch_choice import Choice, MachineNeeds, integrated_ccs, release_unfit, variant_unfit

@dataclass(frozen=True)
class TorchCandidate(Choice):
    """A build the rules find fit for the target (`Choice`), with what the lock's policies rank it by."""

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
        index = None if self.default_wheel else self.index_url
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
    """Every build in the matrix, judged for the target by the same fit the rules use (`rules.torch_choice`)."""
    releases = sorted(matrix.torch.releases, key=lambda r: Version(r.series))
    newest = releases[-1].series
    needs = target_needs(target, matrix)
    usable: list[TorchCandidate] = []
    ruled: list[RuledOut] = []
    for release in releases:
        for version in release.versions:
            if pin is not None and not pin.contains(version):
                continue  # the user excluded it: not worth a line in --explain
            unfit = release_unfit(release, needs)
            if unfit:
                ruled.append(RuledOut(f"torch {version}", unfit.why, unfit.constraint, unfit.need))
                continue
            for variant in release.variants:
                outcome = _variant(matrix, target, needs, release, version, variant, newest)
                (usable if isinstance(outcome, TorchCandidate) else ruled).append(outcome)
    return usable, ruled


def target_needs(target: Target, matrix) -> MachineNeeds:
    """What a torch build must fit on a lock's target (facts it does not know are no constraint)."""
    return MachineNeeds(
        gpu=not target.cpu,
        ccs=tuple(cc_tuple(cc) for cc in target.ccs),
        driver=Version(target.driver) if target.driver else None,
        python=Version(target.python),
        glibc=Version(target.glibc) if target.glibc else None,
        integrated=integrated_ccs(matrix),
        driver_label=target.driver or "",
    )


def _variant(matrix, target: Target, needs: MachineNeeds, release, version: str, variant, newest: str):
    unfit = variant_unfit(matrix, needs, variant)
    if unfit:
        return RuledOut(f"torch {version} ({variant.suffix})", unfit.why, unfit.constraint, unfit.need)
    if target.cpu:
        return TorchCandidate(version, variant, release, False, "cpu", release.series == newest)
    fit = driver_runs_cuda(matrix.cuda, target.driver, variant.cuda)
    return TorchCandidate(version, variant, release, variant.cuda == release.default_cuda, fit, release.series == newest)
