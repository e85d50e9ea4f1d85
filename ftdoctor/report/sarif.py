"""Findings as SARIF 2.1.0, for code-scanning tools.

One run. The driver lists every rule that ran (from the registry: title, help, default level). Results are
the problems (kind "fail", level error/warning) and, with -v, the rest with their own kind (informational,
pass, notApplicable, level "none"), because code-scanning services show every result as an alert whatever
its kind. Rules the settings switched off are recorded as configuration overrides of the invocation, with
the reason, so an ignored rule stays visible.

Every result has a location: the config file and line of a config finding, else the facts file a machine
was judged from; a logical location names the machine. A live machine has no file to point at, so its
results carry only the logical one (code-scanning uploads want a file: judge a saved snapshot there).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from ftdoctor import __version__
from ftdoctor.errors import ExitCode
from ftdoctor.findings import Finding, Severity
from ftdoctor.report.document import Location, Report, RuleDoc, fix_lines
from ftdoctor.rules.engine import SKIPPED_BY

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
KINDS = {Severity.INFO: "informational", Severity.OK: "pass", Severity.SKIPPED: "notApplicable"}


def render(report: Report, *, code: ExitCode, verbose: bool = False) -> str:
    docs = _rule_docs(report)
    index = {doc.code: i for i, doc in enumerate(docs)}
    results = [
        _result(f, part.name, part.source, index)
        for part in report.parts()
        for f in part.findings
        if verbose or f.is_problem
    ]
    run = {
        "tool": {"driver": _driver(docs)},
        "invocations": [_invocation(report, code, index)],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _rule_docs(report: Report) -> list[RuleDoc]:
    """The registry's rules, plus any code a finding carries that the report did not list."""
    docs = {doc.code: doc for doc in report.rules}
    for finding in report.findings:
        if finding.code not in docs:
            docs[finding.code] = RuleDoc(
                finding.code, finding.family, finding.code, finding.title, finding.title, Severity.ERROR
            )
    return sorted(docs.values(), key=lambda d: d.code)


def _driver(docs: list[RuleDoc]) -> dict[str, Any]:
    return {
        "name": "ftdoctor",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_descriptor(doc) for doc in docs],
    }


def _descriptor(doc: RuleDoc) -> dict[str, Any]:
    return {
        "id": doc.code,
        "name": doc.name,
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": doc.help},
        "help": {"text": doc.help, "markdown": doc.help},
        "defaultConfiguration": {"level": LEVELS.get(doc.severity, "note")},
        "properties": {"tags": ["ftdoctor", doc.family]},
    }


def _invocation(report: Report, code: ExitCode, index: dict[str, int]) -> dict[str, Any]:
    overrides: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        if finding.severity == Severity.SKIPPED and SKIPPED_BY in finding.evidence:
            overrides[finding.code] = {
                "descriptor": {"id": finding.code, "index": index[finding.code]},
                "configuration": {"enabled": False},
                "properties": {"reason": finding.message, "setting": finding.evidence[SKIPPED_BY]},
            }
    return {
        "executionSuccessful": True,
        "exitCode": int(code),
        "ruleConfigurationOverrides": list(overrides.values()),
    }


def _result(finding: Finding, machine: str, source: str, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.code, "ruleIndex": index[finding.code]}
    if finding.severity in KINDS:
        result.update(kind=KINDS[finding.severity], level="none")
    else:
        result.update(kind="fail", level=LEVELS[finding.severity])
    result["message"] = {"text": _message(finding)}
    result["locations"] = [_location(finding, machine, source)]
    result["partialFingerprints"] = {"ftdoctorFinding/v1": _fingerprint(finding, machine)}
    result["properties"] = {"severity": finding.severity.value, "family": finding.family, "evidence": finding.evidence}
    if machine:
        result["properties"]["machine"] = machine
    return result


def _message(finding: Finding) -> str:
    return "\n".join([finding.message, *fix_lines(finding)])


def _location(finding: Finding, machine: str, source: str) -> dict[str, Any]:
    location: dict[str, Any] = {}
    where = Location.parse(finding.location)
    if where:
        region = {"startLine": where.line} if where.line else {}
        if where.line and where.column:
            region["startColumn"] = where.column
        location["physicalLocation"] = {"artifactLocation": artifact(where.file), **({"region": region} if region else {})}
    elif source:
        location["physicalLocation"] = {"artifactLocation": artifact(source)}
    location["logicalLocations"] = [{"name": machine or "this machine", "kind": "resource"}]
    return location


def artifact(path: str) -> dict[str, Any]:
    """A file as a URI: relative paths stay relative to the source root, absolute ones become file URIs."""
    pure = PureWindowsPath(path) if "\\" in path else PurePath(path)
    if pure.is_absolute():
        return {"uri": pure.as_uri()}
    return {"uri": quote(pure.as_posix()), "uriBaseId": "%SRCROOT%"}


def _fingerprint(finding: Finding, machine: str) -> str:
    key = "\0".join((finding.code, machine, finding.location or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
