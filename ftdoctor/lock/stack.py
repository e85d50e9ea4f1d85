"""The Hugging Face training stack for a chosen torch: transformers, trl, peft, accelerate, datasets and the
huggingface-hub they share, picked together so that every Requires-Dist among them holds (the way pip would
check it) and each fits the target's Python and torch."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftdoctor.facts.model import normalize_name
from ftdoctor.lock.proposal import Pin

# Search order: the package that constrains the others most comes first, so dead ends are found early.
ORDER = ("trl", "transformers", "peft", "accelerate", "datasets", "huggingface-hub")
EXTRAS = {"transformers": {"torch"}, "trl": {"peft", "quantization"}}  # what a training set-up installs


def choose(matrix, python: str, torch_version: str, env: dict[str, str], extras: set[str], policy: str) -> list[Pin] | None:
    """The newest consistent set (with `policy == "proven"`: the newest outside each package's newest minor line)."""
    key = (id(matrix), python, Version(torch_version).public.split("+")[0], tuple(sorted(env.items())), frozenset(extras), policy)
    if key not in _CHOSEN:
        _CHOSEN[key] = _choose(matrix, python, torch_version, env, extras, policy)
    return _CHOSEN[key]


_CHOSEN: dict[tuple, list[Pin] | None] = {}  # one search per (Python, torch version, extras, policy): variants share it


def _choose(matrix, python: str, torch_version: str, env: dict[str, str], extras: set[str], policy: str) -> list[Pin] | None:
    options = {name: _options(matrix, name, python, torch_version, policy) for name in ORDER}
    chosen = _search(options, {}, env, _extras(extras))
    if chosen is None and policy == "proven":
        return _choose(matrix, python, torch_version, env, extras, "newest")
    if chosen is None:
        return None
    return [_pin(name, row, policy) for name, row in chosen.items()]


def _extras(extras: set[str]) -> dict[str, set[str]]:
    active = {k: set(v) for k, v in EXTRAS.items()}
    if "deepspeed" in extras:
        active["trl"].add("deepspeed")
    return active


def _options(matrix, name: str, python: str, torch_version: str, policy: str) -> list:
    package = matrix.hf_releases.package(name)
    rows = [r for r in package.newest_first() if _fits(r, python, torch_version)] if package else []
    if policy == "proven" and len(rows) > 1 and rows[0] is package.newest_first()[0]:
        rows = rows[1:] + rows[:1]  # the newest minor line goes last: tried only if nothing older fits
    return rows


def _fits(row, python: str, torch_version: str) -> bool:
    if row.requires_python and not SpecifierSet(row.requires_python).contains(python):
        return False
    return not row.torch or SpecifierSet(row.torch).contains(Version(torch_version).public.split("+")[0])


def _search(options: dict, chosen: dict, env: dict, extras: dict) -> dict | None:
    if len(chosen) == len(ORDER):
        return dict(chosen)
    name = ORDER[len(chosen)]
    for row in options[name]:
        chosen[name] = row
        if _consistent(chosen, env, extras):
            found = _search(options, chosen, env, extras)
            if found is not None:
                return found
        del chosen[name]
    return None


def _consistent(chosen: dict, env: dict, extras: dict) -> bool:
    """Every requirement between two chosen packages holds, in both directions."""
    return all(_holds(req, chosen) for req in _requirements(chosen, env, extras))


def _requirements(chosen: dict, env: dict, extras: dict) -> Iterator[Requirement]:
    for name, row in chosen.items():
        for text in row.requires:
            req = _requirement(text)
            if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras.get(name, {""}) | {""}):
                yield req


@lru_cache(maxsize=8192)
def _requirement(text: str) -> Requirement:
    return Requirement(text)


def _holds(req: Requirement, chosen: dict) -> bool:
    other = chosen.get(normalize_name(req.name))
    return other is None or req.specifier.contains(other.version, prereleases=True)


def _pin(name: str, row, policy: str) -> Pin:
    why = "newest release" if policy == "newest" else "newest release outside the newest minor line (most proven)"
    return Pin(name, row.version, requires=row.requires, reasons=(f"{why} that fits this Python, torch and the rest of the stack",))
