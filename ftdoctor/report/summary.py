"""Counts and the exit code derived from a findings list; shared by every renderer and gate."""

from __future__ import annotations

from collections import Counter

from ftdoctor.errors import ExitCode
from ftdoctor.findings import Finding, Severity


def counts(findings: list[Finding]) -> dict[str, int]:
    seen = Counter(f.severity for f in findings)
    return {s.value: seen.get(s, 0) for s in Severity}


def exit_code(findings: list[Finding], fail_on: str = "warning") -> ExitCode:
    """2 on any error; 1 on warnings when failing on warnings (the default); else 0."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return ExitCode.ERRORS
    if Severity.WARNING in severities and fail_on == "warning":
        return ExitCode.WARNINGS
    return ExitCode.OK


def status_word(code: ExitCode) -> str:
    return {ExitCode.OK: "ok", ExitCode.WARNINGS: "warnings", ExitCode.ERRORS: "errors"}.get(code, "could-not-run")


def ignored(finding: Finding) -> bool:
    """Skipped because the settings ignore it (with a reason someone wrote down), not merely unselected."""
    from ftdoctor.rules.engine import SKIPPED_BY

    return finding.severity == Severity.SKIPPED and finding.evidence.get(SKIPPED_BY) == "ignore"
