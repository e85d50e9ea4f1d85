"""Output options shared by every command that reports findings (check, train --dry-run, compare, ...),
and the one place that turns findings into text on stdout and an exit code."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from ftdoctor.errors import ExitCode
from ftdoctor.findings import Finding
from ftdoctor.report import envelope, terminal
from ftdoctor.report.summary import exit_code
from ftdoctor.rules.settings import FAIL_ON

FORMATS = ("terminal", "json")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--format", choices=FORMATS, default="terminal", help="output format (default: terminal)")
    group.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    group.add_argument("-v", "--verbose", action="store_true", help="also show passing, informational and skipped checks")
    group.add_argument("--no-color", action="store_true", help="never colour the output (also: NO_COLOR=1)")
    group.add_argument(
        "--fail-on", choices=FAIL_ON, default=None,
        help="lowest severity that makes the exit code non-zero (default: warning, or [tool.ftdoctor] fail-on)",
    )
    group.add_argument("--select", action="append", metavar="CODES", help="only these rule codes or prefixes (comma-separated)")
    group.add_argument("--ignore", action="append", metavar="CODES", help="skip these rule codes or prefixes (comma-separated)")


def split_codes(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


@dataclass(frozen=True)
class Report:
    command: str
    findings: list[Finding]
    titles: dict[str, str]
    header: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # extra JSON data (facts source, estimate, ...)


def emit(report: Report, args: argparse.Namespace, fail_on: str) -> ExitCode:
    code = exit_code(report.findings, fail_on)
    match args.format:
        case "json":
            body = envelope.findings_data(report.findings, **report.data)
            sys.stdout.write(envelope.envelope(report.command, code, body) + "\n")
        case "terminal":
            style = terminal.Style.for_stream(sys.stdout, no_colour=args.no_color)
            sys.stdout.write(
                terminal.render(report.findings, titles=report.titles, verbose=args.verbose, style=style, header=report.header)
            )
        case other:
            raise AssertionError(f"unhandled format {other}")
    return code
