"""The diagnosed Python environment: interpreter, prefix, installed distributions, and what pip check would say."""

from __future__ import annotations

import json
import os
import sys

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Distribution, PythonEnvFacts, RequirementViolation, Status
from ftdoctor.probes import isolated, python_env_child
from ftdoctor.probes.host import Host


def probe(host: Host) -> PythonEnvFacts:
    if _same_interpreter(host.python):
        data = python_env_child.collect()
    else:
        result = isolated.run([host.python, "-I", python_env_child.__file__], timeout_s=host.timeout_s)
        if not result.ok:
            return PythonEnvFacts(
                status=Status.UNKNOWN,
                executable=host.python,
                reason=f"listing the packages of {host.python} failed: it {result.describe()}"
                + (f": {result.stderr.strip().splitlines()[-1]}" if result.stderr.strip() else ""),
            )
        try:
            data = json.loads(result.stdout)
        except ValueError:
            return PythonEnvFacts(
                status=Status.UNKNOWN, executable=host.python, reason=f"{host.python} printed no package list"
            )
    return _facts(data)


def _same_interpreter(python: str) -> bool:
    """The same environment, not only the same binary: every venv made from one Python links to its
    executable, and it is the folder (the venv's bin/) that decides which site-packages it sees."""
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
    )


def violations(dists: tuple[Distribution, ...], markers: dict[str, str]) -> tuple[RequirementViolation, ...]:
    """Requirements of installed distributions that the installed set does not satisfy, as `pip check` sees them."""
    installed = {d.name: d.version for d in dists}
    found = []
    for dist in dists:
        for text in dist.requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate({**markers, "extra": ""}):
                continue
            name = req.name.lower().replace("_", "-").replace(".", "-")
            have = installed.get(name)
            if have is None:
                found.append(RequirementViolation(dist.name, text, None))
            elif req.specifier and not _satisfies(req, have):
                found.append(RequirementViolation(dist.name, text, have))
    return tuple(found)


def _satisfies(req: Requirement, version: str) -> bool:
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True  # pip cannot judge a non-PEP 440 version either
