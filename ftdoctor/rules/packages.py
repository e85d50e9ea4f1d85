"""PKG6xx: do the installed Python packages fit each other, torch and the interpreter? `pip check`'s view
(the installed requirements) plus the bounds pip cannot see: transformers' torch floor enforced at import
time, its Trainer's accelerate floor, the pickle-checkpoint guard, Requires-Python."""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from ftdoctor.facts.model import RequirementViolation, Status, normalize_name
from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.hf_stack import StackBound
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import installed, python_version, release_of, torch_build
from ftdoctor.rules.torch_choice import torch_install_fix

# The fine-tuning stack: a broken requirement among these is an error, elsewhere a warning.
STACK = frozenset({
    "torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "safetensors",
    "huggingface-hub", "bitsandbytes", "deepspeed", "flash-attn", "triton", "xformers", "liger-kernel",
})


def _python_unknown(ctx: Context) -> Unknown | None:
    p = ctx.facts.python
    return None if p.status == Status.OK else Unknown(f"the installed packages are unknown: {p.reason}")


def _target(violation: RequirementViolation) -> Requirement | None:
    try:
        return Requirement(violation.requirement)
    except InvalidRequirement:
        return None


def _in_stack(violation: RequirementViolation) -> bool:
    req = _target(violation)
    return violation.package in STACK or (req is not None and normalize_name(req.name) in STACK)


def _describe(v: RequirementViolation) -> str:
    req = _target(v)
    wanted = str(req.specifier) if req and req.specifier else "any version"
    have = f"{v.installed} is installed" if v.installed else "it is not installed"
    name = req.name if req else v.requirement
    return f"{v.package} needs {name} {wanted} but {have}"


def _violation_fixes(ctx: Context, violations: list[RequirementViolation]) -> tuple[Fix, ...]:
    reqs = [r for v in violations if (r := _target(v))]
    torch_reqs = [r for r in reqs if normalize_name(r.name) == "torch"]
    others = sorted({f"{r.name}{r.specifier}" for r in reqs if r not in torch_reqs})
    fixes = []
    if others:
        fixes.append(Fix("Install versions that satisfy these requirements", (ctx.pip("install", *others),)))
    if torch_reqs:
        spec = ",".join(str(r.specifier) for r in torch_reqs if r.specifier)
        if fix := torch_install_fix(ctx, f"Install torch {spec or ''} for this machine", torch_spec=spec):
            fixes.append(fix)
    capped = sorted({v.package for v in violations if v.installed and _target(v) and _is_capped(_target(v))})
    if capped:
        fixes.append(Fix("Or upgrade the packages whose upper caps are violated", (ctx.pip("install", "--upgrade", *capped),)))
    return tuple(fixes)


def _is_capped(req: Requirement) -> bool:
    return any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier)


def _requirements(ctx: Context, in_stack: bool, limit: int) -> Pass | Fail | Unknown:
    """The violations inside (or outside) the stack, as one finding."""
    if unknown := _python_unknown(ctx):
        return unknown
    broken = [v for v in ctx.facts.python.violations if _in_stack(v) == in_stack]
    if not broken:
        names = sorted(d.name for d in ctx.facts.python.distributions if (d.name in STACK) == in_stack)
        return Pass(f"requirements met among {len(names)} {'fine-tuning' if in_stack else 'other'} packages")
    more = f"; and {len(broken) - limit} more" if len(broken) > limit else ""
    return Fail(
        "; ".join(_describe(v) for v in broken[:limit]) + more,
        {"violations": [f"{v.package}: {v.requirement} (installed: {v.installed})" for v in broken]},
        fixes=_violation_fixes(ctx, broken),
    )


class StackRequirements(Rule):
    """The installed fine-tuning stack satisfies its own requirements (what `pip check` reports for it)."""

    code = "PKG600"
    family = "packages"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        return _requirements(ctx, in_stack=True, limit=12)


class OtherRequirements(Rule):
    """The other installed packages satisfy their requirements (the rest of what `pip check` reports)."""

    code = "PKG601"
    family = "packages"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        return _requirements(ctx, in_stack=False, limit=6)


