"""The one result type every front end renders: terminal, JSON, CI formats, the TUI and the trainer's gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    OK = "ok"
    SKIPPED = "skipped"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 4, Severity.WARNING: 3, Severity.INFO: 2, Severity.OK: 1, Severity.SKIPPED: 0}


@dataclass(frozen=True)
class Fix:
    """A remedy: what to do, the exact commands when there are any, and where to read more."""

    summary: str
    commands: tuple[str, ...] = ()
    link: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    family: str
    severity: Severity
    title: str  # the rule's one-line description
    message: str  # what was found, with the specifics
    evidence: dict[str, Any] = field(default_factory=dict)  # the facts that triggered it
    fixes: tuple[Fix, ...] = ()
    location: str | None = None  # "config.yml:12" for config findings; None for machine findings

    @property
    def is_problem(self) -> bool:
        return self.severity in (Severity.ERROR, Severity.WARNING)


def worst(findings: list[Finding] | tuple[Finding, ...]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)
