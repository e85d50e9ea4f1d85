"""TOR3xx: is torch installed, does it import, and is its build the right kind for this machine (CUDA on a GPU
machine, CPU-only without one), and does it see the GPUs?"""

from __future__ import annotations

import re

from ftdoctor.facts.model import Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import not_a_cuda_build, physical_gpus, torch_build, visible_gpus
from ftdoctor.rules.torch_choice import TORCH_INDEX, Choice, install_command, torch_install_fix

# What a failed `import torch` said -> what it means, and which fix applies: "system" (the cause is outside the
# environment; another rule says what to change), "numpy", or "reinstall". The first matching pattern wins.
IMPORT_FAILURES = (
    (r"GLIBC_[\d.]+' not found", "the system's C library is older than this torch wheel needs (see SYS501)", "system"),
    (r"GLIBCXX_[\d.]+' not found", "the libstdc++ loaded first is older than this torch needs (see SYS502)", "system"),
    (r"compiled using NumPy 1\.x cannot be run in\s+NumPy 2|_ARRAY_API not found",
     "this torch was built against NumPy 1.x and NumPy 2 is installed", "numpy"),
    (r"undefined symbol", "a library torch loaded comes from another build: a half-finished upgrade, or a CUDA "
                          "library picked up from LD_LIBRARY_PATH", "reinstall"),
    (r"lib[\w+-]+\.so[.\d]*: cannot open shared object file",
     "a shared library this torch build needs is missing (its nvidia-* wheels were removed or never installed)",
     "reinstall"),
)


class TorchInstalled(Rule):
    """torch is installed in the diagnosed interpreter and its build (version, CUDA) is known."""

    code = "TOR300"
    family = "torch"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        build = torch_build(ctx.facts, ctx.matrix)
        if build is not None:
            how = {Status.OK: "imported", Status.ERROR: "read from its metadata, as the import failed (TOR301)"}.get(
                ctx.facts.torch.status, "read from its metadata only (not imported)")
            return Pass(f"{build.label}, {how}", {"version": build.version, "cuda": build.cuda, "hip": build.hip})
        if ctx.facts.python.status != Status.OK and ctx.facts.torch.status != Status.ABSENT:
            return Unknown(f"the installed packages are unknown: {ctx.facts.python.reason}")
        fix = torch_install_fix(ctx, "Install the torch build this machine runs")
        return Fail(
            f"torch is not installed in {ctx.python}: nothing here can fine-tune a model",
            {"python": ctx.python},
            fixes=(fix,) if fix else (),
        )


class TorchImports(Rule):
    """`import torch` succeeds in the diagnosed interpreter (tried in a subprocess with a timeout)."""

    code = "TOR301"
    family = "torch"
    severity = Severity.ERROR
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        t = ctx.facts.torch
        if t.status == Status.OK:
            took = f" in {t.elapsed_s:.1f} s" if t.elapsed_s is not None else ""
            return Pass(f"torch {t.version} imported{took}; CUDA available: {'yes' if t.cuda_available else 'no'}")
        if t.status == Status.ABSENT:
            return NotApplicable("torch is not installed")
        if t.status == Status.UNKNOWN:
            if t.source == "metadata":
                return NotApplicable(t.reason or "torch was not imported")
            return Unknown(t.reason or "the torch probe gave no answer")
        return _import_failed(ctx)


def _import_failed(ctx: Context) -> Fail:
    t = ctx.facts.torch
    evidence = {"reason": t.reason, "returncode": t.returncode, "signal": t.signal, "elapsed_s": t.elapsed_s}
    meaning, kind = _meaning(t)
    build = torch_build(ctx.facts, ctx.matrix)
    fixes: list[Fix] = []
    if kind == "numpy":
        fixes.append(Fix("Install a NumPy 1.x next to this torch (or upgrade torch)", (ctx.pip("install", "numpy<2"),)))
    elif kind == "hang":
        fixes.append(Fix("Find where the import stops (a hanging driver call shows in nvidia-smi too)",
                         (f"{ctx.python} -X importtime -c 'import torch' 2>&1 | tail -5", "nvidia-smi")))
    if kind == "system":
        rule = re.search(r"\(see (\w+)\)", meaning)
        fixes.append(Fix(f"Reinstalling torch does not help: fix the system library ({rule.group(1) if rule else 'SYS5xx'} "
                         "in this report says how)"))
    elif build is not None:
        fixes.append(_reinstall_fix(ctx, build))
    return Fail(f"`import torch` failed: {meaning}. It said: {t.reason}", evidence, fixes=tuple(fixes))


def _meaning(t) -> tuple[str, str]:
    if t.signal:
        return f"the interpreter was killed by {t.signal} while importing torch (a crash inside a native library)", "crash"
    if t.returncode is None and "timed out" in (t.reason or ""):
        return "the import hung past the time limit", "hang"
    for pattern, meaning, kind in IMPORT_FAILURES:
        if re.search(pattern, t.reason or ""):
            return meaning, kind
    return "the import raised an error", "reinstall"


