"""Questions answered from matrix rows alone: does this code run on that GPU, does this driver run that CUDA.

Shared by the rules (judging a machine) and the lock (judging a proposal), so that both answer them the same way.
"""

from __future__ import annotations

from packaging.version import Version

from ftdoctor.matrix.model import CudaMatrix, TorchVariant, cc_tuple


def cubin_runs(archs: tuple[str, ...] | list[str], cc: str) -> bool:
    """A cubin for X.Y runs on X.Z with Z >= Y, never across majors (NVIDIA compatibility guide)."""
    major, minor = cc_tuple(cc)
    return any(a_major == major and a_minor <= minor for a_major, a_minor in map(cc_tuple, archs))


def ptx_runs(ptx: tuple[str, ...] | list[str], cc: str) -> bool:
    """Embedded PTX is JIT-compiled for any GPU at or above its compute capability (given a new enough driver)."""
    return any(cc_tuple(p) <= cc_tuple(cc) for p in ptx)


def variant_runs_on(variant: TorchVariant, cc: str) -> str | None:
    """'sass' when the variant carries code for this GPU, 'ptx' when only through JIT, None when it cannot run."""
    if cubin_runs(variant.archs, cc):
        return "sass"
    if ptx_runs(variant.ptx, cc):
        return "ptx"
    return None


def driver_runs_cuda(cuda: CudaMatrix, driver: str, runtime: str) -> str | None:
    """'full' when the driver is at least the one bundled with that toolkit, 'mvc' when only minor-version
    compatibility covers it (same major, driver above the major's floor), None when it cannot run it."""
    major = cuda.major(runtime)
    if major is None:
        return None
    have = Version(driver)
    full = cuda.full_feature_driver(runtime)
    if full is not None and have >= Version(full):
        return "full"
    if have >= Version(major.min_driver_linux):
        # a driver of an older major cannot run a newer major, whatever its number says
        newest = cuda.newest_cuda_for_driver(driver)
        if newest is not None and Version(newest).major >= Version(runtime).major:
            return "mvc"
    return None


def oldest_driver_for(cuda: CudaMatrix, runtime: str) -> str | None:
    """The lowest Linux driver that runs `runtime` at all (the major's minor-version floor)."""
    major = cuda.major(runtime)
    return major.min_driver_linux if major else None
