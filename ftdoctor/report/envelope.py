"""The versioned JSON envelope every `--format json` output uses. Its schema is `result.schema.json` beside
this file; a contract test pins it. Bump RESULT_VERSION on any incompatible change."""

from __future__ import annotations

import json
from typing import Any

from ftdoctor.errors import ExitCode, FtdoctorError
from ftdoctor.findings import Finding
from ftdoctor.report.document import Report
from ftdoctor.report.summary import counts, status_word
from ftdoctor.typed_data import to_plain

RESULT_VERSION = "1"


def envelope(command: str, code: ExitCode, data: dict[str, Any], errors: list[dict[str, Any]] | None = None) -> str:
    body = {
        "ftdoctor_result_version": RESULT_VERSION,
        "command": command,
        "status": status_word(code),
        "exit_code": int(code),
        "data": data,
        "errors": errors or [],
    }
    return json.dumps(body, indent=2)


def findings_data(findings: list[Finding], **extra: Any) -> dict[str, Any]:
    return {"summary": counts(findings), "findings": [to_plain(f) for f in findings], **extra}


def report_data(report: Report) -> dict[str, Any]:
    """One machine: its findings. Several: every finding in `findings` (so a simple reader misses none),
    and each machine's own in `machines`."""
    data = findings_data(report.findings, **report.data)
    if report.sections:
        data["machines"] = [
            {"name": s.name, "source": s.source, **findings_data(s.findings)} for s in report.sections
        ]
    return data


def error_envelope(command: str, exc: FtdoctorError) -> str:
    error = {"code": exc.code, "message": exc.what, "where": exc.where, "hint": exc.hint}
    return envelope(command, exc.exit_code, {}, [error])
