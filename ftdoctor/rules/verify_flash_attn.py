"""FLA75x-79x: the flash-attn smoke test. Does its compiled extension load, and does it compute right?

An import failure is named precisely: a Python-only install without the extension, an extension built
for another torch or C++ ABI ("undefined symbol"), or one built for another CUDA (a missing libcudart).
The fix names the prebuilt wheel that would fit, computed the way flash-attn's own setup.py names it.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Facts, SmokeResult, SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.smoke import broken, evidence, failure_cause, fetch

FAMILY = "verify-flash-attn"
EXTENSION = "flash_attn_2_cuda"
SDPA_FIX = Fix('use PyTorch\'s attention instead: attn_implementation="sdpa" (nearly as fast on most GPUs)')


class FlashAttnImports(Rule):
    """flash-attn's compiled extension imports with this torch."""

    code = "FLA750"
    family = FAMILY
    smoke = "flash-attn"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return result
        if failed := broken(result, "importing flash-attn"):
            return Fail(failed.message, failed.evidence, fixes=failed.fixes + reinstall_fixes(ctx))
        attempt = result.details.get("import", {})
        if attempt.get("ok"):
            return Pass(f"flash-attn {result.details.get('version')} imports its extension", evidence(result))
        return Fail(_import_failure(attempt, result), evidence(result, error=attempt.get("error")),
                    fixes=reinstall_fixes(ctx))


def _import_failure(attempt: dict, result: SmokeResult) -> str:
    version = result.details.get("version", "?")
    error = attempt.get("error", "")
    if attempt.get("missing_module") == EXTENSION:
        return (f"flash-attn {version} is installed without its compiled extension {EXTENSION}: a Python-only install "
                "(FLASH_ATTENTION_SKIP_CUDA_BUILD) or a build that failed; `import flash_attn` fails")
    symbol = re.search(r"undefined symbol: (\S+)", error)
    if symbol:
        abi = " (built with the other C++ string ABI)" if "__cxx11" in symbol[1] or symbol[1].endswith("Ss") else ""
        return (f"flash-attn {version}'s extension was built for another torch{abi}: undefined symbol {symbol[1]} "
                f"(this torch: {result.details.get('torch')})")
    library = re.search(r"(\S+\.so[\w.]*): cannot open shared object file", error)
    if library:
        return (f"flash-attn {version}'s extension needs {library[1]}, which is not there: it was built for another "
                f"CUDA than this torch's ({result.details.get('torch_cuda') or 'none: CPU-only torch'})")
    cause, _ = failure_cause(error)
    return f"flash-attn {version} does not import: {attempt.get('error_type', 'error')}: {error}{cause}"


class FlashAttnMatchesSdpa(Rule):
    """flash-attn's forward pass matches torch's scaled_dot_product_attention on the GPU."""

    code = "FLA751"
    family = FAMILY
    smoke = "flash-attn"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return result
        forward = result.details.get("forward", {})
        if result.status in (SmokeStatus.CRASHED, SmokeStatus.TIMEOUT) and not forward:
            return NotApplicable("the flash-attn smoke test did not finish (FLA750)")
        if forward.get("skipped"):
            return NotApplicable(forward["skipped"])
        if forward.get("ok"):
            worst = max((e.get("flash", 0.0) for e in forward.get("errors", [])), default=0.0)
            return Pass(f"forward matches the float32 reference within {worst:.2g} on {forward.get('device')}", evidence(result))
        error = forward.get("error", result.reason)
        if "Ampere" in error or "sm8" in error:
            return Fail(f"{forward.get('device')} (sm_{str(forward.get('compute_capability', '?')).replace('.', '')}) is not "
                        f"supported by FlashAttention-2: {error}", evidence(result, forward=forward),
                        fixes=(SDPA_FIX,), severity=Severity.WARNING)
        cause, fixes = failure_cause(error)
        return Fail(f"flash-attn's forward failed on {forward.get('device')}: {error}{cause}",
                    evidence(result, forward=forward), fixes=fixes + (SDPA_FIX,))


def fitting_wheel(facts: Facts) -> str | None:
    """The prebuilt wheel flash-attn's setup.py would fetch for this torch and Python (`get_wheel_url`):
    flash_attn-{ver}+cu{major}torch{M.m}cxx11abi{TRUE|FALSE}-cp{XY}-cp{XY}-linux_{machine}.whl.
    None for a CPU-only torch, or when a fact it needs is unknown. Whether that wheel was published for
    this combination is the matrix's business (the lock helper's FLA rows), not this name's."""
    dist, torch = facts.distribution("flash-attn"), facts.torch
    if dist is None or not torch.cuda or not torch.version or torch.cxx11_abi is None or not facts.python.version:
        return None
    try:
        tv, fa = Version(torch.version), Version(dist.version)
        cuda_major = Version(torch.cuda).major
    except InvalidVersion:
        return None
    py = "cp" + "".join(facts.python.version.split(".")[:2])
    machine = facts.system.machine or "x86_64"
    return (f"flash_attn-{fa.public}+cu{cuda_major}torch{tv.major}.{tv.minor}cxx11abi{str(torch.cxx11_abi).upper()}"
            f"-{py}-{py}-linux_{machine}.whl")


def reinstall_fixes(ctx: Context) -> tuple[Fix, ...]:
    facts = ctx.facts
    dist = facts.distribution("flash-attn")
    version = dist.version if dist else ""
    if not facts.torch.cuda:
        return (Fix("flash-attn needs a CUDA build of torch; this torch has no CUDA, so remove flash-attn and use sdpa",
                    (ctx.pip("uninstall", "-y", "flash-attn"),)), SDPA_FIX)
    wheel = fitting_wheel(facts)
    named = f": {wheel} (flash-attn's release page)" if wheel else ""
    return (
        Fix(f"reinstall flash-attn so that its setup fetches the prebuilt wheel for this torch{named}; "
            "without one for this combination it compiles from source (needs nvcc, takes long)",
            (ctx.pip("uninstall", "-y", "flash-attn"),
             ctx.pip("install", "--no-build-isolation", "--no-cache-dir", f"flash-attn=={version}" if version else "flash-attn"))),
        SDPA_FIX,
    )


RULES = (FlashAttnImports, FlashAttnMatchesSdpa)
