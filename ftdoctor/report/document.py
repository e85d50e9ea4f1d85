"""What every renderer receives: a report of findings, in one section per machine when several were judged,
and the descriptions of the rules that produced them. Plain frozen data; renderers are pure functions of it."""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ftdoctor.findings import Finding, Severity


@dataclass(frozen=True)
class Section:
    """One machine's part of a report (or the whole of a one-machine report, with an empty name)."""

    name: str
    findings: list[Finding]
    header: tuple[str, ...] = ()
    source: str = ""  # the facts file it was judged from; "" for the live machine
    collected_at: str = ""  # when its facts were gathered (ISO 8601), "" when unknown


def fix_lines(finding: Finding) -> list[str]:
    """A finding's fixes as plain text lines (the CI formats' message bodies): the summary, each command to run
    after `$ `, the link."""
    lines = []
    for fix in finding.fixes:
        lines.append(f"fix: {fix.summary}")
        lines.extend(f"  $ {command}" for command in fix.commands)
        if fix.link:
            lines.append(f"  see {fix.link}")
    return lines


@dataclass(frozen=True)
class RuleDoc:
    """A rule as a code-scanning tool lists it: code, one-line title, longer help, default severity."""

    code: str
    family: str
    name: str  # the rule class name: "DriverPresent"
    title: str
    help: str
    severity: Severity

    @classmethod
    def of(cls, rule: type) -> RuleDoc:
        return cls(
            code=rule.code, family=rule.family, name=rule.__name__, title=rule.description(),
            help=rule_help(rule), severity=rule.severity,
        )


def rule_help(rule: type) -> str:
    """The rule's docstring, what its check says, and its family's purpose: the text behind a code."""
    parts = [inspect.cleandoc(rule.__doc__ or "")]
    check_doc = inspect.getdoc(rule.check)
    if check_doc:
        parts.append(check_doc)
    module = sys.modules.get(rule.__module__)
    family_doc = inspect.getdoc(module) if module else None
    if family_doc:
        parts.append(f"Family {rule.family}: {family_doc.splitlines()[0]}")
    return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Report:
    command: str
    findings: list[Finding]  # every finding of every section: the exit code is computed over these
    titles: dict[str, str]
    header: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # extra JSON data (facts source, estimate, ...)
    sections: tuple[Section, ...] = ()  # several machines (check --facts-dir); empty for one
    rules: tuple[RuleDoc, ...] = ()  # the rules that ran, for formats that list them (SARIF)
    source: str = ""  # the facts file of a one-machine report; "" for the live machine
    collected_at: str = ""

    def parts(self) -> tuple[Section, ...]:
        if self.sections:
            return self.sections
        return (Section("", self.findings, self.header, self.source, self.collected_at),)


LOCATION = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?$")


@dataclass(frozen=True)
class Location:
    """A finding's `location` ("configs/a.yml:12", "a.yml:12:3" or "a.yml") taken apart."""

    file: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> Location | None:
        if not text or not text.strip():
            return None
        match = LOCATION.match(text.strip())
        assert match is not None  # the pattern accepts every non-empty string
        line, column = match["line"], match["column"]
        return cls(match["file"], int(line) if line else None, int(column) if column else None)
