"""Rules read facts defensively: an empty snapshot, or any section of a real one left unknown, never crashes a
rule, and a section that could not be probed never turns into a pass of the rules that read it."""

from dataclasses import fields

import pytest
from rule_kit import MATRIX, MACHINES, machine

from ftdoctor.facts.model import (
    DriverFacts, Facts, PythonEnvFacts, SystemFacts, ToolkitFacts, TorchFacts,
)
from ftdoctor.findings import Severity
from ftdoctor.rules import all_rules
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge

NAMES = sorted(p.stem for p in MACHINES.glob("*.json"))
BLANK = {"driver": DriverFacts(), "toolkit": ToolkitFacts(), "system": SystemFacts(), "python": PythonEnvFacts(),
         "torch": TorchFacts()}


def crashes(facts: Facts) -> list[str]:
    return [f"{f.code}: {f.message}" for f in judge(all_rules(), Context(facts=facts, matrix=MATRIX))
            if "crashed" in f.message]


def test_an_empty_snapshot_crashes_no_rule():
    assert crashes(Facts()) == []


@pytest.mark.parametrize("section", sorted(BLANK))
@pytest.mark.parametrize("name", NAMES)
def test_a_blank_section_crashes_no_rule(name, section):
    from dataclasses import replace

    assert crashes(replace(machine(name), **{section: BLANK[section]})) == []


def test_unknown_sections_do_not_pass_the_rules_that_read_them():
    found = {f.code: f for f in judge(all_rules(), Context(facts=Facts(), matrix=MATRIX))}
    passed = sorted(code for code, f in found.items() if f.severity == Severity.OK)
    assert passed == [], passed


def test_blanks_cover_every_section():
    assert {f.name for f in fields(Facts) if f.name in BLANK} == set(BLANK)
