"""Find the set of pins to lock: walk the torch candidates in the order the policy prefers, complete each with
the HF stack and the requested extras, and judge the resulting environment with the same rules `check` runs.
The first proposal that adds no error to the target wins; everything passed over is kept, with the reason,
for --explain and for saying what would make an impossible target possible."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftdoctor.findings import Finding, Severity
from ftdoctor.lock import extras as extra_choice
from ftdoctor.lock import stack
from ftdoctor.lock.proposal import Pin, Proposal, facts_for, markers
from ftdoctor.lock.target import Target
from ftdoctor.lock.torch_choice import RuledOut, TorchCandidate, candidates

POLICIES = ("proven", "newest", "installed")


@dataclass(frozen=True)
class Request:
    target: Target
    extras: tuple[str, ...] = ()
    torch: SpecifierSet | None = None
    policy: str = "proven"


@dataclass(frozen=True)
class LockResult:
    request: Request
    proposal: Proposal | None
    torch: TorchCandidate | None
    ruled_out: tuple[RuledOut, ...]
    findings: tuple[Finding, ...] = ()  # the chosen proposal judged by the rules
    target_problems: tuple[Finding, ...] = ()  # errors of the target itself, whatever gets installed
    suggestions: tuple[str, ...] = field(default=())
    passed_over: tuple[str, ...] = ()  # newer fitting torch builds the policy ranked lower, with why

    @property
    def ok(self) -> bool:
        return self.proposal is not None


def lock(matrix, request: Request, *, suggest: bool = True) -> LockResult:
    judge = Judge(matrix, request.target)
    usable, ruled = candidates(matrix, request.target, request.torch)
    ruled_out = list(ruled)
    ordered = sorted(usable, key=_key(request, matrix), reverse=True)
    for i, cand in enumerate(ordered):
        outcome = _complete(matrix, request, cand)
        if isinstance(outcome, RuledOut):
            ruled_out.append(outcome)
            continue
        errors, findings = judge.new_errors(outcome)
        if errors:
            ruled_out.append(RuledOut(cand.label, "; ".join(f"{f.code} {f.message}" for f in errors[:2]), "rules"))
            continue
        passed = _passed_over(matrix, request, cand, ordered[i + 1:])
        return LockResult(request, _annotate(outcome, cand, request), cand, tuple(ruled_out), tuple(findings),
                          judge.baseline_errors, passed_over=passed)
    hints = tuple(_suggestions(matrix, request, ruled_out)) if suggest else ()
    return LockResult(request, None, None, tuple(ruled_out), (), judge.baseline_errors, hints)


class Judge:
    """The rule engine run on proposals, counting only the errors a proposal adds to the bare target."""

    def __init__(self, matrix, target: Target) -> None:
        from ftdoctor.rules import all_rules

        self.matrix, self.target, self.rules = matrix, target, all_rules()
        baseline = self._judge(Proposal(()))
        self.baseline_errors = tuple(f for f in baseline if f.severity == Severity.ERROR)
        self._baseline_codes = {f.code for f in self.baseline_errors}

    def _judge(self, proposal: Proposal) -> list[Finding]:
        from ftdoctor.rules.base import Context
        from ftdoctor.rules.engine import judge

        return judge(self.rules, Context(facts=facts_for(self.target, proposal), matrix=self.matrix))

    def new_errors(self, proposal: Proposal) -> tuple[list[Finding], list[Finding]]:
        findings = self._judge(proposal)
        errors = [f for f in findings if f.severity == Severity.ERROR and f.code not in self._baseline_codes]
        return errors, findings


def _key(request: Request, matrix):
    def proven(c: TorchCandidate):
        return (c.confirmed, _extras_prebuilt(matrix, request, c), c.default_wheel, not c.newest_series,
                Version(c.version), c.driver_fit in ("full", "cpu"), _cuda(c))

    def newest(c: TorchCandidate):
        return (Version(c.version), c.default_wheel, c.driver_fit in ("full", "cpu"), _cuda(c))

    def installed(c: TorchCandidate):
        have = _installed_torch(request.target)
        same = have is not None and Version(c.version) == Version(have.public) and _variant_matches(c, have)
        series = have is not None and Version(c.version).release[:2] == have.release[:2]
        return (same, series, *proven(c))

    return {"proven": proven, "newest": newest, "installed": installed}[request.policy]


def _cuda(c: TorchCandidate) -> Version:
    return Version(c.variant.cuda) if c.variant.cuda != "cpu" else Version("0")


def _installed_torch(target: Target) -> Version | None:
    dist = next((d for d in target.installed if d.name == "torch"), None)
    return Version(dist.version) if dist else None


def _variant_matches(c: TorchCandidate, have: Version) -> bool:
    label = have.local or ""
    return label == c.variant.suffix if label else c.default_wheel


def _extras_prebuilt(matrix, request: Request, c: TorchCandidate) -> bool:
    if "flash-attn" not in request.extras:
        return True
    build = c.build()
    return build.cuda is not None and any(
        r.confidence == "confirmed" and r.build_for(c.version, build.cuda, build.cxx11_abi, request.target.python, request.target.platform)
        for r in matrix.flash_attn.releases
    )


def _complete(matrix, request: Request, cand: TorchCandidate) -> Proposal | RuledOut:
    target = request.target
    early = _extras_precheck(matrix, request, cand)
    if early is not None:
        return early
    pins = _kept_stack(target) if request.policy == "installed" else None
    if pins is None:
        pins = stack.choose(matrix, target.python, cand.version, markers(target), set(request.extras), _stack_policy(request))
    if pins is None:
        return RuledOut(cand.label, f"no transformers/trl/peft/accelerate/datasets set fits torch {cand.version} on Python {target.python}", "stack")
    chosen = [cand.pin(), *pins]
    for name in extra_choice.EXTRAS:
        if name not in request.extras:
            continue
        pin = _installed_extra(matrix, request, cand, pins, name)
        if pin is None:
            pin = extra_choice.choose(name, matrix, target, cand, pins, _stack_policy(request))
        if isinstance(pin, RuledOut):
            return RuledOut(cand.label, f"{name}: {pin.why}", pin.constraint, pin.need)
        chosen.append(pin)
    return Proposal(tuple(chosen), cand.build())


def _installed_extra(matrix, request: Request, cand: TorchCandidate, pins: list[Pin], name: str) -> Pin | None:
    """With policy `installed`, the installed version of an extra, when it still fits this torch."""
    if request.policy != "installed":
        return None
    dist = next((d for d in request.target.installed if d.name == name), None)
    if dist is None:
        return None
    only = SpecifierSet(f"=={Version(dist.version).public}")
    pin = extra_choice.choose(name, matrix, request.target, cand, pins, "newest", only)
    return None if isinstance(pin, RuledOut) else pin


def _extras_precheck(matrix, request: Request, cand: TorchCandidate) -> RuledOut | None:
    """An extra that fits no release for this torch at all rules the candidate out before the HF stack is searched."""
    for name in request.extras:
        pin = extra_choice.choose(name, matrix, request.target, cand, [], _stack_policy(request))
        if isinstance(pin, RuledOut):
            return RuledOut(cand.label, f"{name}: {pin.why}", pin.constraint, pin.need)
    return None


def _stack_policy(request: Request) -> str:
    return "newest" if request.policy == "newest" else "proven"


def _kept_stack(target: Target) -> list[Pin] | None:
    """For `fix`: the HF packages as installed, with their real Requires-Dist; None when none is installed."""
    kept = [Pin(d.name, d.version, requires=d.requires, reasons=("kept as installed",))
            for d in target.installed if d.name in stack.ORDER]
    return kept or None


def _annotate(proposal: Proposal, cand: TorchCandidate, request: Request) -> Proposal:
    why = _torch_reasons(cand, request)
    pins = tuple(p.with_reason(*why) if p.name == "torch" else p for p in proposal.pins)
    return replace(proposal, pins=pins)


def _torch_reasons(c: TorchCandidate, request: Request) -> tuple[str, ...]:
    target = request.target
    reasons = []
    if request.policy == "proven":
        reasons.append("policy `proven`: confirmed matrix rows, prebuilt wheels for the extras, the default index wheel "
                       "and a release outside the newest series are preferred, then the newest version")
    elif request.policy == "newest":
        reasons.append("policy `newest`: the newest torch release that fits")
    else:
        reasons.append("policy `installed`: keep the installed torch when it passes, else the nearest that does")
    if target.cpu:
        reasons.append(f"the CPU-only build ({c.variant.suffix}) from PyTorch's index: no CUDA libraries to download")
    else:
        where = "the default wheel on the package index" if c.default_wheel else f"PyTorch's {c.variant.suffix} index"
        fit = "runs every CUDA feature" if c.driver_fit == "full" else "runs it through minor-version compatibility"
        reasons.append(f"CUDA {c.variant.cuda} ({where}): driver {target.driver} {fit}")
        archs = ", ".join(f"sm_{a.replace('.', '')}" for a in c.variant.archs)
        reasons.append(f"compiled for {archs}" + (f" + PTX {', '.join(c.variant.ptx)}" if c.variant.ptx else "")
                       + f": covers {', '.join('sm_' + cc.replace('.', '') for cc in target.ccs)}")
    return tuple(reasons)


def _passed_over(matrix, request: Request, chosen: TorchCandidate, rest: list[TorchCandidate]) -> tuple[str, ...]:
    newer = [c for c in rest if Version(c.version) > Version(chosen.version)]
    lines = []
    for c in sorted(newer, key=lambda c: (Version(c.version), _cuda(c)), reverse=True)[:6]:
        why = []
        if not c.confirmed and chosen.confirmed:
            why.append("its matrix rows are unconfirmed")
        if not _extras_prebuilt(matrix, request, c) and _extras_prebuilt(matrix, request, chosen):
            why.append("no prebuilt flash-attn wheel (a source build)")
        if not c.default_wheel and chosen.default_wheel:
            why.append(f"needs PyTorch's {c.variant.suffix} index")
        if c.newest_series and not chosen.newest_series:
            why.append("the newest series")
        lines.append(f"{c.label}: " + (", ".join(why) or "ranked lower by the policy"))
    return tuple(lines)


def _suggestions(matrix, request: Request, ruled_out: list[RuledOut]) -> list[str]:
    from ftdoctor.lock.advice import suggestions

    return suggestions(matrix, request, ruled_out)
