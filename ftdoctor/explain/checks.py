"""Checks of a diagnosis against this machine's facts (`facts_check` in a signature).

Each returns (agrees, note): True when the facts confirm the cause, False when they contradict it (the log
probably comes from another environment), None when they cannot tell or only add context. The note says
what the facts show, in one sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Facts

Verdict = tuple[bool | None, str]


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _rocm(facts: Facts) -> str | None:
    label = (facts.torch.version or "").partition("+")[2]
    return facts.torch.hip or (label[4:] if label.startswith("rocm") else None)


def driver_older_than_torch_cuda(facts: Facts) -> Verdict:
    driver_cuda = _version(facts.driver.cuda_driver_version.value)
    torch_cuda = _version(facts.torch.cuda)
    if driver_cuda is None or torch_cuda is None:
        return None, ""
    if driver_cuda.release[:2] < torch_cuda.release[:2]:
        return True, f"this machine agrees: the driver supports CUDA {driver_cuda}, torch {facts.torch.version} needs CUDA {torch_cuda}"
    return False, (f"on this machine the driver (CUDA {driver_cuda}) can run torch's CUDA {torch_cuda}: "
                   "the log may come from another environment")


def torch_is_cpu_build(facts: Facts) -> Verdict:
    version = facts.torch.version
    if not version:
        return None, ""
    if facts.torch.cuda is None and not _rocm(facts):
        return True, f"this machine agrees: torch {version} is a CPU-only build"
    return False, f"torch here is {version} (CUDA {facts.torch.cuda}): the log may come from another environment"


def torch_has_cuda(facts: Facts) -> Verdict:
    """CUDA extensions cannot be built against a CPU or ROCm torch, whatever CUDA_HOME says."""
    version = facts.torch.version
    if not version or facts.torch.cuda is not None:
        return None, ""
    rocm = _rocm(facts)
    build = f"a ROCm build ({rocm})" if rocm else "a CPU-only build"
    return None, f"torch here is {version}, {build}: it ignores CUDA_HOME, so install a CUDA build of torch before building CUDA extensions"


def gpu_before_ampere(facts: Facts) -> Verdict:
    ccs = [(g.name, g.compute_capability) for g in facts.driver.gpus if g.compute_capability]
    if not ccs:
        return None, ""
    name, cc = min(ccs, key=lambda item: Version(item[1]))
    if Version(cc) < Version("8.0"):
        return True, f"this machine agrees: its {name} is compute capability {cc}"
    return False, f"this machine's {name} (compute capability {cc}) supports it: the log may come from another machine, or torch saw no GPU"


FACTS_CHECKS: dict[str, Callable[[Facts], Verdict]] = {
    "driver_older_than_torch_cuda": driver_older_than_torch_cuda,
    "torch_is_cpu_build": torch_is_cpu_build,
    "torch_has_cuda": torch_has_cuda,
    "gpu_before_ampere": gpu_before_ampere,
}
