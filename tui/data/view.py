"""Findings as the browser shows them: grouped by family, filtered by severity and search text, with the
marks and words that carry the meaning (colour only repeats it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ftdoctor.findings import Finding, Severity, worst
from ftdoctor.report.terminal import UNICODE_MARKS, WORDS, Style, summary_line
from ftdoctor.report.terminal import _group as terminal_group  # the same families, in the same order
from ftdoctor.tui.data.state import CheckState

SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.OK, Severity.SKIPPED)
WAITING_MARK = "…"
FAILED_MARK = "✗"
PLAIN = Style(colour=False, unicode=True)  # Textual styles the text; the words must stand alone


def mark(severity: Severity) -> str:
    return UNICODE_MARKS[severity]


def word(severity: Severity, count: int = 1) -> str:
    plural = count != 1 and severity in (Severity.ERROR, Severity.WARNING)
    return WORDS[severity] + ("s" if plural else "")


@dataclass(frozen=True)
class Filter:
    shown: frozenset[Severity] = frozenset(Severity)
    text: str = ""

    def toggled(self, severity: Severity) -> Filter:
        return Filter(self.shown ^ {severity}, self.text)

    def searching(self, text: str) -> Filter:
        return Filter(self.shown, text)

    def admits(self, finding: Finding, family_title: str = "") -> bool:
        return finding.severity in self.shown and (not self.text or _matches(finding, family_title, self.text))


def _matches(finding: Finding, family_title: str, text: str) -> bool:
    needle = text.casefold().strip()
    return any(needle in hay.casefold() for hay in _haystack(finding, family_title))


def _haystack(finding: Finding, family_title: str) -> Iterable[str]:
    yield from (finding.code, finding.title, finding.message, finding.family, family_title, finding.location or "")
    for key, value in finding.evidence.items():
        yield f"{key} {value}"
    for fix in finding.fixes:
        yield fix.summary
        yield from fix.commands


@dataclass(frozen=True)
class FamilyView:
    family: str
    title: str
    findings: tuple[Finding, ...]  # the ones the filter admits
    total: int  # all of the family's findings, filtered or not
    verdict: Severity = Severity.SKIPPED  # of all the family's findings, shown or not
    waiting: tuple[str, ...] = ()  # sections whose probe has not answered
    failures: tuple[str, ...] = ()  # why a probe this family reads failed

    @property
    def mark(self) -> str:
        if self.failures:
            return FAILED_MARK
        if self.waiting:
            return WAITING_MARK
        return mark(self.verdict)

    @property
    def has_problems(self) -> bool:
        return any(f.is_problem for f in self.findings)

    def label(self) -> str:
        if self.failures:
            return f"{self.mark} {self.title} · probe failed"
        if self.waiting:
            return f"{self.mark} {self.title} · waiting for {', '.join(self.waiting)}"
        return f"{self.mark} {self.title} · {self.counts()}"

    def counts(self) -> str:
        parts = []
        for severity in SEVERITY_ORDER:
            n = sum(1 for f in self.findings if f.severity == severity)
            if n:
                parts.append(f"{n} {word(severity, n)}")
        hidden = self.total - len(self.findings)
        if hidden:
            parts.append(f"{hidden} hidden")
        return ", ".join(parts) or "nothing to judge"


def families(state: CheckState, flt: Filter, titles: Mapping[str, str]) -> tuple[FamilyView, ...]:
    """The families to show, in `ftdoctor check`'s order (the registry's). A family waiting for a probe shows
    no findings: judged on half the facts they could be wrong. A family whose smoke test is running shows
    as waiting for it even before it has any finding (its rules apply once a result is there)."""
    views = []
    for family, items in _grouped(state, titles).items():
        title = titles.get(family, family)
        sections = state.sections_of(family)
        waiting = tuple(sorted(sections & state.waiting))
        failures = tuple(sorted({state.failed[s] for s in sections if s in state.failed}))
        shown = () if waiting else tuple(f for f in items if flt.admits(f, title))
        if shown or waiting or failures or not flt.text:  # a search hides families without a match
            views.append(FamilyView(family, title, shown, len(items), family_verdict(items), waiting, failures))
    return tuple(views)


def _grouped(state: CheckState, titles: Mapping[str, str]) -> dict[str, list[Finding]]:
    grouped = terminal_group(list(state.findings), dict(titles))
    known = {family: grouped.get(family, []) for family in titles if family in grouped or state.waiting_smokes(family)}
    return {**known, **{family: items for family, items in grouped.items() if family not in known}}


def family_verdict(findings: Sequence[Finding]) -> Severity:
    """The family's mark, as `ftdoctor check` gives it: the worst judged finding, info counting as ok."""
    judged = [f for f in findings if f.severity != Severity.SKIPPED]
    verdict = worst(judged) if judged else Severity.SKIPPED
    return Severity.OK if verdict == Severity.INFO else verdict


def finding_label(finding: Finding) -> str:
    # What this machine's check found, as the terminal report prints it: the rule's title next to a
    # warning mark ("An NVIDIA driver is installed and answers") would read like a pass.
    said = (finding.message or finding.title).strip().splitlines()
    return f"{mark(finding.severity)} {finding.code} {said[0] if said else ''}"


def problems(views: Sequence[FamilyView]) -> list[Finding]:
    """The errors and warnings in the order the tree shows them: what n and p walk through."""
    return [f for view in views for f in view.findings if f.is_problem]


def step_problem(views: Sequence[FamilyView], current: Finding | None, step: int) -> Finding | None:
    """The next (step=1) or previous (step=-1) problem after `current`, wrapping around."""
    found = problems(views)
    if not found:
        return None
    if current is None or current not in found:
        return found[0] if step > 0 else found[-1]
    return found[(found.index(current) + step) % len(found)]


def summary(state: CheckState) -> str:
    """One line with the counts, in the words of `ftdoctor check`'s last line."""
    line = summary_line(list(state.settled), PLAIN)
    if state.probing:
        return "Probing… so far: " + line.split(": ", 1)[1]
    verdict = worst(list(state.settled))
    return f"{mark(verdict if verdict in (Severity.ERROR, Severity.WARNING) else Severity.OK)} {line}"


def evidence_lines(evidence: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(str(key), _plain(value)) for key, value in evidence.items()]


def _plain(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items()) or "(none)"
    return "(none)" if value is None or value == "" else str(value)
