"""Findings as terminal text: grouped by family with ✓ ! ✗ marks, the fix under each problem, a one-line
summary. Colour only on a TTY (and never with NO_COLOR); ASCII marks when the terminal cannot encode ✓.
Long messages wrap to the terminal's width on a TTY; piped output keeps one line per finding, for grep."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from ftdoctor.findings import Finding, Severity, worst
from ftdoctor.report.summary import ignored

UNICODE_MARKS = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "·", Severity.OK: "✓", Severity.SKIPPED: "-"}
ASCII_MARKS = {Severity.ERROR: "x", Severity.WARNING: "!", Severity.INFO: "i", Severity.OK: "+", Severity.SKIPPED: "-"}
COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36", Severity.OK: "32", Severity.SKIPPED: "2"}
WORDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info", Severity.OK: "ok", Severity.SKIPPED: "skipped"}


@dataclass(frozen=True)
class Style:
    colour: bool
    unicode: bool
    width: int | None = None  # wrap messages to this many columns; None: never wrap

    @classmethod
    def for_stream(cls, stream: TextIO, *, no_colour: bool = False) -> Style:
        tty = hasattr(stream, "isatty") and stream.isatty()
        colour = tty and not no_colour and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        encoding = (getattr(stream, "encoding", None) or "ascii").lower()
        width = max(60, shutil.get_terminal_size((100, 24)).columns) if tty else None
        return cls(colour=colour, unicode=encoding.startswith("utf"), width=width)

    def wrap(self, text: str, indent: str, hang: str) -> list[str]:
        """`text` after `indent`, continuation lines after `hang`; one line when not wrapping."""
        if self.width is None:
            return [indent + text]
        return textwrap.wrap(text, self.width, initial_indent=indent, subsequent_indent=hang,
                             break_long_words=False, break_on_hyphens=False) or [indent]

    def mark(self, severity: Severity) -> str:
        text = (UNICODE_MARKS if self.unicode else ASCII_MARKS)[severity]
        return self.paint(text, severity)

    def paint(self, text: str, severity: Severity) -> str:
        return f"\033[{COLOURS[severity]}m{text}\033[0m" if self.colour else text

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.colour else text


def render(
    findings: list[Finding],
    *,
    titles: dict[str, str],
    verbose: bool = False,
    style: Style | None = None,
    header: Iterable[str] = (),
) -> str:
    style = style or Style(colour=False, unicode=True)
    lines = list(header)
    if lines:
        lines.append("")
    families = _group(findings, titles)
    for family, items in families.items():
        lines.extend(_family_lines(family, items, titles, verbose, style))
    lines.append("")
    lines.append(summary_line(findings, style))
    return "\n".join(lines) + "\n"


def _group(findings: list[Finding], titles: dict[str, str]) -> dict[str, list[Finding]]:
    """Families in the registry's order (others after them, as they come), each family's findings by code."""
    groups: dict[str, list[Finding]] = {family: [] for family in titles}
    for finding in findings:
        groups.setdefault(finding.family, []).append(finding)
    return {family: sorted(items, key=lambda f: f.code) for family, items in groups.items() if items}


def _family_lines(family: str, items: list[Finding], titles: dict[str, str], verbose: bool, style: Style) -> list[str]:
    judged = [f for f in items if f.severity != Severity.SKIPPED]
    mark_severity = worst(judged) if judged else Severity.SKIPPED
    if mark_severity == Severity.INFO:
        mark_severity = Severity.OK
    title = titles.get(family, family)
    if not judged:
        title += " (nothing to judge here)"
    lines = [f"[{style.mark(mark_severity)}] {style.bold(title)}"]
    for finding in items:
        if finding.is_problem or verbose or ignored(finding):  # an ignore with a reason stays in sight
            lines.extend(finding_lines(finding, style, verbose))
    return lines


def finding_lines(finding: Finding, style: Style, verbose: bool = False) -> list[str]:
    where = f" ({finding.location})" if finding.location else ""
    # wrapped with a blank stand-in for "    ✗ ", so that the (maybe coloured) mark does not count in the width;
    # continuation lines start under the message, after the code
    head = style.wrap(f"{finding.code} {finding.message}{where}", " " * 6, " " * (7 + len(finding.code)))
    lines = [f"    {style.mark(finding.severity)} {head[0][6:]}", *head[1:]]
    if finding.is_problem or verbose:
        for fix in finding.fixes:
            lines.extend(style.wrap(f"fix: {fix.summary}", " " * 6, " " * 11))
            lines.extend(f"        $ {command}" for command in fix.commands)  # commands never wrap: copy-paste
            if fix.link:
                lines.append(f"        see {fix.link}")
    return lines


def summary_line(findings: list[Finding], style: Style) -> str:
    counted = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    parts = []
    for severity in (Severity.ERROR, Severity.WARNING, Severity.OK, Severity.INFO, Severity.SKIPPED):
        n = counted[severity]
        word = WORDS[severity] + ("s" if n != 1 and severity in (Severity.ERROR, Severity.WARNING) else "")
        parts.append(f"{n} {word}")
    verdict = worst(findings)
    if verdict == Severity.ERROR:
        lead = style.paint("Problems found", Severity.ERROR)
    elif verdict == Severity.WARNING:
        lead = style.paint("Warnings", Severity.WARNING)
    else:
        lead = style.paint("No problems found", Severity.OK)
    return f"{lead}: " + ", ".join(parts)


def stream_style(no_colour: bool) -> Style:
    return Style.for_stream(sys.stdout, no_colour=no_colour)
