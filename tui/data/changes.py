"""What a fix changed: the findings before and after, compared rule by rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ftdoctor.findings import Finding, Severity
from ftdoctor.tui.data.view import mark, word


@dataclass(frozen=True)
class Change:
    code: str
    title: str
    before: Severity | None  # None: the rule gave no finding before
    after: Severity | None
    message: str  # the finding's message now (or before, when it is gone)

    def line(self) -> str:
        return f"{self.code} {_side(self.before)} → {_side(self.after)}  {self.message}"

    @property
    def direction(self) -> str:
        """"better", "worse" or "reworded" (same severity, another message)."""
        if _rank(self.after) == _rank(self.before):
            return "reworded"
        return "better" if _rank(self.after) < _rank(self.before) else "worse"


def _side(severity: Severity | None) -> str:
    return "(none)" if severity is None else f"{mark(severity)} {word(severity)}"


def _rank(severity: Severity | None) -> int:
    return -1 if severity is None else severity.rank


def changes(before: Sequence[Finding], after: Sequence[Finding]) -> list[Change]:
    """Every rule whose severity or message differs, in rule order; unchanged ones are left out."""
    old = {f.code: f for f in before}
    new = {f.code: f for f in after}
    result = []
    for code in sorted(old.keys() | new.keys()):
        a, b = old.get(code), new.get(code)
        if a and b and (a.severity, a.message) == (b.severity, b.message):
            continue
        shown = b or a
        result.append(Change(code, shown.title, a and a.severity, b and b.severity, shown.message))
    return result


def report_lines(found: Sequence[Change]) -> list[tuple[str, list[str]]]:
    """Severity changes first; findings that only reworded their message (a timing, a version) after them."""
    moved = [c.line() for c in found if c.direction != "reworded"]
    reworded = [c.line() for c in found if c.direction == "reworded"]
    sections = [("What changed:", moved), ("Same severity, new message:", reworded)]
    return [(heading, lines) for heading, lines in sections if lines]


def summary(found: Sequence[Change], total: int) -> str:
    if not found:
        return f"Nothing changed: all {total} findings are as they were."
    tally = {d: sum(1 for c in found if c.direction == d) for d in ("better", "worse", "reworded")}
    kinds = ", ".join(f"{n} {d}" for d, n in tally.items() if n)
    return f"{len(found)} changed ({kinds}); {total - len(found)} unchanged."
