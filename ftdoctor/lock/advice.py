"""When nothing fits: which constraint made the target impossible, and what change would make it possible.

Each suggestion is checked, not guessed: the search runs again with one constraint relaxed (another Python,
a newer driver, one extra dropped, no torch pin) and only changes that then succeed are offered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from packaging.version import Version

from ftdoctor.lock.torch_choice import RuledOut

PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")


def blocking(ruled_out: list[RuledOut]) -> str:
    """The constraint that ruled out the most candidates, in words."""
    real = [r for r in ruled_out if r.constraint != "variant"]  # a CPU build on a GPU box blocks nothing
    counts = Counter(r.constraint for r in real)
    if not counts:
        return "no torch release in the matrix matches the request"
    constraint, n = counts.most_common(1)[0]
    words = {
        "python": "the Python version", "driver": "the NVIDIA driver", "gpu": "the GPU's architecture",
        "glibc": "the system's glibc", "stack": "the HF stack's requirements", "rules": "ftdoctor's rules",
        "cpu": "the CPU-only target",
    }
    what = words.get(constraint, constraint.replace("extra:", "the extra "))
    return f"{what}, which ruled out {n} of {len(real)} candidates"


def suggestions(matrix, request, ruled_out: list[RuledOut]) -> list[str]:
    from ftdoctor.lock.search import lock

    found = [f"the blocking constraint is {blocking(ruled_out)}"]
    target = request.target
    if not target.cpu:
        driver = _newer_driver(matrix, request, ruled_out)
        if driver:
            found.append(driver)
    others = [p for p in PYTHONS if p != target.python and lock(matrix, replace(request, target=replace(target, python=p)), suggest=False).ok]
    if others:
        found.append(f"another Python would work: {', '.join(others)}")
    for name in request.extras:
        rest = tuple(e for e in request.extras if e != name)
        result = lock(matrix, replace(request, extras=rest), suggest=False)
        if result.ok:
            found.append(f"dropping {name} would allow {result.torch.label}")
    if request.torch is not None:
        result = lock(matrix, replace(request, torch=None), suggest=False)
        if result.ok:
            found.append(f"without the torch pin {request.torch}: {result.torch.label}")
    return found


def _newer_driver(matrix, request, ruled_out: list[RuledOut]) -> str | None:
    from ftdoctor.lock.search import lock

    needs = sorted({r.need.removeprefix("driver >= ") for r in ruled_out if r.constraint == "driver" and r.need.startswith("driver >= ")}, key=Version)
    for driver in needs:
        result = lock(matrix, replace(request, target=replace(request.target, driver=driver)), suggest=False)
        if result.ok:
            return f"a newer NVIDIA driver (>= {driver}) would allow {result.torch.label}"
    return None
