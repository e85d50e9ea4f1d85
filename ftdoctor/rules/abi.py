"""ABI1xx: compiled extensions against this torch and this system, judged from their ELF files alone.

Predicts, before anything is imported: "undefined symbol" (an extension built for another torch or C++
ABI), "lib...so: cannot open shared object file" (built for another CUDA, or for a CUDA torch when this one
is CPU-only), and "GLIBC_2.xx / GLIBCXX_3.4.xx not found" (built on a newer system).
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import ExtensionAbi, Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown

FAMILY = "abi"
SHOWN = 4  # extensions named in one message
CUDA_LIBRARY = re.compile(r"^lib(cudart|cublas|cublasLt|cufft|curand|cusparse|cusolver|cudnn|nccl|nvrtc|nvJitLink)\.so\.(\d+)")
TORCH_LIBRARY = re.compile(r"^lib(c10|torch)[\w]*\.so")


def _scan(ctx: Context, *, primary: bool = False) -> NotApplicable | Unknown | None:
    """None when the scan ran; else Unknown from ABI100 and NotApplicable from the others (one warning, not five)."""
    abi = ctx.facts.abi
    if abi.status == Status.OK:
        return None
    if not abi.reason:  # never scanned: a snapshot from before the ABI scan, or one built by hand
        return NotApplicable("this snapshot has no scan of compiled extensions")
    if primary:
        return Unknown(abi.reason or "compiled extensions were not scanned")
    return NotApplicable("compiled extensions were not scanned (ABI100 says why)")


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _short(ext: ExtensionAbi) -> str:
    marker = "site-packages/"
    return ext.path.split(marker, 1)[1] if marker in ext.path else ext.path


def _rebuild_fix(ctx: Context, packages: set[str]) -> Fix:
    commands = tuple(ctx.pip("install", "--force-reinstall", "--no-deps", "--no-cache-dir", p.replace("_", "-"))
                     for p in sorted(packages) if p != "torch_extensions")
    if "torch_extensions" in packages:
        commands += ("rm -rf ~/.cache/torch_extensions   # or $TORCH_EXTENSIONS_DIR: stale JIT builds, rebuilt at next use",)
    return Fix("reinstall (or rebuild) these against the installed torch", commands)


class TorchSymbols(Rule):
    """Compiled extensions find every torch symbol they need in this torch."""

    code = "ABI100"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if (not_scanned := _scan(ctx, primary=True)) is not None:
            return not_scanned
        abi = ctx.facts.abi
        linking = [e for e in abi.extensions if e.links_torch]
        if not abi.torch_lib_dir:
            return NotApplicable(abi.reason or "torch is not installed")
        if not linking:
            return NotApplicable(f"no installed extension links torch ({abi.scanned} shared objects scanned)")
        bad = [e for e in linking if e.missing_torch_symbol_count]
        if not bad:
            return Pass(f"{len(linking)} extension(s) linking torch find all their torch symbols", {"extensions": [_short(e) for e in linking]})
        return Fail(_missing_message(ctx, bad), {"extensions": {_short(e): list(e.missing_torch_symbols) for e in bad}},
                    fixes=(_rebuild_fix(ctx, {e.package for e in bad}),))


def _missing_message(ctx: Context, bad: list[ExtensionAbi]) -> str:
    first = bad[0]
    abi_flip = any(e.abi_flip_count for e in bad)
    why = ("built with the other C++ string ABI (cxx11abi " + ("FALSE" if ctx.facts.torch.cxx11_abi else "TRUE") + ")"
           if abi_flip else "built against another torch version")
    return (f"{_names([_short(e) for e in bad])}: {sum(e.missing_torch_symbol_count for e in bad)} torch symbol(s) this torch "
            f"({ctx.facts.torch.version or '?'}) does not export, e.g. {first.missing_torch_symbols[0]}: {why}; "
            "importing fails with 'undefined symbol'")


class GlibcNeeds(Rule):
    """Compiled extensions need no newer C library (GLIBC) than this system has."""

    code = "ABI101"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        return _version_rule(ctx, "glibc_needed", ctx.facts.system.glibc_version, "GLIBC", "glibc")


class GlibcxxNeeds(Rule):
    """Compiled extensions need no newer libstdc++ (GLIBCXX) than the one in use."""

    code = "ABI102"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        where = ctx.facts.system.libstdcxx_path or "the system's libstdc++"
        return _version_rule(ctx, "glibcxx_needed", ctx.facts.system.glibcxx_max, "GLIBCXX", where)


def _version_rule(ctx: Context, field: str, have: str | None, label: str, what: str) -> Pass | Fail | NotApplicable | Unknown:
    if (not_scanned := _scan(ctx)) is not None:
        return not_scanned
    needing = [e for e in ctx.facts.abi.extensions if getattr(e, field)]
    if not needing:
        return NotApplicable(f"no scanned extension declares {label} symbol versions")
    if have is None:
        return Unknown(f"{what}'s version is unknown, so {label} needs cannot be judged")
    try:
        have_v = Version(have)
        bad = [e for e in needing if Version(getattr(e, field)) > have_v]
    except InvalidVersion as exc:
        return Unknown(f"cannot compare {label} versions: {exc}")
    if not bad:
        top = max(needing, key=lambda e: Version(getattr(e, field)))
        return Pass(f"{len(needing)} extension(s) need at most {label}_{getattr(top, field)}; {what} has {have}")
    worst = max(bad, key=lambda e: Version(getattr(e, field)))
    return Fail(f"{_names([f'{_short(e)} ({label}_{getattr(e, field)})' for e in bad])} need(s) a newer {label} than "
                f"{what} has ({have}): importing fails with \"version `{label}_{getattr(worst, field)}' not found\"",
                {"have": have, "needed": {_short(e): getattr(e, field) for e in bad}},
                fixes=(Fix(f"install a build of {_names(sorted({e.package for e in bad}))} made for this system "
                           f"(or run on a system with {label} {getattr(worst, field)} or newer)"),))


class LinkedLibraries(Rule):
    """Compiled extensions find the torch and CUDA libraries they link against."""

    code = "ABI103"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if (not_scanned := _scan(ctx)) is not None:
            return not_scanned
        judged = [e for e in ctx.facts.abi.extensions if not e.runtime_selected and not e.error]
        if not judged:
            return NotApplicable("no extension to judge")
        problems = {_short(e): [n.name for n in e.needed if n.path is None] for e in judged}
        problems = {k: v for k, v in problems.items() if v}
        if not problems:
            return Pass(f"{len(judged)} extension(s) find every library they link against")
        return Fail(_library_message(ctx, problems), {"missing": problems},
                    fixes=(_rebuild_fix(ctx, {e.package for e in judged if _short(e) in problems}),))


def _library_message(ctx: Context, problems: dict[str, list[str]]) -> str:
    torch_cuda = ctx.facts.torch.cuda
    parts = []
    for path, names in list(problems.items())[:SHOWN]:
        reasons = [_why_missing(name, torch_cuda) for name in names]
        parts.append(f"{path} needs {', '.join(reasons)}")
    more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
    return "; ".join(parts) + more + ": importing fails with 'cannot open shared object file'"


def _why_missing(name: str, torch_cuda: str | None) -> str:
    cuda = CUDA_LIBRARY.match(name)
    if cuda:
        have = f"torch uses CUDA {torch_cuda}" if torch_cuda else "this torch is CPU-only"
        return f"{name} (built for CUDA {cuda[2]}; {have})"
    if TORCH_LIBRARY.match(name):
        return f"{name} (a library this torch does not ship{': it is CPU-only' if not torch_cuda and 'cuda' in name else ''})"
    return f"{name} (not found)"


class ExtensionsReadable(Rule):
    """The ELF files of known compiled extensions can be read."""

    code = "ABI104"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if (not_scanned := _scan(ctx)) is not None:
            return not_scanned
        broken = [e for e in ctx.facts.abi.extensions if e.error]
        if not broken:
            return Pass(f"{ctx.facts.abi.scanned} shared objects read in {ctx.facts.abi.elapsed_s} s")
        return Fail(f"{_names([f'{_short(e)} ({e.error})' for e in broken])}: unreadable, so importing them will fail too",
                    {"unreadable": {_short(e): e.error for e in broken}}, fixes=(_rebuild_fix(ctx, {e.package for e in broken}),))


RULES = (TorchSymbols, GlibcNeeds, GlibcxxNeeds, LinkedLibraries, ExtensionsReadable)