class TransformersTorchFloor(Rule):
    """The installed torch meets the torch bound of the installed transformers.

    transformers lists torch only in its `torch` extra, so pip never checks it; from 4.57 transformers checks
    at import time and, below its floor, logs "Disabling PyTorch because PyTorch >= X is required" and runs
    without torch: every model class is unavailable.
    """

    code = "PKG602"
    family = "packages"
    severity = Severity.ERROR
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        tv, build = installed(ctx.facts, "transformers"), torch_build(ctx.facts, ctx.matrix)
        if tv is None or build is None:
            return NotApplicable("transformers is not installed" if tv is None else "torch is not installed")
        rows = [r for r in ctx.matrix.hf_stack.bounds_for("transformers", tv, "disables-torch", "declared") if r.needs == "torch"]
        if not rows:
            return NotApplicable(f"the matrix has no torch bound for transformers {tv}")
        broken = [r for r in rows if not r.met_by(build.version)]
        if not broken:
            return Pass(f"transformers {tv} accepts {build.label}")
        enforced = [r for r in broken if r.effect == "disables-torch"]
        row = (enforced or broken)[0]
        if enforced:
            what = (f"transformers {tv} needs torch {row.spec} and disables torch below it at import time ('Disabling "
                    f"PyTorch because PyTorch {row.spec} is required but found {release_of(build.version)}'): "
                    "AutoModel and the Trainer are unavailable")
        else:
            what = f"transformers {tv} declares torch {row.spec} (in its torch extra), but torch {build.version} is installed"
        return Fail(
            what,
            {"transformers": tv, "torch": build.version, "bound": row.spec, "effect": row.effect, "row": row.source,
             "confidence": row.confidence},
            fixes=_floor_fixes(ctx, build, row, "transformers"),
            severity=Severity.ERROR if enforced else Severity.WARNING,
        )


def _floor_fixes(ctx: Context, build, row, package: str) -> tuple[Fix, ...]:
    fixes = []
    if fix := torch_install_fix(ctx, f"Install torch {row.spec} for this machine", torch_spec=row.spec):
        fixes.append(fix)
    if row.lowest:
        fixes.append(Fix(f"Or keep this torch and use an older {package}", (ctx.pip("install", f"{package}<{row.lowest}"),)))
    return tuple(fixes)


class TrainerAccelerate(Rule):
    """accelerate meets the floor of transformers' Trainer (a torch-extra dependency, so pip does not check it).

    Below it, building TrainingArguments (and so every TRL config) raises "Using the `Trainer` with `PyTorch`
    requires `accelerate>=X`".
    """

    code = "PKG603"
    family = "packages"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if unknown := _python_unknown(ctx):
            return unknown
        tv = installed(ctx.facts, "transformers")
        if tv is None:
            return NotApplicable("transformers is not installed")
        rows = ctx.matrix.hf_stack.bounds_for("transformers", tv, "trainer-import-error")
        if not rows:
            return NotApplicable(f"the matrix has no accelerate bound for transformers {tv}")
        if any(_target(v) and normalize_name(_target(v).name) == "accelerate" for v in ctx.facts.python.violations):
            return NotApplicable("accelerate's version is already reported as a broken requirement (PKG600)")
        have = installed(ctx.facts, "accelerate")
        row = rows[0]
        if have is not None and row.met_by(have):
            return Pass(f"accelerate {have} meets transformers {tv}'s Trainer floor ({row.spec})")
        return Fail(
            f"transformers {tv}'s Trainer needs accelerate {row.spec}, but "
            + (f"accelerate {have} is installed" if have else "accelerate is not installed")
            + ": TrainingArguments and every TRL config raise ImportError",
            {"transformers": tv, "accelerate": have, "bound": row.spec, "row": row.source},
            fixes=(Fix("Install accelerate", (ctx.pip("install", f"accelerate{row.spec}"),)),),
        )


