"""DSP95x-99x: the DeepSpeed smoke tests. It imports and picks the right accelerator; what its op builder
needs to compile ops at first use is in place; and (opt-in) the ops a ZeRO config needs really build."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import SmokeResult, SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

FAMILY = "verify-deepspeed"
SMOKE = "deepspeed"
JIT_NOTE = "DeepSpeed compiles its ops at first use (ZeRO-Offload's cpu_adam, fused optimizers, the CPU comm op)"


def _report(ctx: Context) -> SmokeResult | NotApplicable:
    """The deepspeed smoke's result once it finished; NotApplicable (DSP950 says why) when it did not."""
    result = fetch(ctx, SMOKE)
    if isinstance(result, SmokeResult) and result.status != SmokeStatus.OK:
        return NotApplicable("the DeepSpeed smoke test did not finish (DSP950 says why)")
    return result


class DeepSpeedImports(Rule):
    """DeepSpeed imports and picks the accelerator this machine has."""

    code = "DSP950"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, SMOKE)
        if isinstance(result, NotApplicable):
            return result
        if failed := broken(ctx, result, "the DeepSpeed smoke test"):
            return failed
        details = result.details
        if result.status != SmokeStatus.OK:
            cause = explained(ctx, result.reason + "\n" + result.output_tail)
            return Fail(f"DeepSpeed {details.get('version', '')} does not import: {result.reason}{cause.suffix}",
                        evidence(result, **cause.evidence), fixes=cause.fixes)
        gpus = ctx.facts.driver.gpus
        if details.get("accelerator") == "cpu" and gpus:
            forced = " (DS_ACCELERATOR=cpu is set)" if details.get("ds_accelerator_env") == "cpu" else ""
            return Fail(f"DeepSpeed picked the CPU accelerator although {len(gpus)} NVIDIA GPU(s) are present{forced}: "
                        f"torch {details.get('torch')} cannot use them", evidence(result), severity=Severity.WARNING)
        return Pass(_summary(details), evidence(result, ops=details.get("ops", {})))


def _summary(details: dict) -> str:
    ops = details.get("ops", {})
    installed = ", ".join(details.get("installed_ops", [])) or "none (all are built at first use)"
    blocked = [f"{name} ({(op.get('reason') or 'not compatible')[:80]})" for name, op in sorted(ops.items())
               if not op.get("compatible")]
    text = (f"DeepSpeed {details.get('version')} imports; accelerator {details.get('accelerator')}, communication "
            f"backend {details.get('communication_backend')}; precompiled ops: {installed}; "
            f"{sum(1 for op in ops.values() if op.get('compatible'))} of {len(ops)} ops can be built here")
    return text + (f"; not buildable: {'; '.join(blocked)}" if blocked else "")


class _Prerequisite(Rule):
    """Shared check of one op-build prerequisite; subclasses name the key and the fix."""

    family = FAMILY
    smoke = SMOKE
    severity = Severity.WARNING
    key: str
    what: str

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = _report(ctx)
        if isinstance(result, NotApplicable):
            return result
        found = result.details.get("prerequisites", {}).get(self.key, {})
        if found.get("ok"):
            where = found.get("path") or ""
            version = f" {found['version']}" if found.get("version") else ""
            return Pass(f"{self.what}{version}: {where}", evidence(result, **{self.key: found}))
        return Fail(f"{self.what} is missing ({found.get('error') or found.get('path') or 'not found'}): {JIT_NOTE} "
                    "and will fail", evidence(result, **{self.key: found}), fixes=self.fixes(ctx))

    def fixes(self, ctx: Context) -> tuple[Fix, ...]:  # pragma: no cover - every subclass overrides it
        return ()


class DeepSpeedNinja(_Prerequisite):
    """ninja is available for DeepSpeed's op builds."""

    code = "DSP951"
    key = "ninja"
    what = "ninja"

    def fixes(self, ctx: Context) -> tuple[Fix, ...]:
        return (Fix("install ninja into the environment", (ctx.pip("install", "ninja"),)),)


