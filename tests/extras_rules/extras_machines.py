"""Facts of a machine with a given GPU, driver, torch build and installed packages, built the way the lock
builds the environment of a proposal (ftdoctor.lock.proposal.facts_for), then adjusted per test."""

from __future__ import annotations

from dataclasses import replace

from ftdoctor.facts.model import Distribution, ToolkitFacts, ToolkitInstall, Resolved, Status
from ftdoctor.findings import Severity
from ftdoctor.lock.proposal import Pin, Proposal, TorchBuild, facts_for
from ftdoctor.lock.target import Target, TargetGpu
from ftdoctor.matrix import load_matrix
from ftdoctor.rules import all_rules
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge

MATRIX = load_matrix()


def machine(*, gpu=("H100", "9.0"), driver="580.95.05", python="3.12", torch="2.8.0", cuda="12.8", abi=True,
            packages=(), nvcc=None, env=None, urls=None):
    target = Target(gpus=(TargetGpu(*gpu),) if gpu else (), driver=driver if gpu else None, python=python,
                    env=dict(env or {}))
    pins = [Pin(name, version, url=(urls or {}).get(name)) for name, version in packages]
    build = None
    if torch:
        pins.insert(0, Pin("torch", torch))
        build = TorchBuild(cuda=cuda, cxx11_abi=abi, arch_list=())
    facts = facts_for(target, Proposal(tuple(pins), build))
    if nvcc:
        facts = replace(facts, toolkit=ToolkitFacts(status=Status.OK, nvcc_version=nvcc, cuda_home=Resolved("/usr/local/cuda", "CUDA_HOME"),
                                                  installs=(ToolkitInstall("/usr/local/cuda", nvcc, "CUDA_HOME"),)))
    return facts


def with_packages(facts, *dists: Distribution):
    python = replace(facts.python, distributions=facts.python.distributions + dists)
    return replace(facts, python=python)


def outcome(facts, code):
    """The finding of one rule on these facts (the whole registry runs, so `requires` is honoured)."""
    findings = judge(all_rules(), Context(facts=facts, matrix=MATRIX))
    return next(f for f in findings if f.code == code)


def severity(facts, code) -> Severity:
    return outcome(facts, code).severity
