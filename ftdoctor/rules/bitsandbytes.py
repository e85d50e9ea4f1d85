"""BNB80x-84x: bitsandbytes judged from installed metadata, never imported (the verify family imports it, BNB85x+).

    BNB800  bitsandbytes is installed (prerequisite of the others)
    BNB801  the release ships a native library for torch's CUDA (or BNB_CUDA_VERSION names one it ships)
    BNB802  that library carries code for these GPUs
    BNB803  the GPUs meet the compute-capability floor of each feature (LLM.int8, 8-bit optimizers, NF4/FP4)
    BNB804  with a CPU-only torch, the release implements its ops on the CPU
"""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.compat import cubin_runs
from ftdoctor.rules import facts_view
from ftdoctor.rules.base import Context, Fail, NotApplicable, PackageInstalled, Pass, Rule, Unknown

FAMILY = "bitsandbytes"
DOCS = "https://huggingface.co/docs/bitsandbytes/main/en/installation"


def _dist(ctx: Context):
    return ctx.facts.distribution("bitsandbytes")


def _cuda_label(cuda: str) -> str:
    v = Version(cuda)
    return f"{v.major}{v.minor}"


class BnbInstalled(PackageInstalled):
    """bitsandbytes is installed (the other BNB checks need it)."""

    code = "BNB800"
    family = FAMILY
    package = "bitsandbytes"


