"""ARC2xx: does the torch build carry kernels for every GPU it will run on, and does the precision a training run
will use exist in hardware there? Predicts "no kernel image is available for execution on the device" before
any kernel runs."""

from __future__ import annotations

from packaging.version import Version

from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.compat import kernel_for
from ftdoctor.matrix.model import cc_tuple
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import (
    CC, cc_text, describe_gpus, gpu_groups, installed, not_a_cuda_build, physical_gpus, torch_build, visible_gpus,
)
from ftdoctor.rules.torch_choice import driver_full, machine_needs, torch_install_fix

class KernelImages(Rule):
    """Every visible GPU has a kernel image in torch's build (a cubin it can run, or PTX its driver can compile).

    A cubin built for sm_XY runs on GPUs of the same major with an equal or higher minor (sm_80 serves sm_86
    and sm_89; sm_90 does not serve Blackwell). PTX is JIT-compiled for newer GPUs, only by a driver at least as
    new as the toolkit that emitted it. Uses torch's real arch list when torch was imported, else the matrix's
    list for that release and CUDA variant.
    """

    code = "ARC200"
    family = "architecture"
    severity = Severity.ERROR
    requires = frozenset({"TOR300", "DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        build = torch_build(ctx.facts, ctx.matrix)
        if why := not_a_cuda_build(build):
            return NotApplicable(why)
        gpus = visible_gpus(ctx.facts, ctx.matrix)
        if not gpus:
            return NotApplicable("no visible GPU")
        if not build.arch_source:
            return Unknown(f"the architectures compiled into {build.label} are unknown (not imported, no matrix row)")
        needs = machine_needs(ctx.facts, ctx.matrix)
        verdicts = {g.label: self._verdict(ctx, needs, build, g.cc) for g in gpus}
        evidence = {"compiled": _arch_text(build), "from": build.arch_source, "gpus": verdicts}
        return _outcome(ctx, build, gpus, verdicts, evidence)

    @staticmethod
    def _verdict(ctx: Context, needs, build, cc: CC | None) -> str:
        if cc is None:
            return "unknown compute capability"
        kind = kernel_for(cc, build.sass, build.ptx, needs.integrated)
        if kind != "ptx":
            return "cubin" if kind else "no kernel image"
        full = driver_full(ctx.matrix, needs, build.cuda)
        return {True: "PTX (JIT)", False: "PTX, driver too old to compile it", None: "PTX, driver unknown"}[full]


def _arch_text(build) -> str:
    sass = " ".join(cc_text(c) for c in build.sass)
    ptx = " ".join(f"compute_{c[0]}{c[1]}" for c in build.ptx)
    return sass + (f" + PTX {ptx}" if ptx else "")


def _outcome(ctx: Context, build, gpus, verdicts: dict[str, str], evidence: dict):
    broken = [g for g in gpus if verdicts[g.label] in ("no kernel image", "PTX, driver too old to compile it")]
    if broken:
        return _no_kernel(ctx, build, broken, evidence)
    if any(v == "PTX, driver unknown" for v in verdicts.values()):
        return Fail(f"{build.label} reaches some GPU only through PTX, and whether the driver can compile PTX from "
                    f"CUDA {build.cuda} is unknown", evidence, severity=Severity.WARNING)
    if any(v == "unknown compute capability" for v in verdicts.values()):
        return Unknown("the compute capability of a visible GPU is unknown", evidence)
    if any(v == "PTX (JIT)" for v in verdicts.values()):
        return Info(f"{build.label} runs on some GPU only by JIT-compiling its PTX (slower first start; cached in "
                    "~/.nv/ComputeCache)", evidence)
    source = "" if build.imported else f" (compiled architectures from {build.arch_source})"
    return Pass(f"{build.label} has kernels for {describe_gpus(gpus)}{source}", evidence)


def _no_kernel(ctx: Context, build, broken, evidence: dict) -> Fail:
    lines = [f"{describe_gpus(group)}: {_why(ctx, build, group[0].cc)}" for group in gpu_groups(broken)]
    fix = torch_install_fix(ctx, "Install a torch build with kernels for every GPU")
    fixes = (fix,) if fix else (
        Fix("No torch build in ftdoctor's matrix runs on these GPUs with this driver; see PyTorch's install page",
            (), "https://pytorch.org/get-started/locally/"),)
    return Fail(
        f"{build.label} has no kernel for " + "; ".join(lines)
        + ". Every CUDA op there fails with 'no kernel image is available for execution on the device'",
        evidence,
        fixes=fixes,
    )


def _why(ctx: Context, build, cc: CC) -> str:
    compiled = f"it was compiled for {_arch_text(build)}"
    if build.ptx and any(p <= cc for p in build.ptx):
        return f"only its PTX could run there, and this driver is older than CUDA {build.cuda}, which emitted it"
    cuda_major = ctx.matrix.cuda.major(build.cuda)
    if cuda_major and cc < cc_tuple(cuda_major.lowest_cc):
        return (f"{compiled}; CUDA {cuda_major.major} cannot target GPUs below {cc_text(cc_tuple(cuda_major.lowest_cc))} "
                f"at all, so no CUDA {cuda_major.major} build of torch will run there{_first_text(ctx, cc, last=True)}")
    if cc[0] >= 10:
        return f"{compiled}; Blackwell needs sm_{cc[0]}x kernels{_first_text(ctx, cc)}"
    return compiled


def _first_text(ctx: Context, cc: CC, last: bool = False) -> str:
    """Where the matrix says kernels for this GPU first (or last) shipped."""
    serving = []
    for release in ctx.matrix.torch.releases:
        for variant in release.variants:
            if variant.cuda != "cpu" and kernel_for(cc, tuple(map(cc_tuple, variant.archs)), ()) == "sass":
                serving.append((Version(release.series), release, variant))
    if not serving:
        return ""
    if last:
        series, release, variant = max(serving, key=lambda s: (s[0], Version(s[2].cuda)))
        return f" (the newest build with {cc_text(cc)} kernels: torch {release.series} {variant.suffix})"
    series, release, variant = min(serving, key=lambda s: (s[0], Version(s[2].cuda)))
    default = min((s for s in serving if s[2].cuda == s[1].default_cuda), key=lambda s: s[0], default=None)
    tail = f"; the default wheel on the package index has them from {default[1].series}" if default else ""
    return f" (first in torch {release.series} {variant.suffix}{tail})"


class Bf16Hardware(Rule):
    """bf16 is not requested or assumed on a GPU without native bf16 (before Ampere, sm_80).

    TRL ≥ 0.19 defaults to bf16=True unless fp16=True. On a T4 or V100 torch accepts bf16 by emulation
    (torch.cuda.is_bf16_supported() answers True), so nothing fails at start: the run goes without tensor
    cores, several times slower than fp16, and ops with no bf16 kernel there (cuDNN convolutions) fail.
    """

    code = "ARC201"
    family = "architecture"
    severity = Severity.WARNING
    requires = frozenset({"DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        gpus = visible_gpus(ctx.facts, ctx.matrix)
        if not gpus:
            return NotApplicable("no visible GPU")
        floor = cc_tuple(ctx.matrix.platform.precision.bf16_native_min_cc)
        if any(g.cc is None for g in gpus):
            return Unknown("the compute capability of a visible GPU is unknown")
        old = [g for g in gpus if g.cc < floor]
        if not old:
            return Pass("every visible GPU has native bf16")
        asks = _bf16_requests(ctx)
        evidence = {"gpus_without_bf16": [g.label for g in old], "bf16_from": asks}
        if not asks:
            return Info(f"no native bf16 on {describe_gpus(old)}: train in fp16 there", evidence)
        return Fail(
            f"bf16 is {' and '.join(asks)}, but there is no bf16 hardware on {describe_gpus(old)} "
            f"(it starts at {cc_text(floor)}): torch emulates it, so training runs without tensor cores, several "
            "times slower than fp16, and ops without a bf16 kernel there fail",
            evidence,
            fixes=_fp16_fixes(asks),
        )


def _bf16_requests(ctx: Context) -> list[str]:
    asks = []
    if ctx.facts.env.get("ACCELERATE_MIXED_PRECISION", "").lower() == "bf16":
        asks.append("requested by ACCELERATE_MIXED_PRECISION=bf16")
    trl = installed(ctx.facts, "trl")
    default = ctx.matrix.hf_stack.default_for("trl", trl, "bf16") if trl else None
    if default is not None:
        asks.append(f"assumed by TRL {trl} (bf16 defaults to {default.value})")
    return asks


def _fp16_fixes(asks: list[str]) -> tuple[Fix, ...]:
    fixes = []
    if any("TRL" in a for a in asks):
        fixes.append(Fix("Train in fp16: pass bf16=False, fp16=True to SFTConfig/DPOConfig/GRPOConfig "
                         "(on the trl CLI: --bf16 false --fp16 true)"))
    if any("ACCELERATE" in a for a in asks):
        fixes.append(Fix("Ask accelerate for fp16 instead", ("export ACCELERATE_MIXED_PRECISION=fp16",)))
    return tuple(fixes)


class MixedGpus(Rule):
    """All GPUs of the machine are one model, or CUDA numbers them like nvidia-smi does.

    CUDA numbers GPUs fastest first while nvidia-smi and NVML number them by PCI bus, so with two models
    cuda:0 and CUDA_VISIBLE_DEVICES=0 may name a different GPU than nvidia-smi's 0 unless
    CUDA_DEVICE_ORDER=PCI_BUS_ID. Data-parallel training across two models runs at the slower one's pace.
    """

    code = "ARC202"
    family = "architecture"
    severity = Severity.WARNING
    requires = frozenset({"DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable:
        gpus = physical_gpus(ctx.facts, ctx.matrix)
        if len(gpus) < 2:
            return NotApplicable("fewer than two GPUs")
        models = sorted({g.name for g in gpus})
        if len(models) == 1:
            return Pass(f"{len(gpus)} × {models[0]}")
        evidence = {"gpus": [g.label for g in gpus], "CUDA_DEVICE_ORDER": ctx.facts.env.get("CUDA_DEVICE_ORDER")}
        if ctx.facts.env.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID":
            return Info(f"{len(models)} GPU models; CUDA_DEVICE_ORDER=PCI_BUS_ID keeps CUDA's numbering equal to "
                        "nvidia-smi's", evidence)
        groups = {m: ",".join(str(g.index) for g in gpus if g.name == m) for m in models}
        return Fail(
            f"{len(models)} different GPU models ({describe_gpus(gpus)}) and "
            "CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA numbers them fastest first, so cuda:N and CUDA_VISIBLE_DEVICES "
            "may not name nvidia-smi's GPU N; training across both runs at the slower one's pace",
            evidence,
            fixes=(
                Fix("Number GPUs as nvidia-smi does", ("export CUDA_DEVICE_ORDER=PCI_BUS_ID",)),
                Fix("Train on one model of GPU",
                    tuple(f"export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={i}   # {m}" for m, i in groups.items())),
            ),
        )


RULES = (KernelImages, Bf16Hardware, MixedGpus)