def _reinstall_fix(ctx: Context, build) -> Fix:
    base, _, suffix = build.version.partition("+")
    variant = build.release.variant(build.cuda) if build.release else None
    if variant is not None and (not suffix or suffix == variant.suffix):
        # the same build, named as every torch fix names one (the default index wheel carries no label)
        command = install_command(ctx, Choice(base, variant, build.release), reinstall=True)
    else:
        pin = f"torch=={base}+{suffix}" if suffix else f"torch=={base}"
        index = ("--index-url", f"{TORCH_INDEX}/{suffix}") if suffix else ()
        command = ctx.pip("install", "--force-reinstall", pin, *index)
    return Fix(f"Reinstall torch {base} and the libraries it pins", (command,))


def _has_nvidia_gpu(ctx: Context) -> bool:
    return bool(physical_gpus(ctx.facts, ctx.matrix) or ctx.facts.driver.pci_devices or ctx.facts.driver.dev_nodes)


class TorchBuildUsesGpu(Rule):
    """A machine with an NVIDIA GPU has a CUDA build of torch, not a CPU-only or ROCm one."""

    code = "TOR302"
    family = "torch"
    severity = Severity.ERROR
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        build = torch_build(ctx.facts, ctx.matrix)
        if build is None:
            return NotApplicable("torch is not installed")
        if not _has_nvidia_gpu(ctx):
            return NotApplicable("no NVIDIA GPU on this machine")
        if build.cuda:
            return Pass(f"{build.label} on a machine with an NVIDIA GPU")
        kind = "a ROCm (AMD) build" if build.hip else "a CPU-only build"
        fix = torch_install_fix(ctx, "Install a CUDA build of torch this driver and GPU run")
        return Fail(
            f"{build.label} is {kind}: it cannot use this machine's NVIDIA GPU(s); training would run on the CPU",
            {"torch": build.version, "gpus": [g.label for g in physical_gpus(ctx.facts, ctx.matrix)]},
            fixes=(fix,) if fix else (),
        )


class CudaTorchWithoutGpu(Rule):
    """A CUDA build of torch is not installed on a machine without any NVIDIA GPU.

    It works (on the CPU), but torch.cuda.is_available() is False, every .to("cuda") or device_map="cuda"
    fails, and the CUDA libraries it pulled (gigabytes) are never used.
    """

    code = "TOR303"
    family = "torch"
    severity = Severity.WARNING
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        build = torch_build(ctx.facts, ctx.matrix)
        if why := not_a_cuda_build(build):
            return NotApplicable(why)
        if _has_nvidia_gpu(ctx) or ctx.facts.driver.driver_version.value:
            return Pass(f"{build.label} on a machine with an NVIDIA GPU")
        if ctx.facts.driver.pci_status != Status.OK and ctx.facts.driver.nvml.status == Status.UNKNOWN:
            return Unknown("whether this machine has an NVIDIA GPU could not be read")
        fix = torch_install_fix(ctx, "Optional: the smaller CPU-only build")
        return Fail(
            f"{build.label} is a CUDA build, but this machine has no NVIDIA GPU: training runs on the CPU, "
            "torch.cuda.is_available() is False and any .to('cuda') or device_map='cuda' fails",
            {"torch": build.version, "driver": "none", "pci_devices": 0},
            fixes=(fix,) if fix else (),
        )


class TorchSeesGpus(Rule):
    """torch (imported) sees the GPUs the driver lists: torch.cuda.is_available() is True."""

    code = "TOR304"
    family = "torch"
    severity = Severity.ERROR
    requires = frozenset({"TOR301", "DRV103", "DRV104"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        t = ctx.facts.torch
        build = torch_build(ctx.facts, ctx.matrix)
        gpus = visible_gpus(ctx.facts, ctx.matrix)
        if build is None or not build.cuda or not gpus:
            return NotApplicable("no CUDA build of torch" if not (build and build.cuda) else "no visible GPU")
        if t.cuda_available:
            return Pass(f"torch sees {t.device_count} GPU(s): " + ", ".join(d.name for d in t.devices))
        said = "; ".join(w.splitlines()[0] for w in t.warnings) or "no warning"
        return Fail(
            f"torch.cuda.is_available() is False although the driver lists {len(gpus)} GPU(s); torch said: {said}",
            {"torch_warnings": list(t.warnings), "loaded_libraries": list(t.loaded_libraries)},
            fixes=(Fix("Check that the CUDA driver library torch loads is the system's (ldconfig) and that this "
                       "process may open the GPU", ("ldconfig -p | grep libcuda.so", "ls -l /dev/nvidia*")),),
        )


RULES = (TorchInstalled, TorchImports, TorchBuildUsesGpu, CudaTorchWithoutGpu, TorchSeesGpus)
