"""The values templates may use, from this environment's facts, the compatibility matrix, and the log.

From facts (when given): python, pip, python_version, python_mm, py_tag, torch_version, torch_release,
torch_mm, torch_cuda, torch_cuda_major, torch_cxx11abi (TRUE/FALSE), driver_version, driver_cuda,
gpu_name, gpu_cc, nvcc_version, cuda_home, glibc_version, glibcxx_max, shm_size, memory_total,
versions[<distribution>], env[<variable>].

Every torch build below is chosen and written by the rules' own code (`ftdoctor.rules.torch_choice`), so that
`explain`, `check` and `fix` name the same build with the same command: `<python> -m pip install
torch==X+cuYYY [torchvision ...] --index-url <PyTorch's cuYYY index>`. Each comes as `<name>_build` (the label,
"torch 2.9.1+cu128") and `<name>_install` (the command).
From facts and the matrix: torch (the build this driver and these GPUs run, nearest the installed release),
min_driver_for_torch (the floor of torch's CUDA major), torch_reinstall (the installed build again, with its
companions, from its own index).
From the log's specifics and the matrix: log_driver (for the driver CUDA the log names; with
log_driver_compat_floor when only minor-version compatibility makes it run), arch (a build carrying the log's
GPU architecture; arch_min_driver is its driver floor) and, with a known driver, arch_driver; toolkit (a build of
the log's toolkit CUDA); torch_index_log (PyTorch's index for the log's torch CUDA); arch_min_toolkit (the
first nvcc that targets the log's architecture) and min_transformers (the first transformers that knows the log's
model type), both from the matrix.
From facts, the matrix and the log, the flash-attn that fits the installed torch, chosen by the flash-attn rules'
own code (`ftdoctor.rules.flash_attn`, as FLA702/FLA750 choose it): flash_attn_torch (the key it is chosen
for: torch, CUDA, C++ ABI, Python); when the matrix records a published wheel for it, flash_attn_wheel (its file
name), flash_attn_wheel_version and flash_attn_wheel_install (the command); when none was published,
flash_attn_build_version, flash_attn_build_deps, flash_attn_build_install and flash_attn_build_needs (the source
build); when not even that can compile against this torch, flash_attn_unbuildable (why). The release the log
asked for (fa_requested) or the installed one is preferred.
Without facts, pip is "python -m pip" and python is "python".
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from typing import Any

from packaging.version import InvalidVersion, Version

from ftdoctor.explain.convert import cc_from_arch, human_bytes
from ftdoctor.facts.model import Facts
from ftdoctor.matrix.model import Matrix, cc_tuple
from ftdoctor.rules.base import Context
from ftdoctor.rules.facts_view import torch_build, windows_driver
from ftdoctor.rules.flash_attn import (
    buildable_release, published_release, reinstall_fix, source_build_fix, source_build_needs, torch_key, wheel_platform,
)
from ftdoctor.rules.torch_choice import (
    COMPANIONS, Choice, MachineNeeds, choose, driver_floor, install_command, install_fix, integrated_ccs, machine_choice,
    machine_needs,
)

DEFAULTS = {"python": "python", "pip": "python -m pip"}
FACTS_VARS = frozenset({
    "python", "pip", "python_version", "python_mm", "py_tag", "torch_version", "torch_release", "torch_mm",
    "torch_cuda", "torch_cuda_major", "torch_cxx11abi", "driver_version", "driver_cuda", "gpu_name", "gpu_cc",
    "nvcc_version", "cuda_home", "glibc_version", "glibcxx_max", "shm_size", "memory_total", "versions", "env",
    "torch_build", "torch_install", "min_driver_for_torch", "torch_reinstall",
})
LOG_VARS = frozenset({
    "log_driver_build", "log_driver_install", "log_driver_compat_floor", "arch_build", "arch_install",
    "arch_min_driver", "arch_driver_build", "arch_driver_install", "toolkit_build", "toolkit_install",
    "torch_index_log", "arch_min_toolkit", "min_transformers",
    "flash_attn_torch", "flash_attn_wheel", "flash_attn_wheel_version", "flash_attn_wheel_install",
    "flash_attn_build_version", "flash_attn_build_deps", "flash_attn_build_install", "flash_attn_build_needs",
    "flash_attn_unbuildable",
})


def _v(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def facts_values(facts: Facts | None, matrix: Matrix | None) -> dict[str, Any]:
    if facts is None:
        return dict(DEFAULTS)
    values: dict[str, Any] = dict(DEFAULTS)
    values.update(_python_values(facts))
    values.update(_torch_values(facts, matrix))
    values.update(_machine_values(facts))
    if matrix is not None:
        values.update(_matrix_values(facts, matrix, values))
    return {k: v for k, v in values.items() if v not in (None, "")}


def _python_values(facts: Facts) -> dict[str, Any]:
    py = facts.python
    values: dict[str, Any] = {"versions": {d.name: d.version for d in py.distributions}, "env": dict(facts.env)}
    if py.executable:
        values["python"] = py.executable
        values["pip"] = f"{shlex.quote(py.executable)} -m pip"
    version = _v(py.version)
    if version:
        values.update(python_version=py.version, python_mm=f"{version.major}.{version.minor}",
                      py_tag=f"cp{version.major}{version.minor}")
    return values


def _torch_values(facts: Facts, matrix: Matrix | None) -> dict[str, Any]:
    torch = facts.torch
    version = _v(torch.version)
    if version is None:
        return {}
    values: dict[str, Any] = {"torch_version": torch.version, "torch_release": version.base_version,
                              "torch_mm": f"{version.major}.{version.minor}"}
    cuda = _v(torch.cuda)
    if cuda:
        values.update(torch_cuda=torch.cuda, torch_cuda_major=str(cuda.major))
    abi = torch.cxx11_abi
    release = matrix.torch.release_for(torch.version) if matrix else None
    if abi is None and release is not None:
        abi = release.cxx11_abi  # the default Linux wheel's ABI, when torch was not imported
    if abi is not None:
        values["torch_cxx11abi"] = "TRUE" if abi else "FALSE"
    return values


def _machine_values(facts: Facts) -> dict[str, Any]:
    driver, system, toolkit = facts.driver, facts.system, facts.toolkit
    values: dict[str, Any] = {
        "driver_version": driver.driver_version.value,
        "driver_cuda": driver.cuda_driver_version.value,
        "nvcc_version": toolkit.nvcc_version,
        "cuda_home": toolkit.cuda_home.value,
        "glibc_version": system.glibc_version,
        "glibcxx_max": system.glibcxx_max,
        "shm_size": human_bytes(str(system.shm_bytes)) if system.shm_bytes else None,
        "memory_total": human_bytes(str(system.memory_total_bytes)) if system.memory_total_bytes else None,
    }
    gpu = _lowest_gpu(facts)
    if gpu is not None:
        values.update(gpu_name=gpu.name, gpu_cc=gpu.compute_capability)
    return values


def _lowest_gpu(facts: Facts):
    gpus = [g for g in facts.driver.gpus if g.compute_capability]
    return min(gpus, key=lambda g: cc_tuple(g.compute_capability)) if gpus else None  # type: ignore[arg-type]


def _matrix_values(facts: Facts, matrix: Matrix, values: dict[str, Any]) -> dict[str, Any]:
    """The torch build `ftdoctor check` would tell this machine to install, written as its rules write it."""
    ctx = Context(facts=facts, matrix=matrix)
    choice = machine_choice(ctx)
    # every log that asks for another torch asks for a CUDA one: a machine that only fits the CPU build (no GPU in
    # its facts) gets the signature's other fixes
    out: dict[str, Any] = _install_values("torch", ctx, choice if choice and choice.variant.cuda != "cpu" else None)
    cuda = values.get("torch_cuda")
    out["min_driver_for_torch"] = driver_floor(matrix, cuda, windows_driver(facts)) if cuda else None
    installed = _installed_choice(facts, matrix)
    if installed is not None:
        out["torch_reinstall"] = install_command(ctx, installed, _companions(facts), reinstall=True)
    return out


def log_values(specifics: dict[str, str], facts: Facts | None, matrix: Matrix | None) -> dict[str, Any]:
    """Torch builds chosen, by the rules' `choose`, for what the log says (the driver's CUDA, a GPU architecture,
    a toolkit), on this machine as far as its facts go."""
    if matrix is None:
        return {}
    ctx = Context(facts=facts or Facts(), matrix=matrix)
    base = machine_needs(facts, matrix) if facts is not None else MachineNeeds(gpu=True, integrated=integrated_ccs(matrix))
    installed = torch_build(facts, matrix) if facts is not None else None
    near = installed.version if installed else None  # as the rules choose: nearest the installed release
    out: dict[str, Any] = {}
    if (driver_cuda := _v(specifics.get("driver_cuda_log"))) is not None:
        choice = choose(matrix, replace(base, gpu=True, driver=None, driver_cuda=driver_cuda), near=near)
        out.update(_install_values("log_driver", ctx, choice))
        if choice is not None and Version(choice.variant.cuda) > driver_cuda:
            out["log_driver_compat_floor"] = driver_floor(matrix, choice.variant.cuda, False)
    cc = specifics.get("arch_cc") or (cc_from_arch(specifics["arch"]) if specifics.get("arch") else None)
    if cc:
        out.update(_arch_values(ctx, base, cc, near, facts is not None and base.driver is not None))
    if specifics.get("toolkit_cuda") and _v(specifics["toolkit_cuda"]) is not None:
        toolkit = choose(matrix, replace(base, gpu=True), cuda=specifics["toolkit_cuda"], near=near)
        out.update(_install_values("toolkit", ctx, toolkit))
    if specifics.get("torch_cuda_log") and (index := _index_for(matrix, specifics["torch_cuda_log"])):
        out["torch_index_log"] = index
    out.update(_first_release_values(specifics, matrix))
    if facts is not None:
        out.update(_flash_attn_values(ctx, specifics.get("fa_requested")))
    return out


def _flash_attn_values(ctx: Context, requested: str | None) -> dict[str, Any]:
    """The flash-attn install for the installed torch: the published wheel the matrix records, else a source
    build, else why neither fits. Nothing when torch's wheel key (CUDA, C++ ABI, Python) is unknown."""
    key, _ = torch_key(ctx)
    if key is None:
        return {}
    fa = ctx.matrix.flash_attn
    dist = ctx.facts.distribution("flash-attn")
    wanted_version = requested or (dist.version if dist else None)
    wanted = fa.release(wanted_version) if wanted_version else None
    torch_version, cuda, abi, python = key
    out: dict[str, Any] = {"flash_attn_torch": f"torch {torch_version} (CUDA {cuda}, cxx11abi {str(abi).upper()}) on Python {python}"}
    platform = wheel_platform(ctx)
    release = published_release(ctx, key, platform, wanted)
    if release is not None:
        return {**out, "flash_attn_wheel": release.wheel_filename(*key, platform), "flash_attn_wheel_version": release.version,
                "flash_attn_wheel_install": reinstall_fix(ctx, release, key, platform).commands[0]}
    build = buildable_release(ctx, key, wanted)
    if build is None:
        row = ctx.matrix.torch.release_for(torch_version)
        need = f"C++{row.cxx_std}" if row is not None else "a newer C++ standard"
        return {**out, "flash_attn_unbuildable": f"torch {torch_version}'s headers need {need}, which no flash-attn "
                                                 "release's setup.py compiles with"}
    deps, install = source_build_fix(ctx, build.version).commands
    return {**out, "flash_attn_build_version": build.version, "flash_attn_build_deps": deps,
            "flash_attn_build_install": install, "flash_attn_build_needs": source_build_needs(ctx)}