class BnbLibraryForTorch(Rule):
    """bitsandbytes ships a native library for torch's CUDA version (the one it loads, not the system toolkit)."""

    code = "BNB801"
    family = FAMILY
    requires = frozenset({"BNB800"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        dist, bnb = _dist(ctx), ctx.matrix.bitsandbytes
        cuda = facts_view.torch_cuda(ctx.facts, ctx.matrix)
        if cuda is None:
            return NotApplicable("torch is not a CUDA build: bitsandbytes loads its CPU library")
        row = bnb.release(dist.version)
        if row is None:
            return Unknown(f"bitsandbytes {dist.version} is not in ftdoctor's matrix")
        if bnb.rule_for(dist.version) == "libcudart_search":
            return Unknown(f"bitsandbytes {dist.version} picks its library from the libcudart it finds, not from torch")
        override = ctx.facts.env.get(bnb.override_env) or None
        choice = bnb.choose(dist.version, cuda, override)
        evidence = {"bitsandbytes": dist.version, "torch_cuda": cuda, "shipped": list(row.cuda_libs), bnb.override_env: override}
        if choice.how in ("exact", "fallback"):
            how = "" if choice.how == "exact" else f" (no {cuda} build: falls back to {choice.library} within CUDA {Version(cuda).major})"
            return Pass(f"bitsandbytes {dist.version} loads libbitsandbytes_cuda{_cuda_label(choice.library)}.so{how}", evidence)
        if choice.how == "override":
            return _override_mismatch(ctx, override, cuda, choice.library, evidence)
        return Fail(_missing_message(dist.version, cuda, override, row), evidence, fixes=_library_fixes(ctx, cuda, override))


def _override_mismatch(ctx: Context, override: str, cuda: str, library: str, evidence: dict) -> Pass | Fail:
    env = ctx.matrix.bitsandbytes.override_env
    if Version(library) == Version(cuda):
        return Pass(f"{env}={override} loads the library for torch's CUDA {cuda}", evidence)
    severity = Severity.ERROR if Version(library).major != Version(cuda).major else Severity.WARNING
    return Fail(
        f"{env}={override} forces the CUDA {library} library while torch runs CUDA {cuda}"
        + (": across CUDA majors it cannot load" if severity == Severity.ERROR else ": it works only within one CUDA major"),
        evidence, severity=severity,
        fixes=(Fix("Let bitsandbytes pick the library for torch's CUDA", (f"unset {env}",), DOCS),),
    )


def _missing_message(version: str, cuda: str, override: str | None, row) -> str:
    shipped = ", ".join(row.cuda_libs)
    if override:
        return f"BNB_CUDA_VERSION={override} names libbitsandbytes_cuda{override}.so, which bitsandbytes {version} does not ship (it has {shipped})"
    return (f"bitsandbytes {version} ships no library for torch's CUDA {cuda} (it has {shipped}): "
            "importing it fails or 4-bit/8-bit layers crash")


def _library_fixes(ctx: Context, cuda: str, override: str | None) -> tuple[Fix, ...]:
    bnb = ctx.matrix.bitsandbytes
    fixes = []
    if override:
        fixes.append(Fix("Let bitsandbytes pick the library for torch's CUDA", (f"unset {bnb.override_env}",), DOCS))
    fitting = [r for r in bnb.newest_first() if bnb.choose(r.version, cuda).library is not None and _fits(ctx, r)]
    if fitting:
        fixes.append(Fix(f"Install a bitsandbytes that ships a library for CUDA {cuda}",
                         (ctx.pip("install", f"bitsandbytes=={fitting[0].version}"),), DOCS))
    return tuple(fixes)


def _fits(ctx: Context, row) -> bool:
    """The release's own Requires-Dist torch and Requires-Python accept this environment."""
    torch, python = ctx.facts.torch.version, facts_view.python_series(ctx.facts)
    if row.torch and torch and not SpecifierSet(row.torch).contains(Version(torch).base_version):
        return False
    return not (row.requires_python and python and not SpecifierSet(row.requires_python).contains(python))


class BnbLibraryArchs(Rule):
    """The bitsandbytes library that loads carries code for these GPUs."""

    code = "BNB802"
    family = FAMILY
    requires = frozenset({"BNB801"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        dist, bnb = _dist(ctx), ctx.matrix.bitsandbytes
        cuda = facts_view.torch_cuda(ctx.facts, ctx.matrix)
        if cuda is None:
            return NotApplicable("torch is not a CUDA build")
        choice = bnb.choose(dist.version, cuda, ctx.facts.env.get(bnb.override_env) or None)
        archs = bnb.release(dist.version).archs_for(choice.library) if choice.library else None
        if archs is None:
            return Unknown(f"the GPU targets of bitsandbytes {dist.version}'s CUDA {choice.library} library are not recorded")
        gpus = [g for g in facts_view.physical_gpus(ctx.facts, ctx.matrix) if g.capability]
        bad = [g for g in gpus if not cubin_runs(archs, g.capability)]
        if not bad:
            return Pass(f"libbitsandbytes_cuda{_cuda_label(choice.library)}.so targets sm {', '.join(archs)}")
        return Fail(
            f"bitsandbytes {dist.version}'s CUDA {choice.library} library is compiled for sm {', '.join(archs)}; "
            f"{', '.join(f'{g.name} (sm {g.capability})' for g in bad)} gets `no kernel image is available`",
            {"library_archs": list(archs), "gpus": [g.name for g in bad]},
            fixes=(Fix("Pick a torch/bitsandbytes pair whose library targets this GPU",
                       ("ftdoctor lock --target auto --with bitsandbytes --explain",)),),
        )


class BnbFeatureFloors(Rule):
    """The GPUs meet bitsandbytes' compute-capability floor for LLM.int8, 8-bit optimizers and NF4/FP4."""

    code = "BNB803"
    family = FAMILY
    requires = frozenset({"BNB800"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        dist, bnb = _dist(ctx), ctx.matrix.bitsandbytes
        gpus = [g for g in facts_view.physical_gpus(ctx.facts, ctx.matrix) if g.capability]
        if not gpus or facts_view.torch_cuda(ctx.facts, ctx.matrix) is None:
            return NotApplicable("no GPU that torch uses")
        lowest = min(gpus, key=lambda g: Version(g.capability))
        missing = [f for f in _floors(bnb, dist.version) if Version(lowest.capability) < Version(f.min_cc)]
        if not missing:
            return Pass(f"{lowest.name} (sm {lowest.capability}) meets every bitsandbytes {dist.version} floor")
        core = [f for f in missing if f.feature != "llm_int8"]
        text = "; ".join(f"{f.title} needs compute capability {f.min_cc}" for f in missing)
        return Fail(
            f"{lowest.name} has compute capability {lowest.capability}: {text} (bitsandbytes {dist.version})",
            {"gpu": lowest.name, "compute_capability": lowest.capability, "features": [f.feature for f in missing]},
            severity=Severity.ERROR if core else Severity.WARNING,
            fixes=(Fix("Train in 16-bit (bf16/fp16 LoRA) instead of 8-bit/4-bit on this GPU, or use a newer GPU"),),
        )


def _floors(bnb, version: str):
    return [f for name in ("llm_int8", "optimizers_8bit", "nf4_fp4") if (f := bnb.floor(name, version))]


class BnbCpu(Rule):
    """With a CPU-only torch, this bitsandbytes release implements its 4-bit/8-bit ops on the CPU."""

    code = "BNB804"
    family = FAMILY
    requires = frozenset({"BNB800"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        dist = _dist(ctx)
        if not ctx.facts.torch.version or facts_view.torch_cuda(ctx.facts, ctx.matrix) is not None:
            return NotApplicable("torch is a CUDA build (or absent)")
        row = ctx.matrix.bitsandbytes.release(dist.version)
        if row is None:
            return Unknown(f"bitsandbytes {dist.version} is not in ftdoctor's matrix")
        if row.cpu_ops:
            return Pass(f"bitsandbytes {dist.version} runs its 4-bit/8-bit ops on the CPU")
        cpu_ok = next(r.version for r in sorted(ctx.matrix.bitsandbytes.releases, key=lambda r: Version(r.version)) if r.cpu_ops)
        return Fail(
            f"torch is a CPU build and bitsandbytes {dist.version} has no CPU implementation of its ops "
            f"(official CPU support starts at {cpu_ok}): load_in_4bit/8-bit and 8-bit optimizers fail",
            {"bitsandbytes": dist.version}, severity=Severity.WARNING,
            fixes=(Fix("Install a bitsandbytes with CPU support", (ctx.pip("install", f"bitsandbytes>={cpu_ok}"),), DOCS),),
        )


RULES = (BnbInstalled, BnbLibraryForTorch, BnbLibraryArchs, BnbFeatureFloors, BnbCpu)
