"""The diagnosed Python environment: interpreter, prefix, installed distributions, and what pip check would say."""

from __future__ import annotations

import json
import os
import re
import sys

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Distribution, PythonEnvFacts, RequirementViolation, Status, normalize_name
from ftdoctor.probes import isolated, python_env_child
from ftdoctor.probes.host import Host


def probe(host: Host) -> PythonEnvFacts:
    if _same_interpreter(host.python):
        data = python_env_child.collect(path=sys.path[1:])
    else:
        # not -I: PYTHONPATH and the user site are part of the environment the user's python sees
        result = isolated.run([host.python, python_env_child.__file__], env=host.env, timeout_s=host.timeout_s)
        if not result.ok:
            return PythonEnvFacts(
                status=Status.UNKNOWN,
                executable=host.python,
                reason=f"listing the packages of {host.python} failed: it {result.describe()}"
                + (f": {result.stderr.strip().splitlines()[-1]}" if result.stderr.strip() else ""),
            )
        try:
            data = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return PythonEnvFacts(
                status=Status.UNKNOWN, executable=host.python, reason=f"{host.python} printed no package list"
            )
    return _facts(data)


def _same_interpreter(python: str) -> bool:
    """The same binary in the same folder: a venv's python is a link to the base interpreter, yet its
    environment is another (pyvenv.cfg beside it decides), so the folder counts, not only the file."""
    try:
        same_folder = os.path.samefile(os.path.dirname(os.path.abspath(python)), os.path.dirname(sys.executable))
        return same_folder and os.path.samefile(python, sys.executable)
    except OSError:
        return False


def _facts(data: dict) -> PythonEnvFacts:
    dists = tuple(
        Distribution(
            name=d["name"],
            version=d["version"],
            location=d["location"],
            installer=d["installer"],
            requires=tuple(d["requires"]),
            direct_url=d["direct_url"],
            wheel_tags=tuple(d["wheel_tags"]),
        )
        for d in data["distributions"]
    )
    return PythonEnvFacts(
        status=Status.OK,
        executable=data["executable"],
        version=data["version"],
        implementation=data["implementation"],
        prefix=data["prefix"],
        base_prefix=data["base_prefix"],
        kind=data["kind"],
        distributions=dists,
        duplicates=tuple(data["duplicates"]),
        violations=violations(dists, data["markers"]),
        duplicate_locations={k: tuple(v) for k, v in data["duplicate_locations"].items()},
        invalid_distributions=tuple(data["invalid_distributions"]),
        libstdcxx_path=data["libstdcxx_path"],
    )


def violations(dists: tuple[Distribution, ...], markers: dict[str, str]) -> tuple[RequirementViolation, ...]:
    """Requirements of installed distributions that the installed set does not satisfy, as `pip check` sees them."""
    installed = {d.name: d.version for d in dists}
    found = []
    for dist in dists:
        for text in dist.requires:
            if _only_for_an_extra(text):
                continue
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate({**markers, "extra": ""}):
                continue
            have = installed.get(normalize_name(req.name))
            if have is None:
                found.append(RequirementViolation(dist.name, text, None))
            elif req.specifier and not _satisfies(req, have):
                found.append(RequirementViolation(dist.name, text, have))
    return tuple(found)


def _only_for_an_extra(text: str) -> bool:
    """`x; extra == "test"` (possibly `and`-ed with more) is never required when no extra is asked for. Said
    without parsing: most requirement strings of a big environment are such extras, and parsing is slow."""
    marker = text.partition(";")[2]
    return "extra" in marker and " or " not in marker and re.search(r"\bextra\s*==", marker) is not None


def _satisfies(req: Requirement, version: str) -> bool:
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True  # pip cannot judge a non-PEP 440 version either
