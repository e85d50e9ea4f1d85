"""BNB85x-89x: the bitsandbytes smoke test. Which native library did it load, did it fall back to its
error-handler stand-in, does its own sanity check pass, does a 4-bit NF4 layer with LoRA train?"""

from __future__ import annotations

import re
from pathlib import PurePath

from ftdoctor.facts.model import SmokeResult
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

FAMILY = "verify-bitsandbytes"
SMOKE = "bitsandbytes-4bit"


def _import_failed(ctx: Context, result: SmokeResult) -> Fail:
    cause = explained(ctx, result.reason + "\n" + result.output_tail)
    return Fail(f"bitsandbytes {result.details.get('version', '')} does not import: {result.reason}{cause.suffix}",
                evidence(result, **cause.evidence), fixes=cause.fixes)


class BnbNativeLibrary(Rule):
    """bitsandbytes loads the native library that fits torch's CUDA (not its error-handler stand-in)."""

    code = "BNB850"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, SMOKE)
        if isinstance(result, NotApplicable):
            return result
        if "library" not in result.details:  # it crashed, hung or failed before bitsandbytes had loaded
            return broken(ctx, result, "the bitsandbytes smoke test") or _import_failed(ctx, result)
        details, lib = result.details, result.details["library"]
        if lib.get("fallback"):
            return _fallback(ctx, result)
        override = details.get("bnb_cuda_version_env")
        torch_cuda = details.get("torch_cuda")
        name = PurePath(lib.get("path") or "?").name
        if override and torch_cuda and override != torch_cuda.replace(".", ""):
            return Fail(f"BNB_CUDA_VERSION={override} makes bitsandbytes load {name} while torch uses CUDA {torch_cuda}",
                        evidence(result, library=lib),
                        fixes=(Fix("unset BNB_CUDA_VERSION unless you know that build fits", ("unset BNB_CUDA_VERSION",)),),
                        severity=Severity.WARNING)
        return Pass(f"bitsandbytes {details.get('version')} loaded {name} ({lib.get('backend')}) for torch "
                    f"{details.get('torch')}{_cuda_note(name, torch_cuda)}", evidence(result, library=lib))


def _fallback(ctx: Context, result: SmokeResult) -> Fail:
    lib = result.details["library"]
    error = lib.get("fallback_error") or "no reason given"
    on_gpu = lib.get("backend") not in (None, "CPU")
    fixes = [Fix("reinstall bitsandbytes so that it ships a build for torch's CUDA",
                 (ctx.pip("install", "--force-reinstall", "--no-deps", f"bitsandbytes=={result.details.get('version')}"),))]
    if result.details.get("bnb_cuda_version_env"):
        fixes.insert(0, Fix("BNB_CUDA_VERSION is set: unset it so bitsandbytes picks the build for torch's CUDA",
                            ("unset BNB_CUDA_VERSION",)))
    what = "every GPU operation will raise" if on_gpu else "only its pure-torch CPU paths are left"
    return Fail(f"bitsandbytes fell back to its error-handler stand-in ({lib.get('backend')} backend): {what}; "
                f"load error: {error[:300]}", evidence(result, library=lib), fixes=tuple(fixes),
                severity=Severity.ERROR if on_gpu else Severity.WARNING)


def _cuda_note(library: str, torch_cuda: str | None) -> str:
    found = re.search(r"cuda(\d+)(\d)\.", library)
    if not found or not torch_cuda:
        return ""
    built = f"{found[1]}.{found[2]}"
    same = built == torch_cuda
    return f" (CUDA {torch_cuda}" + ("" if same else f"; nearest packaged build: CUDA {built}") + ")"


class BnbSanityCheck(Rule):
    """bitsandbytes' own sanity check (an Adam step) passes."""

    code = "BNB851"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        return _stage(ctx, "sanity", "bitsandbytes' sanity check")


class Bnb4bitLora(Rule):
    """A 4-bit NF4 layer with a LoRA adapter does forward, backward and an 8-bit optimizer step."""

    code = "BNB852"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        return _stage(ctx, "nf4_lora", "the 4-bit NF4 + LoRA step")


def _stage(ctx: Context, key: str, what: str) -> Pass | Fail | NotApplicable:
    result = fetch(ctx, SMOKE)
    if isinstance(result, NotApplicable):
        return result
    if "library" not in result.details:
        return NotApplicable("the bitsandbytes smoke test ended before this step (BNB850 says why)")
    stage = result.details.get(key)
    device = result.details.get("device", "?")
    if stage is None:
        return broken(ctx, result, f"{what} on {device}") or NotApplicable(f"{what} was not reached: {result.reason}")
    if stage.get("ok"):
        extra = f", kernel vs dequantized error {stage['kernel_relative_error']:.2g}" if "kernel_relative_error" in stage else ""
        return Pass(f"{what} passes on {device} ({stage.get('how') or stage.get('dtype')}{extra})", evidence(result, **{key: stage}))
    cause = explained(ctx, stage.get("error", ""))
    if device == "cpu" and stage.get("error_type") in ("NotImplementedError", "RuntimeError"):
        return Fail(f"{what} does not run on the CPU with bitsandbytes {result.details.get('version')}: "
                    f"{stage.get('error_type')}: {stage.get('error')}; on a GPU machine it may",
                    evidence(result, **{key: stage}), severity=Severity.WARNING)
    return Fail(f"{what} fails on {device}: {stage.get('error_type')}: {stage.get('error')}{cause.suffix}",
                evidence(result, **{key: stage}, **cause.evidence), fixes=cause.fixes)


RULES = (BnbNativeLibrary, BnbSanityCheck, Bnb4bitLora)
