"""DSP90x-94x: DeepSpeed judged from installed metadata and the toolkit facts, never imported (DSP95x+ import it).

    DSP900  DeepSpeed is installed (prerequisite of the others)
    DSP901  a CUDA toolkit (nvcc under torch's CUDA_HOME) is there to build its CUDA ops
    DSP902  nvcc and torch's CUDA agree the way DeepSpeed's op builder demands
    DSP903  its op builder passes the C++ standard this torch's headers need
    DSP904  ninja is installed (JIT op builds need it)
"""

from __future__ import annotations

from packaging.version import Version

from ftdoctor.facts.model import Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules import facts_view
from ftdoctor.rules.base import Context, Fail, NotApplicable, PackageInstalled, Pass, Rule, Unknown

FAMILY = "deepspeed"
DOCS = "https://www.deepspeed.ai/tutorials/advanced-install/"


def _dist(ctx: Context):
    return ctx.facts.distribution("deepspeed")


class DeepSpeedInstalled(PackageInstalled):
    """DeepSpeed is installed (the other DSP checks need it)."""

    code = "DSP900"
    family = FAMILY
    package = "deepspeed"


class DeepSpeedToolkit(Rule):
    """A CUDA toolkit with nvcc is there for DeepSpeed to build its CUDA ops (they compile at first use)."""

    code = "DSP901"
    family = FAMILY
    severity = Severity.WARNING
    requires = frozenset({"DSP900"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        cuda = facts_view.torch_cuda(ctx.facts, ctx.matrix)
        if cuda is None:
            return NotApplicable("torch is not a CUDA build: DeepSpeed uses its CPU accelerator")
        nvcc = facts_view.build_nvcc(ctx.facts)
        if nvcc:
            return Pass(f"nvcc {nvcc} is there to build DeepSpeed's CUDA ops")
        if ctx.facts.toolkit.status == Status.UNKNOWN:
            return Unknown(f"whether a CUDA toolkit is installed is not known ({ctx.facts.toolkit.reason})")
        return Fail(
            "no CUDA toolkit (nvcc) under CUDA_HOME, on PATH or in /usr/local/cuda: DeepSpeed installs, but every CUDA "
            "op (FusedAdam, CPUAdam, ...) fails at first use with `MissingCUDAException: CUDA_HOME does not exist`",
            {"torch_cuda": cuda},
            fixes=(Fix(f"Install the CUDA {cuda} toolkit (nvcc) and point CUDA_HOME at it",
                       (f"export CUDA_HOME=/usr/local/cuda-{cuda}",), DOCS),),
        )


class DeepSpeedCudaAgreement(Rule):
    """nvcc's CUDA and torch's CUDA agree the way DeepSpeed's op builder demands (no CUDA 13 family: exact minor)."""

    code = "DSP902"
    family = FAMILY
    # TLK400 judges the CUDA major (torch's own extension check); DeepSpeed's stricter minor rule comes after it
    requires = frozenset({"DSP900", "DSP901", "TLK400"})

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        dist, ds = _dist(ctx), ctx.matrix.deepspeed
        cuda, nvcc = facts_view.torch_cuda(ctx.facts, ctx.matrix), facts_view.build_nvcc(ctx.facts)
        if cuda is None or nvcc is None:
            return Unknown("torch's CUDA or the toolkit's nvcc is not known")
        skip = ctx.facts.env.get(ds.skip_check_env) == "1"
        verdict = ds.agreement(dist.version, nvcc, cuda, skip_check=skip)
        if verdict is None:
            return Unknown(f"deepspeed {dist.version} is not in ftdoctor's matrix")
        evidence = {"deepspeed": dist.version, "nvcc": nvcc, "torch_cuda": cuda, ds.skip_check_env: skip}
        if verdict.how == "skip-check":
            return Fail(f"nvcc {nvcc} and torch's CUDA {cuda} differ; {ds.skip_check_env}=1 lets DeepSpeed build anyway, "
                        "which may produce ops that crash", evidence, severity=Severity.WARNING)
        if verdict.ok:
            return Pass(f"nvcc {nvcc} and torch's CUDA {cuda} are accepted by deepspeed {dist.version} ({verdict.how})", evidence)
        return Fail(
            f"DeepSpeed {dist.version} refuses to build ops with nvcc {nvcc} for torch built with CUDA {cuda} "
            "(`CUDAMismatchException: Installed CUDA version ... does not match the version torch was compiled with`)"
            + (f"; it has no compatibility family for CUDA {Version(cuda).major}, so the minor must match" if Version(cuda).major >= 13 else ""),
            evidence,
            fixes=(Fix(f"Build with a CUDA {Version(cuda).major}.{Version(cuda).minor} toolkit",
                       (f"export CUDA_HOME=/usr/local/cuda-{Version(cuda).major}.{Version(cuda).minor}",), DOCS),
                   Fix("Or accept the mismatch at your own risk", (f"export {ds.skip_check_env}=1",))),
        )


class DeepSpeedCxxStandard(Rule):
    """DeepSpeed's op builder passes the C++ standard this torch's headers need."""

    code = "DSP903"
    family = FAMILY
    requires = frozenset({"DSP900"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        dist = _dist(ctx)
        row = ctx.matrix.deepspeed.release(dist.version)
        torch_row = ctx.matrix.torch.release_for(ctx.facts.torch.version) if ctx.facts.torch.version else None
        if torch_row is None:
            return NotApplicable("torch is absent or not in ftdoctor's matrix")
        if row is None:
            return Unknown(f"deepspeed {dist.version} is not in ftdoctor's matrix")
        series = Version(torch_row.series)
        passes = row.cxx_std_torch_2_12 if series >= Version("2.12") else 17
        if passes >= torch_row.cxx_std:
            return Pass(f"deepspeed {dist.version} compiles ops with C++{passes}; torch {torch_row.series} needs C++{torch_row.cxx_std}")
        newer = min((r for r in ctx.matrix.deepspeed.releases if r.cxx_std_torch_2_12 >= torch_row.cxx_std),
                    key=lambda r: r.versions, default=None)
        return Fail(
            f"deepspeed {dist.version} compiles its ops with -std=c++{passes}, but torch {torch_row.series}'s headers need "
            f"C++{torch_row.cxx_std}: every JIT op build fails (`#error C++20 or later compatible compiler is required`)",
            {"deepspeed": dist.version, "torch": torch_row.series, "torch_cxx_std": torch_row.cxx_std},
            fixes=(Fix("Upgrade DeepSpeed to a release that builds with C++20 for torch >= 2.12",
                       (ctx.pip("install", f"deepspeed{newer.versions}" if newer else "deepspeed"),), DOCS),),
        )


class DeepSpeedNinja(Rule):
    """ninja is installed: DeepSpeed's JIT op builds need it."""

    code = "DSP904"
    family = FAMILY
    severity = Severity.WARNING
    requires = frozenset({"DSP900"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        ninja = ctx.facts.distribution("ninja")
        if ninja is not None:
            return Pass(f"ninja {ninja.version}".rstrip())
        if any(v.package == "deepspeed" and v.requirement.startswith("ninja") for v in ctx.facts.python.violations):
            return NotApplicable("deepspeed's own requirement on ninja is missing: the package checks report it")
        return Fail("ninja is not installed: DeepSpeed's JIT op builds fail (`Ninja is required to load C++ extensions`)",
                    fixes=(Fix("Install ninja", (ctx.pip("install", "ninja"),), DOCS),))


RULES = (DeepSpeedInstalled, DeepSpeedToolkit, DeepSpeedCudaAgreement, DeepSpeedCxxStandard, DeepSpeedNinja)
