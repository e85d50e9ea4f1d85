"""Scenario files: a recorded machine in, the verdicts out (in the style of resolvelib's scenario cases).

Each tests/scenarios/<name>.yaml names a snapshot in tests/machines/ and says:
    problems:  every error and warning the machine gets, exactly: severity, words of the message and the fixes
    info:      every informational finding, exactly
    ok:        rules that must pass (a subset)
    skipped:   rules that must be skipped or not applicable (a subset)
    messages:  words that must appear in the message of any listed rule
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ftdoctor.facts import serialize
from ftdoctor.findings import Finding, Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.rules import all_rules
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge

HERE = Path(__file__).resolve().parent
MACHINES = HERE.parent / "machines"
SCENARIOS = sorted(HERE.glob("*.yaml"))
KEYS = {"machine", "problems", "info", "ok", "skipped", "messages"}


def test_every_recorded_machine_has_a_scenario():
    assert len(SCENARIOS) >= 20
    assert {s.stem for s in SCENARIOS} == {m.stem for m in MACHINES.glob("*.json")}


def _verdicts(scenario: dict) -> dict[str, Finding]:
    facts = serialize.load(MACHINES / scenario["machine"])
    return {f.code: f for f in judge(all_rules(), Context(facts=facts, matrix=load_matrix()))}


def _fix_text(finding: Finding) -> str:
    return "\n".join([fix.summary for fix in finding.fixes] + [c for fix in finding.fixes for c in fix.commands])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path: Path):
    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(scenario) <= KEYS, f"unknown keys in {path.name}: {set(scenario) - KEYS}"
    found = _verdicts(scenario)
    problems = {code: f for code, f in found.items() if f.is_problem}
    expected = scenario.get("problems") or {}
    assert sorted(problems) == sorted(expected), "\n".join(f"{f.code} {f.message}" for f in problems.values())
    for code, want in expected.items():
        f = found[code]
        assert f.severity == Severity(want["severity"]), f"{code}: {f.message}"
        assert f.fixes, f"{code} has no fix"
        for word in want.get("message", []):
            assert word in f.message, f"{code} message lacks {word!r}: {f.message}"
        for word in want.get("fixes", []):
            assert word in _fix_text(f), f"{code} fixes lack {word!r}: {_fix_text(f)}"
    assert sorted(c for c, f in found.items() if f.severity == Severity.INFO) == sorted(scenario.get("info") or [])
    for code in scenario.get("ok") or []:
        assert found[code].severity == Severity.OK, f"{code}: {found[code].message}"
    for code in scenario.get("skipped") or []:
        assert found[code].severity == Severity.SKIPPED, f"{code}: {found[code].message}"
    for code, words in (scenario.get("messages") or {}).items():
        for word in words:
            assert word in found[code].message, f"{code} message lacks {word!r}: {found[code].message}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_json_of_every_machine_meets_the_published_schema(path: Path):
    import json

    import jsonschema

    from ftdoctor.report import envelope
    from ftdoctor.report.summary import exit_code

    findings = list(_verdicts(yaml.safe_load(path.read_text(encoding="utf-8"))).values())
    document = json.loads(envelope.envelope("check", exit_code(findings), envelope.findings_data(findings)))
    schema = json.loads((HERE.parents[1] / "ftdoctor" / "report" / "result.schema.json").read_text())
    jsonschema.validate(document, schema)
