"""Findings as a Markdown summary for a CI job page (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab notes, ...).

A heading with the verdict, per machine: a table of the problems, their fixes as shell blocks, the rules
the settings ignored (with their reasons), and every check in a collapsed table. Text from findings is
escaped so that a `|`, `<` or newline in a message cannot break the table or inject markup.
"""

from __future__ import annotations

from ftdoctor.errors import ExitCode
from ftdoctor.findings import Finding, Severity
from ftdoctor.report.document import Report, Section
from ftdoctor.report.summary import counts, ignored

ICONS = {
    Severity.ERROR: "❌ error",
    Severity.WARNING: "⚠️ warning",
    Severity.INFO: "ℹ️ info",
    Severity.OK: "✅ ok",
    Severity.SKIPPED: "⏭️ skipped",
}
VERDICTS = {ExitCode.OK: "✅ passed", ExitCode.WARNINGS: "⚠️ warnings", ExitCode.ERRORS: "❌ failed"}


def cell(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return " ".join(escaped.split()) or " "


def render(report: Report, *, code: ExitCode, fail_on: str, verbose: bool = False) -> str:
    parts = report.parts()
    lines = [f"## ftdoctor {report.command}: {VERDICTS.get(code, 'could not run')}", "", _count_line(report.findings)]
    lines.append("Fails on errors only; warnings are reported." if fail_on == "error" else "Fails on warnings and errors.")
    for part in parts:
        lines.extend(_section(part, report.titles, level="###" if len(parts) > 1 else "", verbose=verbose))
    return "\n".join(lines) + "\n"


def _count_line(findings: list[Finding]) -> str:
    counted = counts(findings)
    plural = {Severity.ERROR: "errors", Severity.WARNING: "warnings"}
    words = [f"{counted[s.value]} {s.value if counted[s.value] == 1 else plural.get(s, s.value)}" for s in Severity]
    return ", ".join(words) + "."


def _section(part: Section, titles: dict[str, str], *, level: str, verbose: bool) -> list[str]:
    lines = [""]
    if level:
        lines += [f"{level} {cell(part.name)}", "", _count_line(part.findings), ""]
    if part.header:
        lines += ["<details><summary>Machine</summary>", "", "```text", *part.header, "```", "", "</details>", ""]
    problems = [f for f in part.findings if f.is_problem]
    lines += [*_table(problems, titles), ""] if problems else ["No problems found.", ""]
    lines += _fixes(problems)
    lines += _ignored([f for f in part.findings if ignored(f)])
    lines += _all_checks(part.findings, titles, open_=verbose)
    return lines


def _table(findings: list[Finding], titles: dict[str, str]) -> list[str]:
    rows = ["| Severity | Code | Area | Finding | Where |", "| --- | --- | --- | --- | --- |"]
    for f in findings:
        area = titles.get(f.family, f.family)
        rows.append(f"| {ICONS[f.severity]} | `{f.code}` | {cell(area)} | {cell(f.message)} | {cell(f.location or '')} |")
    return rows


def _fixes(problems: list[Finding]) -> list[str]:
    lines: list[str] = []
    for f in (f for f in problems if f.fixes):
        for fix in f.fixes:
            lines += [f"**{f.code}**: {cell(fix.summary)}" + (f" ([more]({fix.link}))" if fix.link else ""), ""]
            if fix.commands:
                fence = "~~~~" if any("```" in c for c in fix.commands) else "```"
                lines += [f"{fence}sh", *fix.commands, fence, ""]
    return (["#### Fixes", "", *lines] if lines else [])


def _ignored(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    return ["#### Ignored by settings", "", *(f"- `{f.code}` {cell(f.title)}: {cell(f.message)}" for f in findings), ""]


def _all_checks(findings: list[Finding], titles: dict[str, str], *, open_: bool) -> list[str]:
    opening = "<details open>" if open_ else "<details>"
    return [f"{opening}<summary>All {len(findings)} checks</summary>", "", *_table(findings, titles), "", "</details>"]
