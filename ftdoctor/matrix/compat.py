"""Questions answered from matrix rows alone: does this code run on that GPU, does this driver run that CUDA.

Shared by the rules (judging a machine) and the lock (judging a proposal), so that both answer them the same way.
"""

from __future__ import annotations

from packaging.version import Version

from ftdoctor.matrix.model import CudaMatrix, TorchVariant, cc_tuple

CC = tuple[int, int]


def kernel_for(cc: CC, sass: tuple[CC, ...], ptx: tuple[CC, ...], integrated: frozenset[CC] = frozenset()) -> str | None:
    """'sass' when a cubin runs on `cc`, 'ptx' when only JIT compilation of embedded PTX can, else None.

    A cubin for X.Y runs on X.Z with Z >= Y, never across majors, and never between an integrated (Jetson) and
    a discrete GPU of one major (NVIDIA's compatibility guide); PTX for X.Y JIT-compiles on any GPU at or above it.
    """
    for code in sass:
        if code == cc or (code[0] == cc[0] and code[1] < cc[1] and cc not in integrated and code not in integrated):
            return "sass"
    if any(code <= cc for code in ptx):
        return "ptx"
    return None


def cubin_runs(archs: tuple[str, ...] | list[str], cc: str) -> bool:
    """Does one of these cubins (compute capabilities as matrix rows write them) run on `cc`?"""
    return kernel_for(cc_tuple(cc), tuple(map(cc_tuple, archs)), ()) == "sass"


def ptx_runs(ptx: tuple[str, ...] | list[str], cc: str) -> bool:
    """Embedded PTX is JIT-compiled for any GPU at or above its compute capability (given a new enough driver)."""
    return kernel_for(cc_tuple(cc), (), tuple(map(cc_tuple, ptx))) == "ptx"


def variant_runs_on(variant: TorchVariant, cc: str, integrated: frozenset[CC] = frozenset()) -> str | None:
    """'sass' when the variant carries code for this GPU, 'ptx' when only through JIT, None when it cannot run."""
    return kernel_for(cc_tuple(cc), tuple(map(cc_tuple, variant.archs)), tuple(map(cc_tuple, variant.ptx)), integrated)


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
        # a driver of an older major cannot run a newer major, whatever its number says (no toolkit row at or
        # below this driver: the major's floor is all the matrix knows)
        newest = cuda.newest_cuda_for_driver(driver)
        if newest is None or Version(newest).major >= Version(runtime).major:
            return "mvc"
    return None


def oldest_driver_for(cuda: CudaMatrix, runtime: str) -> str | None:
    """The lowest Linux driver that runs `runtime` at all (the major's minor-version floor)."""
    major = cuda.major(runtime)
    return major.min_driver_linux if major else None
