"""Small named conversions a signature can apply to a captured value (`derive = {new = "converter:group"}`).

They turn the log's encodings into what a person reads: torch prints the driver's CUDA as 11040, NVCC
names architectures compute_90a, allocators print bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def cuda_from_int(value: str) -> str | None:
    """'11040' -> '11.4' (CUDA encodes versions as major*1000 + minor*10)."""
    if not value.isdigit():
        return None
    number = int(value)
    return f"{number // 1000}.{(number % 1000) // 10}"


def cc_from_arch(value: str) -> str | None:
    """'sm_120' / 'compute_90a' / 'sm_86' -> '12.0' / '9.0' / '8.6'."""
    match = re.fullmatch(r"(?:sm_|compute_)?(\d+?)(\d)[af]?", value.strip().lower())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def human_bytes(value: str) -> str | None:
    """'268435456' -> '256.0 MiB'."""
    if not value.isdigit():
        return None
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return None  # pragma: no cover - the loop always returns


def short_symbol(value: str) -> str | None:
    """A mangled C++ name, shortened for a sentence: '_ZN3c104cuda9SetDeviceEi' -> 'c10::cuda::SetDevice'."""
    if not value.startswith("_ZN"):
        return value[:60] or None
    parts, pos = [], 3
    while pos < len(value) and value[pos].isdigit():
        digits = re.match(r"\d+", value[pos:]).group(0)  # type: ignore[union-attr]
        pos += len(digits)
        parts.append(value[pos:pos + int(digits)])
        pos += int(digits)
    return "::".join(parts) or value[:60]


CONVERTERS: dict[str, Callable[[str], str | None]] = {
    "cuda_from_int": cuda_from_int,
    "cc_from_arch": cc_from_arch,
    "human_bytes": human_bytes,
    "short_symbol": short_symbol,
}


def first_clause(value: str) -> str | None:
    """'1.6.2 Requires-Python >=3.7,<3.10; 1.6.3 ...' -> '1.6.2 Requires-Python >=3.7,<3.10' (and a count)."""
    clauses = [c.strip() for c in value.split(";") if c.strip()]
    if not clauses:
        return None
    more = len(clauses) - 1
    return clauses[0] + (f" (and {more} more)" if more else "")


def first_version(value: str) -> str | None:
    """'2.2.0, 2.2.1, 2.3.0' -> the lowest version listed ('2.2.0')."""
    from packaging.version import InvalidVersion, Version

    versions = []
    for item in value.split(","):
        try:
            versions.append(Version(item.strip()))
        except InvalidVersion:
            continue
    return str(min(versions)) if versions else None


def ms_to_s(value: str) -> str | None:
    """'600000' -> '600'."""
    return str(int(value) // 1000) if value.isdigit() else None


def backend_from_cuda(value: str) -> str | None:
    """'11.7' -> 'cu117' (the name of a CUDA variant of torch)."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.\d+)?", value.strip())
    return f"cu{match.group(1)}{match.group(2)}" if match else None


def first_segment(value: str) -> str | None:
    """'transformers.models.llama' -> 'transformers'."""
    return value.split(".")[0] or None


def cc_from_major_minor(value: str) -> str | None:
    """'major=7, minor=0' -> '7.0' (torch's CudaDeviceProperties repr)."""
    match = re.search(r"major=(\d+), minor=(\d+)", value)
    return f"{match.group(1)}.{match.group(2)}" if match else None


CONVERTERS.update(
    cc_from_major_minor=cc_from_major_minor,
    backend_from_cuda=backend_from_cuda,
    first_clause=first_clause, first_version=first_version, ms_to_s=ms_to_s, first_segment=first_segment
)


def version_lt(specifics: dict[str, str], left: str, right: str) -> bool:
    """True when specifics[left] < specifics[right] as versions; False when either is missing or unparsable."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(specifics[left]) < Version(specifics[right])
    except (KeyError, InvalidVersion):
        return False


# guard name -> predicate(specifics, *argument names); a signature's match is dropped when one is false
GUARDS: dict[str, Callable[..., bool]] = {"version_lt": version_lt}


def guard_holds(spec: str, specifics: dict[str, str]) -> bool:
    name, _, args = spec.partition(":")
    return GUARDS[name](specifics, *[a.strip() for a in args.split(",") if a.strip()])