class PickleCheckpoints(Rule):
    """transformers can load pickle (.bin) checkpoints with the installed torch.

    From 4.52 transformers refuses torch.load of .bin files unless torch ≥ 2.6 (CVE-2025-32434); safetensors
    checkpoints are unaffected, but older models and many saved adapters are .bin only.
    """

    code = "PKG604"
    family = "packages"
    severity = Severity.WARNING
    requires = frozenset({"TOR300", "PKG602"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        tv, build = installed(ctx.facts, "transformers"), torch_build(ctx.facts, ctx.matrix)
        if tv is None or build is None:
            return NotApplicable("transformers is not installed" if tv is None else "torch is not installed")
        rows = ctx.matrix.hf_stack.bounds_for("transformers", tv, "refuses-bin-checkpoints")
        broken = [r for r in rows if not r.met_by(build.version)]
        if not broken:
            return Pass(f"transformers {tv} with {build.label} loads .bin and safetensors checkpoints")
        row = broken[0]
        return Fail(
            f"transformers {tv} refuses to load pickle (.bin) checkpoints with torch {build.version} (needs torch "
            f"{row.spec}: the CVE-2025-32434 guard raises ValueError); safetensors checkpoints still load",
            {"transformers": tv, "torch": build.version, "bound": row.spec, "row": row.source},
            fixes=_floor_fixes(ctx, build, row, "transformers")
            + (Fix("Or use safetensors checkpoints (save_pretrained(..., safe_serialization=True) on a newer torch)"),),
        )


class PythonFloors(Rule):
    """Each installed fine-tuning package supports the running Python (its Requires-Python).

    pip enforces Requires-Python at install time only: a package installed with --ignore-requires-python,
    by another interpreter, or before the environment's Python changed, fails at import with syntax or
    typing errors.
    """

    code = "PKG605"
    family = "packages"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        if unknown := _python_unknown(ctx):
            return unknown
        py = python_version(ctx.facts)
        if py is None:
            return Unknown("the interpreter's version is unknown")
        broken = [(name, v, r) for name, v, r in self._rows(ctx) if not r.met_by(str(py))]
        if not broken:
            return Pass(f"Python {py} meets the Requires-Python of the installed fine-tuning packages")
        return Fail(
            f"Python {py} is below what installed packages require: "
            + ", ".join(f"{name} {v} (Python {r.spec})" for name, v, r in broken),
            {"python": str(py), "packages": {f"{name} {v}": r.spec for name, v, r in broken}},
            fixes=self._fixes(ctx, broken),
        )

    @staticmethod
    def _fixes(ctx: Context, broken) -> tuple[Fix, ...]:
        fixes = []
        pins = [f"{name}<{r.lowest}" for name, _, r in broken if r.lowest and name != "torch"]
        if pins:
            fixes.append(Fix("Install versions that support this Python", (ctx.pip("install", *pins),)))
        if any(name == "torch" for name, _, _ in broken):
            if fix := torch_install_fix(ctx, "Install a torch build for this Python"):
                fixes.append(fix)
        fixes.append(Fix(f"Or create the environment with a newer Python ({broken[0][2].spec})"))
        return tuple(fixes)

    @staticmethod
    def _rows(ctx: Context):
        for name in ("transformers", "trl", "peft", "accelerate"):
            if (version := installed(ctx.facts, name)) is not None:
                for row in ctx.matrix.hf_stack.bounds_for(name, version, "requires-python"):
                    yield name, version, row
        build = torch_build(ctx.facts, ctx.matrix)
        if build is not None and build.release is not None:
            release = build.release
            yield "torch", build.version, StackBound(
                "torch", f">={release.series}", "python", release.requires_python, "requires-python", release.source
            )


class Duplicates(Rule):
    """No distribution is installed twice on sys.path (the first copy shadows the other)."""

    code = "PKG606"
    family = "packages"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        if unknown := _python_unknown(ctx):
            return unknown
        dupes = list(ctx.facts.python.duplicates)
        if not dupes:
            return Pass("every distribution is installed once")
        pins = [f"{name}=={version}" if (version := installed(ctx.facts, name)) else name for name in dupes]
        return Fail(
            f"installed more than once on sys.path: {', '.join(dupes)}: Python imports the first copy, while pip and "
            "ftdoctor may read the other's version (often a user-site copy next to the environment's)",
            {"duplicates": dupes},
            fixes=(Fix("Remove the extra copies (run twice if both are listed), then reinstall once",
                       (ctx.pip("uninstall", "-y", *dupes), ctx.pip("install", *pins))),),
        )


RULES = (
    StackRequirements, OtherRequirements, TransformersTorchFloor, TrainerAccelerate, PickleCheckpoints,
    PythonFloors, Duplicates,
)
