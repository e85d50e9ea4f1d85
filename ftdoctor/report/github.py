"""Findings as GitHub Actions workflow commands: `::error file=F,line=L,title=T::message`.

Errors and warnings become annotations of that level; rules the settings ignore become notices that say
why (a decision someone wrote down should stay visible); info, passes and other skips only with -v.
Config findings carry the file and line of their `location`, so the annotation lands on the line.

Escaping follows the runner's own rules: in the message `%`, CR and LF are percent-encoded; in property
values `:` and `,` are too, since they separate the properties.
"""

from __future__ import annotations

from ftdoctor.findings import Finding, Severity
from ftdoctor.report.document import Location, Report, fix_lines
from ftdoctor.report.summary import ignored

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
ANNOTATIONS_PER_STEP = 10  # GitHub shows 10 error and 10 warning annotations of a step and drops the rest
TOO_MANY = (
    f"GitHub shows only {ANNOTATIONS_PER_STEP} error and {ANNOTATIONS_PER_STEP} warning annotations per step: "
    "every finding is in this step's log and in the job summary (--step-summary)"
)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    given = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{level}{' ' + given if given else ''}::{escape_data(message)}"


def render(report: Report, *, verbose: bool = False) -> str:
    from ftdoctor.report.terminal import Style, summary_line

    lines = []
    for part in report.parts():
        for finding in part.findings:
            line = annotation(finding, machine=part.name, verbose=verbose)
            if line:
                lines.append(line)
    shown = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    if max(shown.count("error"), shown.count("warning"), 0) > ANNOTATIONS_PER_STEP:
        lines.append(command("notice", TOO_MANY, title=f"ftdoctor {report.command}: more findings than annotations"))
    lines.append(f"ftdoctor {report.command}: {summary_line(report.findings, Style(colour=False, unicode=True))}")
    return "\n".join(lines) + "\n"


def annotation(finding: Finding, *, machine: str = "", verbose: bool = False) -> str | None:
    level = LEVELS.get(finding.severity)
    if ignored(finding):
        level = "notice"
    elif level is None or (finding.severity == Severity.INFO and not verbose):
        if not verbose:
            return None
        level = "notice"
    where = Location.parse(finding.location)
    prefix = f"[{machine}] " if machine else ""
    status = " (skipped)" if finding.severity == Severity.SKIPPED else ""
    return command(
        level,
        _message(finding),
        file=where.file if where else None,
        line=where.line if where else None,
        col=where.column if where else None,
        title=f"{prefix}ftdoctor {finding.code}{status}: {finding.title}",
    )


def _message(finding: Finding) -> str:
    return "\n".join([finding.message, *fix_lines(finding)])
