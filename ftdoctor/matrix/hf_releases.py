"""Releases of the Hugging Face training stack the lock may pin, with the Requires-Dist that tie them together.

Each row is one release as the package index describes it (Requires-Python, Requires-Dist), so that a proposed
set of pins can be checked the way pip would check it, offline. `torch` is the torch a release needs, from its
Requires-Dist or (transformers) its `torch` extra, which transformers enforces at import time by disabling torch.
`ftdoctor matrix verify` re-reads every row from the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from ftdoctor.matrix.model import _check_source, _specifier, _version

# The extras whose requirements count: transformers[torch] is what a training set-up installs, and TRL's
# peft/deepspeed/quantization extras say which versions of those TRL works with.
COUNTED_EXTRAS = {"transformers": ("torch",), "trl": ("peft", "deepspeed", "quantization")}


@dataclass(frozen=True)
class HfRelease:
    version: str
    requires_python: str
    requires: tuple[str, ...]  # Requires-Dist without extras, plus those of COUNTED_EXTRAS (markers kept)
    source: str
    torch: str = ""  # the torch specifier this release needs ("" = none)

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.version, "version")
        _specifier(self.requires_python, "requires_python")
        _specifier(self.torch, "torch")
        for text in self.requires:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"requires: {text!r}: {exc}") from None


@dataclass(frozen=True)
class HfPackage:
    name: str
    releases: tuple[HfRelease, ...]

    def newest_first(self) -> list[HfRelease]:
        return sorted(self.releases, key=lambda r: Version(r.version), reverse=True)

    def release(self, version: str) -> HfRelease | None:
        wanted = Version(version)
        return next((r for r in self.releases if Version(r.version) == wanted), None)


@dataclass(frozen=True)
class HfReleasesMatrix:
    schema: str
    packages: tuple[HfPackage, ...]

    def package(self, name: str) -> HfPackage | None:
        return next((p for p in self.packages if p.name == name), None)


def counted_requirements(package: str, requires_dist: list[str]) -> tuple[tuple[str, ...], str]:
    """From a release's Requires-Dist: the requirements a row keeps (normalized, sorted) and its torch specifier."""
    import re

    kept, torch = set(), ""
    for text in requires_dist:
        req = Requirement(text)
        extras = re.findall(r'extra\s*==\s*"([^"]+)"', text)
        if extras and not any(e in COUNTED_EXTRAS.get(package, ()) for e in extras):
            continue
        if req.name.lower() == "torch" and (req.marker is None or package == "transformers"):
            torch = str(req.specifier)
        kept.add(str(req))
    return tuple(sorted(kept, key=str.lower)), torch