def _first_release_values(specifics: dict[str, str], matrix: Matrix) -> dict[str, Any]:
    """Version floors the log's specifics look up in the matrix: the first nvcc for an architecture, the first
    transformers for a model type."""
    out: dict[str, Any] = {}
    if specifics.get("arch"):
        out["arch_min_toolkit"] = matrix.cuda.first_nvcc_for(specifics["arch"])
    if specifics.get("model_type") and matrix.trainer_api is not None:
        out["min_transformers"] = matrix.trainer_api.first_release_knowing(specifics["model_type"])
    return {k: v for k, v in out.items() if v}


def _arch_values(ctx: Context, base: MachineNeeds, cc: str, near: str | None, have_driver: bool) -> dict[str, Any]:
    """A build carrying the log's GPU architecture: for any driver, and for this machine's driver when known."""
    matrix = ctx.matrix
    ccs = tuple(sorted({*base.ccs, cc_tuple(cc)}))
    anywhere = choose(matrix, replace(base, gpu=True, ccs=ccs, driver=None, driver_cuda=None), near=near)
    out = _install_values("arch", ctx, anywhere)
    if anywhere is not None:
        out["arch_min_driver"] = driver_floor(matrix, anywhere.variant.cuda, False)
    if have_driver:
        out.update(_install_values("arch_driver", ctx, choose(matrix, replace(base, gpu=True, ccs=ccs), near=near)))
    return out


