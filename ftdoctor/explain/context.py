"""The values templates may use, from this environment's facts, the compatibility matrix, and the log.

From facts (when given): python, pip, python_version, python_mm, py_tag, torch_version, torch_release,
torch_mm, torch_cuda, torch_cuda_major, torch_cxx11abi (TRUE/FALSE), driver_version, driver_cuda,
gpu_name, gpu_cc, nvcc_version, cuda_home, glibc_version, glibcxx_max, shm_size, memory_total,
versions[<distribution>], env[<variable>].
From facts and the matrix: backend_for_driver (the newest CUDA variant of the installed torch release this
driver runs), min_driver_for_torch, backend_for_gpu and gpu_torch (the torch build carrying this GPU's
architecture that the driver runs).
From the log's specifics and the matrix: log_driver_backend/log_driver_torch (from driver_cuda_log; with
log_driver_compat_floor when only CUDA minor-version compatibility makes it run),
arch_backend/arch_torch (from arch or arch_cc; the lowest CUDA carrying it), arch_min_driver, and with a
known driver arch_driver_torch/arch_driver_backend; toolkit_backend/toolkit_torch (from toolkit_cuda).
Without facts, pip is "python -m pip" and python is "python".
"""

from __future__ import annotations

import shlex
from typing import Any

from packaging.version import InvalidVersion, Version

from ftdoctor.explain.convert import cc_from_arch, human_bytes
from ftdoctor.facts.model import Facts
from ftdoctor.matrix.model import CudaMatrix, Matrix, TorchRelease, TorchVariant, cc_tuple