class DeepSpeedCompiler(_Prerequisite):
    """A host C++ compiler is available for DeepSpeed's op builds."""

    code = "DSP952"
    key = "compiler"
    what = "host C++ compiler"

    def fixes(self, ctx: Context) -> tuple[Fix, ...]:
        return (Fix("install a C++ compiler (or point CXX at one)", ("sudo apt-get install -y g++",)),)


class DeepSpeedPythonHeaders(_Prerequisite):
    """Python's headers (Python.h) are installed for DeepSpeed's op builds."""

    code = "DSP953"
    key = "python_headers"
    what = "Python headers"

    def fixes(self, ctx: Context) -> tuple[Fix, ...]:
        version = ".".join(ctx.facts.python.version.split(".")[:2]) or "3"
        return (Fix(f"install the Python {version} development headers", (f"sudo apt-get install -y python{version}-dev",)),)


class DeepSpeedNvcc(Rule):
    """For CUDA ops, CUDA_HOME has an nvcc whose major version matches torch's CUDA."""

    code = "DSP954"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = _report(ctx)
        if isinstance(result, NotApplicable):
            return result
        details = result.details
        if details.get("accelerator") != "cuda":
            return NotApplicable(f"DeepSpeed runs on the {details.get('accelerator')} accelerator here: its ops build with the "
                                 "host compiler; no CUDA toolkit is needed")
        nvcc, torch_cuda = details.get("prerequisites", {}).get("nvcc", {}), details.get("torch_cuda")
        if not nvcc.get("ok"):
            return Fail(f"no nvcc for CUDA op builds ({nvcc.get('error') or nvcc.get('path')}): {JIT_NOTE} and will fail",
                        evidence(result, nvcc=nvcc), fixes=(Fix(f"install a CUDA {torch_cuda} toolkit and set CUDA_HOME to it"),))
        return _major_match(result, nvcc, torch_cuda)


def _major_match(result: SmokeResult, nvcc: dict, torch_cuda: str | None) -> Pass | Fail:
    try:
        same = Version(nvcc["version"]).major == Version(torch_cuda or "").major
    except InvalidVersion:
        return Fail(f"cannot compare nvcc {nvcc.get('version')} with torch's CUDA {torch_cuda}", evidence(result, nvcc=nvcc))
    if same:
        return Pass(f"nvcc {nvcc['version']} ({nvcc.get('path')}) matches torch's CUDA {torch_cuda} in major", evidence(result, nvcc=nvcc))
    return Fail(f"nvcc {nvcc['version']} ({nvcc.get('path')}) and torch's CUDA {torch_cuda} differ in major version: "
                "DeepSpeed refuses to build CUDA ops (CUDAMismatchException)", evidence(result, nvcc=nvcc),
                fixes=(Fix(f"point CUDA_HOME at a CUDA {torch_cuda} toolkit"),), severity=Severity.ERROR)


class DeepSpeedOpsBuild(Rule):
    """DeepSpeed builds and loads the ops a ZeRO config needs (opt-in: slow)."""

    code = "DSP955"
    family = FAMILY
    smoke = "deepspeed-ops"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            if ctx.facts.verify.ran and ctx.facts.verify.smoke(self.smoke) is None:
                return NotApplicable("not run: building ops is slow (a compile each); opt in with "
                                     "`ftdoctor check --verify --verify-deepspeed-ops`")
            return result
        if failed := broken(ctx, result, "building DeepSpeed ops"):
            return failed
        ops = result.details.get("ops", {})
        built = [f"{name} ({op.get('elapsed_s')} s)" for name, op in ops.items() if op.get("ok")]
        bad = {name: op for name, op in ops.items() if not op.get("ok")}
        if not bad:
            return Pass(f"built and loaded {', '.join(built)}", evidence(result, ops=ops))
        text = "; ".join(f"{name}: {op.get('error')}" for name, op in bad.items())
        cause = explained(ctx, text + "\n" + result.output_tail)
        return Fail(f"DeepSpeed could not build {', '.join(bad)}: {text}{cause.suffix}",
                    evidence(result, ops=ops, **cause.evidence), fixes=cause.fixes)


RULES = (DeepSpeedImports, DeepSpeedNinja, DeepSpeedCompiler, DeepSpeedPythonHeaders, DeepSpeedNvcc, DeepSpeedOpsBuild)