def _install_values(prefix: str, ctx: Context, choice: Choice | None) -> dict[str, Any]:
    """`{prefix}_build` ("torch 2.9.1+cu128") and `{prefix}_install` (the command `ftdoctor check` gives)."""
    if choice is None:
        return {}
    return {f"{prefix}_build": choice.label, f"{prefix}_install": install_fix(ctx, choice, "").commands[0]}


def _installed_choice(facts: Facts, matrix: Matrix) -> Choice | None:
    """The installed torch as a build of the matrix (to reinstall it, with its companions, from its own index)."""
    build = torch_build(facts, matrix)
    if build is None or build.release is None or build.hip:
        return None
    variant = build.release.variant(build.cuda)
    return Choice(Version(build.version).base_version, variant, build.release) if variant else None


def _companions(facts: Facts) -> list[str]:
    return [name for name in COMPANIONS if facts.distribution(name)] or ["torchvision"]


def _index_for(matrix: Matrix, cuda: str) -> str | None:
    """PyTorch's index for a CUDA variant torch has shipped (cu124), as the rules' fixes name it."""
    wanted = _v(cuda)
    for release in matrix.torch.releases:
        for variant in release.variants:
            if wanted and variant.cuda != "cpu" and Version(variant.cuda).release[:2] == wanted.release[:2]:
                return Choice("", variant, release).index_url
    return None
