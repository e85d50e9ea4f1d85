"""Findings as JUnit XML, the test-report format every CI system displays.

One <testsuite> per machine, one <testcase> per rule: a problem that fails the run (an error, or a warning
under `--fail-on warning`) is a <failure> whose text carries the fix; a skipped rule is <skipped> with its
reason; everything else passes. Warnings that do not fail the run are listed in the suite's <system-out>.

The document validates against both the strict Apache Ant JUnit schema (required timestamp, hostname,
properties, system-out/err, no extra attributes) and Jenkins' lenient one, so that every consumer reads it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone

from ftdoctor import __version__
from ftdoctor.findings import Finding, Severity
from ftdoctor.report.document import Report, Section, fix_lines

# Characters XML 1.0 cannot carry at all (a crashed probe's output may hold them).
NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return NOT_XML.sub("\ufffd", text)


def render(report: Report, *, fail_on: str, now: datetime) -> str:
    # The root carries no attributes: the strict schema allows none there, and readers total the suites.
    root = ET.Element("testsuites")
    for index, part in enumerate(report.parts()):
        root.append(_suite(report, part, index, fail_on, now))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def fails(finding: Finding, fail_on: str) -> bool:
    return finding.severity == Severity.ERROR or (finding.severity == Severity.WARNING and fail_on == "warning")


def _suite(report: Report, part: Section, index: int, fail_on: str, now: datetime) -> ET.Element:
    name = f"ftdoctor {report.command}" + (f" {part.name}" if part.name else "")
    suite = ET.Element("testsuite", name=clean(name), package="ftdoctor", id=str(index))
    suite.set("timestamp", _timestamp(part.collected_at, now))
    suite.set("hostname", clean(part.name) or "localhost")
    properties = ET.SubElement(suite, "properties")
    for key, value in _properties(report, part, fail_on):
        ET.SubElement(properties, "property", name=key, value=clean(value))
    repeated = Counter(f.code for f in part.findings)
    seen: Counter[str] = Counter()
    named: set[str] = set()
    for finding in part.findings:
        seen[finding.code] += 1
        # CI test reports key cases by name: a rule that fires twice (two config lines, two GPUs) would show
        # one case and hide the other failure.
        suffix = ""
        if repeated[finding.code] > 1:
            suffix = f" at {finding.location}" if finding.location else f" #{seen[finding.code]}"
            if finding.code + suffix in named:
                suffix += f" #{seen[finding.code]}"
        named.add(finding.code + suffix)
        suite.append(_case(finding, report.titles, fail_on, suffix))
    counted = {
        "tests": len(part.findings),
        "failures": sum(fails(f, fail_on) for f in part.findings),
        "errors": 0,
        "skipped": sum(f.severity == Severity.SKIPPED for f in part.findings),
    }
    for key, value in counted.items():
        suite.set(key, str(value))
    suite.set("time", "0")
    ET.SubElement(suite, "system-out").text = clean(_system_out(part, fail_on))
    ET.SubElement(suite, "system-err").text = ""
    return suite


def _properties(report: Report, part: Section, fail_on: str) -> list[tuple[str, str]]:
    items = [("ftdoctor.version", __version__), ("ftdoctor.command", report.command), ("ftdoctor.fail-on", fail_on)]
    if part.source:
        items.append(("ftdoctor.facts", part.source))
    return items


def _case(finding: Finding, titles: dict[str, str], fail_on: str, suffix: str = "") -> ET.Element:
    family = titles.get(finding.family, finding.family)
    case = ET.Element("testcase", name=clean(f"{finding.code} {finding.title}{suffix}"), time="0")
    case.set("classname", clean(f"ftdoctor.{finding.family}") if finding.family else "ftdoctor")
    if fails(finding, fail_on):
        failure = ET.SubElement(case, "failure", type=finding.severity.value, message=clean(finding.message))
        failure.text = clean(_details(finding, family))
    elif finding.severity == Severity.SKIPPED:
        ET.SubElement(case, "skipped", message=clean(finding.message))
    return case


def _details(finding: Finding, family: str) -> str:
    lines = [f"{finding.code} ({family}): {finding.message}"]
    if finding.location:
        lines.append(f"at {finding.location}")
    for key, value in finding.evidence.items():
        lines.append(f"  {key}: {value}")
    lines.extend(fix_lines(finding))
    return "\n".join(lines)


def _system_out(part: Section, fail_on: str) -> str:
    lines = list(part.header)
    quiet = [f for f in part.findings if f.severity == Severity.WARNING and not fails(f, fail_on)]
    if quiet:
        lines.append(f"warnings that do not fail the run (--fail-on {fail_on}):")
        lines.extend(f"  {f.code} {f.message}" for f in quiet)
    return "\n".join(lines)


def _timestamp(collected_at: str, now: datetime) -> str:
    """The schema's form: YYYY-MM-DDTHH:MM:SS in UTC, no zone, no fraction."""
    moment = now
    if collected_at:
        try:
            moment = datetime.fromisoformat(collected_at.replace("Z", "+00:00"))
        except ValueError:
            moment = now
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
