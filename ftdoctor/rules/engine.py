"""Run rules over facts in dependency order and turn their outcomes into findings.

A rule whose prerequisite failed, was skipped or could not tell is skipped ("requires DRV100"), not
failed a second time. A rule that raises becomes an error finding naming the rule: a bug in one rule
never takes the whole report down.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable

from ftdoctor.findings import Finding, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.settings import Settings

SKIPPED_BY = "skipped_by"  # evidence key of a finding the settings skipped: "ignore" or "select"


def order(rules: Iterable[type[Rule]]) -> list[type[Rule]]:
    by_code = {rule.code: rule for rule in rules}
    sorter = graphlib.TopologicalSorter({code: rule.requires & by_code.keys() for code, rule in by_code.items()})
    ranked = {code: i for i, code in enumerate(sorted(by_code))}
    result: list[type[Rule]] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=ranked.__getitem__)
        result.extend(by_code[code] for code in ready)
        sorter.done(*ready)
    return result


def judge(rules: Iterable[type[Rule]], ctx: Context) -> list[Finding]:
    settings = ctx.settings or Settings()
    passed: set[str] = set()
    findings: list[Finding] = []
    for rule_cls in order(rules):
        blocked = sorted(code for code in rule_cls.requires if code not in passed)
        if blocked:
            produced = [_finding(rule_cls, NotApplicable(f"requires {', '.join(blocked)}, which did not pass"))]
        else:
            produced = run_rule(rule_cls, ctx)
        if all(f.severity in (Severity.OK, Severity.INFO, Severity.WARNING) and not f.message.startswith("unknown")
               for f in produced):
            passed.add(rule_cls.code)
        skip = settings.skip(rule_cls.code)
        if skip is not None:
            produced = [Finding(code=rule_cls.code, family=rule_cls.family, severity=Severity.SKIPPED,
                                title=rule_cls.description(), message=skip[1], evidence={SKIPPED_BY: skip[0]})]
        findings.extend(produced)
    return findings


def run_rule(rule_cls: type[Rule], ctx: Context) -> list[Finding]:
    """One rule's findings for these facts (usually one; a rule about config lines may make several)."""
    try:
        outcome = rule_cls().check(ctx)
    except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
        return [Finding(
            code=rule_cls.code, family=rule_cls.family, severity=Severity.ERROR, title=rule_cls.description(),
            message=f"ftdoctor's rule {rule_cls.code} crashed ({type(exc).__name__}: {exc}); please report it",
        )]
    if isinstance(outcome, (list, tuple)):
        outcomes = list(outcome) or [Pass("no problem found")]
        return [_finding(rule_cls, o) for o in outcomes]
    return [_finding(rule_cls, outcome)]


def _finding(rule_cls: type[Rule], outcome: object) -> Finding:
    base = {"code": rule_cls.code, "family": rule_cls.family, "title": rule_cls.description()}
    match outcome:
        case Pass(message=message, evidence=evidence, location=location):
            return Finding(**base, severity=Severity.OK, message=message, evidence=evidence, location=location)
        case Info(message=message, evidence=evidence, fixes=fixes, location=location):
            return Finding(**base, severity=Severity.INFO, message=message, evidence=evidence, fixes=fixes,
                           location=location)
        case Fail(message=message, evidence=evidence, fixes=fixes, severity=severity, location=location):
            return Finding(
                **base, severity=severity or rule_cls.severity, message=message, evidence=evidence, fixes=fixes,
                location=location,
            )
        case NotApplicable(reason=reason):
            return Finding(**base, severity=Severity.SKIPPED, message=reason)
        case Unknown(reason=reason, evidence=evidence, location=location):
            return Finding(**base, severity=Severity.WARNING, message=f"unknown: {reason}", evidence=evidence,
                           location=location)
    raise TypeError(f"rule {rule_cls.code} returned {outcome!r}, not an outcome")
