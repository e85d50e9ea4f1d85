"""FLA75x-79x: the flash-attn smoke test. Does its compiled extension load, and does it compute right?

An import failure is named precisely: a Python-only install without the extension, an extension built
for another torch or C++ ABI ("undefined symbol"), or one built for another CUDA (a missing libcudart).
The fix installs a prebuilt wheel only where the matrix records that it was published (the same lookup as
FLA702 and `ftdoctor lock --with flash-attn`): the installed release's wheel for this torch, else the newest
release that published one for it, else a source build.
"""

from __future__ import annotations

import re

from ftdoctor.facts.model import SmokeResult, SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules import facts_view
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.flash_attn import published_release, reinstall_fix, source_build_fix, torch_key, wheel_platform
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

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
        if failed := broken(ctx, result, "importing flash-attn"):
            return Fail(failed.message, failed.evidence, fixes=_new_to(failed.fixes, reinstall_fixes(ctx)))
        attempt = result.details.get("import", {})
        if attempt.get("ok"):
            return Pass(f"flash-attn {result.details.get('version')} imports its extension", evidence(result))
        own = _import_failure(attempt, result)
        if own is not None:
            return Fail(own, evidence(result, error=attempt.get("error")), fixes=reinstall_fixes(ctx))
        cause = explained(ctx, attempt.get("error", ""))
        message = (f"flash-attn {result.details.get('version', '?')} does not import: "
                   f"{attempt.get('error_type', 'error')}: {attempt.get('error', '')}{cause.suffix}")
        return Fail(message, evidence(result, error=attempt.get("error"), **cause.evidence),
                    fixes=_new_to(cause.fixes, reinstall_fixes(ctx)))


def _new_to(first: tuple[Fix, ...], then: tuple[Fix, ...]) -> tuple[Fix, ...]:
    """`first` (explain's fixes for the cause), then those of `then` that install something `first` does not:
    explain and this family choose the same wheel, which is worth saying once."""
    given = {c for fix in first for c in fix.commands}
    return first + tuple(fix for fix in then if not fix.commands or not set(fix.commands) <= given)


def _import_failure(attempt: dict, result: SmokeResult) -> str | None:
    """What the import error itself shows, with the smoke's facts (versions); None for an error it does not
    recognise (then `ftdoctor explain` names the cause)."""
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
    return None


class FlashAttnMatchesSdpa(Rule):
    """flash-attn's forward pass matches torch's scaled_dot_product_attention on the GPU."""

    code = "FLA751"
    family = FAMILY
    smoke = "flash-attn"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, self.smoke)
        if isinstance(result, NotApplicable):
            return _without_gpu(ctx, result)
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
        cause = explained(ctx, error)
        return Fail(f"flash-attn's forward failed on {forward.get('device')}: {error}{cause.suffix}",
                    evidence(result, forward=forward, **cause.evidence), fixes=cause.fixes + (SDPA_FIX,))


def _without_gpu(ctx: Context, skipped: NotApplicable) -> NotApplicable:
    """The smoke's own reason ("not installed"), and, on a machine with no GPU, that the forward pass could
    not run here even once flash-attn is installed: FLA750 already says the first."""
    ran = ctx.facts.verify.smoke("flash-attn") if ctx.facts.verify.ran else None
    if ran is not None and ran.status == SmokeStatus.SKIPPED and not facts_view.physical_gpus(ctx.facts, ctx.matrix):
        return NotApplicable(f"no NVIDIA GPU here, and the forward pass needs one of compute capability 8.0+ ({skipped.reason})")
    return skipped


def wheel_fixes(ctx: Context) -> tuple[Fix, ...]:
    """The flash-attn install that fits this torch, from the wheels the matrix records as published: the
    installed release's wheel for this torch (FLA702's fix), else the newest release that published one whose
    code runs on these GPUs, and the source build of the installed release. Empty when torch's wheel key
    (CUDA, C++ ABI, Python) is unknown or the installed release is not in the matrix and none published one."""
    dist = ctx.facts.distribution("flash-attn")
    key, _ = torch_key(ctx)
    if dist is None or key is None:
        return ()
    platform = wheel_platform(ctx)
    installed = ctx.matrix.flash_attn.release(dist.version)
    release = published_release(ctx, key, platform, installed)
    fixes = (reinstall_fix(ctx, release, key, platform),) if release is not None else ()
    if release is not None and release is installed:
        return fixes
    return fixes + ((source_build_fix(ctx, installed.version),) if installed is not None else ())


def reinstall_fixes(ctx: Context) -> tuple[Fix, ...]:
    facts = ctx.facts
    dist = facts.distribution("flash-attn")
    version = dist.version if dist else ""
    if not facts.torch.cuda:
        return (Fix("flash-attn needs a CUDA build of torch; this torch has no CUDA, so remove flash-attn and use sdpa",
                    (ctx.pip("uninstall", "-y", "flash-attn"),)), SDPA_FIX)
    fitting = wheel_fixes(ctx) or (
        Fix("reinstall flash-attn so that its setup looks for a prebuilt wheel for this torch (ftdoctor's matrix "
            "cannot tell whether one was published); without one it compiles from source (needs nvcc, takes long)",
            (ctx.pip("uninstall", "-y", "flash-attn"),
             ctx.pip("install", "--no-build-isolation", "--no-cache-dir", f"flash-attn=={version}" if version else "flash-attn"))),
    )
    return (*fitting, SDPA_FIX)


RULES = (FlashAttnImports, FlashAttnMatchesSdpa)