DEFAULTS = {"python": "python", "pip": "python -m pip"}
FACTS_VARS = frozenset({
    "python", "pip", "python_version", "python_mm", "py_tag", "torch_version", "torch_release", "torch_mm",
    "torch_cuda", "torch_cuda_major", "torch_cxx11abi", "driver_version", "driver_cuda", "gpu_name", "gpu_cc",
    "nvcc_version", "cuda_home", "glibc_version", "glibcxx_max", "shm_size", "memory_total", "versions", "env",
    "backend_for_driver", "min_driver_for_torch", "gpu_torch", "backend_for_gpu",
})
LOG_VARS = frozenset({
    "log_driver_torch", "log_driver_backend", "log_driver_compat_floor", "arch_torch", "arch_backend", "arch_min_driver",
    "arch_driver_torch", "arch_driver_backend", "toolkit_torch", "toolkit_backend",
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
    out: dict[str, Any] = {}
    driver = values.get("driver_version")
    release = matrix.torch.release_for(facts.torch.version) if facts.torch.version else None
    if release is not None and driver:
        variant = pick_for_driver(matrix.cuda, release, driver)
        out["backend_for_driver"] = variant.suffix if variant else None
    cuda = values.get("torch_cuda")
    major = matrix.cuda.major(cuda) if cuda else None
    out["min_driver_for_torch"] = major.min_driver_linux if major else None
    if values.get("gpu_cc"):
        picked = pick_for_cc(matrix, values["gpu_cc"], driver)
        if picked:
            out["gpu_torch"], out["backend_for_gpu"] = str(picked[0].newest), picked[1].suffix
    return out


def log_values(specifics: dict[str, str], facts_vals: dict[str, Any], matrix: Matrix | None) -> dict[str, Any]:
    """Values computed from what the log says, with the matrix (and the driver, when facts know it)."""
    if matrix is None:
        return {}
    out: dict[str, Any] = {}
    if specifics.get("driver_cuda_log"):
        picked = pick_for_driver_cuda(matrix, specifics["driver_cuda_log"])
        if picked:
            out["log_driver_torch"], out["log_driver_backend"] = str(picked[0].newest), picked[1].suffix
            floor = matrix.cuda.major(picked[1].cuda)
            out["log_driver_compat_floor"] = floor.min_driver_linux if picked[2] and floor else None
    cc = specifics.get("arch_cc") or (cc_from_arch(specifics["arch"]) if specifics.get("arch") else None)
    if cc:
        picked = pick_for_cc(matrix, cc, None)
        if picked:
            out["arch_torch"], out["arch_backend"] = str(picked[0].newest), picked[1].suffix
            floor = matrix.cuda.major(picked[1].cuda)
            out["arch_min_driver"] = floor.min_driver_linux if floor else None
        driver = facts_vals.get("driver_version")
        with_driver = pick_for_cc(matrix, cc, driver) if driver else None
        if with_driver:
            out["arch_driver_torch"], out["arch_driver_backend"] = str(with_driver[0].newest), with_driver[1].suffix
    if specifics.get("toolkit_cuda"):
        picked = pick_for_cuda(matrix, specifics["toolkit_cuda"])
        if picked:
            out["toolkit_torch"], out["toolkit_backend"] = str(picked[0].newest), picked[1].suffix
    return out


# --- choosing a torch build from the matrix -------------------------------------------------------------

def runs_on(variant: TorchVariant, cc: str) -> bool:
    """A cubin for X.Y runs on X.Z with Z >= Y; embedded PTX for X.Y runs on any newer GPU."""
    want = cc_tuple(cc)
    sass = any(cc_tuple(a)[0] == want[0] and cc_tuple(a)[1] <= want[1] for a in variant.archs)
    return sass or any(cc_tuple(p) <= want for p in variant.ptx)


def driver_runs(cuda: CudaMatrix, variant: TorchVariant, driver: str) -> bool:
    """Minor-version compatibility: a CUDA X.y binary runs on any driver at or above major X's floor."""
    major = cuda.major(variant.cuda)
    have = _v(driver)
    return bool(major and have and have >= Version(major.min_driver_linux))


def _gpu_variants(release: TorchRelease) -> list[TorchVariant]:
    return [v for v in release.variants if v.cuda != "cpu"]


def _newest_first(matrix: Matrix) -> list[TorchRelease]:
    return sorted(matrix.torch.releases, key=lambda r: r.newest, reverse=True)


def pick_for_driver(cuda: CudaMatrix, release: TorchRelease, driver: str) -> TorchVariant | None:
    fitting = [v for v in _gpu_variants(release) if driver_runs(cuda, v, driver)]
    return max(fitting, key=lambda v: Version(v.cuda), default=None)


def pick_for_cc(matrix: Matrix, cc: str, driver: str | None) -> tuple[TorchRelease, TorchVariant] | None:
    """The newest release with a build carrying this architecture: with a driver, its newest CUDA the driver
    runs; without one, the lowest CUDA that carries it (the widest driver range)."""
    for release in _newest_first(matrix):
        fitting = [v for v in _gpu_variants(release) if runs_on(v, cc)]
        if driver:
            fitting = [v for v in fitting if driver_runs(matrix.cuda, v, driver)]
            best = max(fitting, key=lambda v: Version(v.cuda), default=None)
        else:
            best = min(fitting, key=lambda v: Version(v.cuda), default=None)
        if best is not None:
            return release, best
    return None


def pick_for_driver_cuda(matrix: Matrix, driver_cuda: str) -> tuple[TorchRelease, TorchVariant, bool] | None:
    """The newest build a driver supporting CUDA `driver_cuda` runs: the newest release with a build of the
    same or an older CUDA major, its highest such CUDA. True when that CUDA is above the driver's, which
    then relies on minor-version compatibility (the driver must be at or above that major's floor)."""
    limit = _v(driver_cuda)
    if limit is None:
        return None
    for release in _newest_first(matrix):
        fitting = [v for v in _gpu_variants(release) if Version(v.cuda).major <= limit.major]
        best = max(fitting, key=lambda v: Version(v.cuda), default=None)
        if best is not None:
            return release, best, Version(best.cuda) > limit
    return None


def pick_for_cuda(matrix: Matrix, cuda: str) -> tuple[TorchRelease, TorchVariant] | None:
    wanted = _v(cuda)
    if wanted is None:
        return None
    for release in _newest_first(matrix):
        for variant in _gpu_variants(release):
            if Version(variant.cuda).release[:2] == wanted.release[:2]:
                return release, variant
    return None
