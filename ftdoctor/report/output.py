"""Output options shared by every command that reports findings (check, train --dry-run, compare, ...),
and the one place that turns findings into text on stdout and an exit code.

Each format is one small module of this package (findings in, text out), imported only when asked for."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from ftdoctor.errors import ExitCode, InputFileError
from ftdoctor.report.document import Report, RuleDoc, Section
from ftdoctor.report.summary import exit_code
from ftdoctor.rules.settings import FAIL_ON

__all__ = ["FORMATS", "Report", "RuleDoc", "Section", "add_output_options", "emit", "render", "split_codes"]

FORMATS = ("terminal", "json", "junit", "github", "sarif", "markdown")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--format", choices=FORMATS, default="terminal",
        help="output format (default: terminal); junit, github (workflow annotations), sarif and markdown are for CI",
    )
    group.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    group.add_argument("-v", "--verbose", action="store_true", help="also show passing, informational and skipped checks")
    group.add_argument("--no-color", action="store_true", help="never colour the output (also: NO_COLOR=1)")
    group.add_argument(
        "--fail-on", choices=FAIL_ON, default=None,
        help="lowest severity that makes the exit code non-zero (default: warning, or [tool.ftdoctor] fail-on)",
    )
    group.add_argument("--select", action="append", metavar="CODES", help="only these rule codes or prefixes (comma-separated)")
    group.add_argument("--ignore", action="append", metavar="CODES", help="skip these rule codes or prefixes (comma-separated)")
    group.add_argument(
        "--step-summary", metavar="FILE",
        help='also append a Markdown summary to FILE (in GitHub Actions: "$GITHUB_STEP_SUMMARY")',
    )


def split_codes(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


def emit(report: Report, args: argparse.Namespace, fail_on: str) -> ExitCode:
    code = exit_code(report.findings, fail_on)
    verbose, no_colour = getattr(args, "verbose", False), getattr(args, "no_color", False)
    sys.stdout.write(render(report, args.format, code=code, fail_on=fail_on, verbose=verbose, no_colour=no_colour))
    if getattr(args, "step_summary", None):
        append_summary(args.step_summary, render(report, "markdown", code=code, fail_on=fail_on, verbose=verbose))
    return code


def render(
    report: Report, fmt: str, *, code: ExitCode, fail_on: str, verbose: bool = False, no_colour: bool = False
) -> str:
    match fmt:
        case "terminal":
            return _terminal(report, verbose, no_colour)
        case "json":
            from ftdoctor.report import envelope

            return envelope.envelope(report.command, code, envelope.report_data(report)) + "\n"
        case "junit":
            from ftdoctor.report import junit

            return junit.render(report, fail_on=fail_on, now=_now())
        case "github":
            from ftdoctor.report import github

            return github.render(report, verbose=verbose)
        case "sarif":
            from ftdoctor.report import sarif

            return sarif.render(report, code=code, verbose=verbose)
        case "markdown":
            from ftdoctor.report import markdown

            return markdown.render(report, code=code, fail_on=fail_on, verbose=verbose)
    raise AssertionError(f"unhandled format {fmt}")


def _terminal(report: Report, verbose: bool, no_colour: bool) -> str:
    from ftdoctor.report import terminal

    style = terminal.Style.for_stream(sys.stdout, no_colour=no_colour)
    parts = report.parts()
    texts = []
    for part in parts:
        header = ((f"== {part.name} ==",) if part.name else ()) + part.header
        texts.append(terminal.render(part.findings, titles=report.titles, verbose=verbose, style=style, header=header))
    if len(parts) > 1:
        texts.append(f"Overall ({len(parts)} sections): {terminal.summary_line(report.findings, style)}\n")
    return "\n".join(texts)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def append_summary(path: str, text: str) -> None:
    """Append, never replace: a job's summary file collects what every step writes to it."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputFileError(f"cannot append the step summary: {exc.strerror}", where=path) from None
