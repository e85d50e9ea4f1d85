"""One-line rule tests: take a recorded machine, change a few facts with dataclasses.replace, run one rule.

    assert finding(DriverRunsTorchCuda, evolve(H100, **{"torch.cuda": "13.0"})).severity == Severity.OK
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ftdoctor.facts import serialize
from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding
from ftdoctor.matrix import load_matrix
from ftdoctor.rules.base import Context, Rule
from ftdoctor.rules.engine import run_rule

MACHINES = Path(__file__).resolve().parent.parent / "machines"
MATRIX = load_matrix()


def machine(name: str) -> Facts:
    return serialize.load(MACHINES / f"{name}.json")


def evolve(obj, **changes):
    """Replace nested fields by dotted path: evolve(facts, **{"driver.nvml.status": Status.ERROR})."""
    for path, value in changes.items():
        obj = _set(obj, path.split("."), value)
    return obj


def _set(obj, keys: list[str], value):
    if len(keys) == 1:
        return replace(obj, **{keys[0]: value})
    return replace(obj, **{keys[0]: _set(getattr(obj, keys[0]), keys[1:], value)})


def finding(rule: type[Rule], facts: Facts, matrix=MATRIX) -> Finding:
    """The finding one rule makes of these facts, as the engine would report it (prerequisites not run)."""
    (only,) = run_rule(rule, Context(facts=facts, matrix=matrix))
    return only


def text(f: Finding) -> str:
    """Message, fix summaries and commands in one string, for keyword assertions."""
    parts = [f.message] + [fix.summary for fix in f.fixes] + [c for fix in f.fixes for c in fix.commands]
    return "\n".join(parts)
