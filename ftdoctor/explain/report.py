"""An explanation as terminal text and as the `data` of the JSON envelope.

JSON data shape (`ftdoctor explain --json`, inside the shared envelope; schema: explain.schema.json)::

    {"input": {"kind": "file"|"stdin"|"command", "name": str, "command": {...} | null},
     "read": {"bytes": int, "lines": int, "encoding": str, "replaced": bool, "ansi_stripped": bool},
     "facts": {"source": "live"|"snapshot"|"none", ...},
     "found": bool,
     "diagnoses": [{"rank": 1, "category": str, "category_title": str, "signature": str, "title": str,
                    "cause": str, "confidence": float, "confidence_label": "high"|"medium"|"low",
                    "fixes": [{"summary": str, "commands": [str], "link": str|null}],
                    "evidence": [{"line": int, "text": str}], "specifics": {str: str},
                    "source": str, "matches": int, "facts_used": bool, "notes": [str]}],
     "last_error": {"line": int, "text": str} | null,
     "signatures": int}
"""

from __future__ import annotations

from typing import Any

from ftdoctor.explain.model import Diagnosis, Explanation
from ftdoctor.findings import Severity
from ftdoctor.report.terminal import Style
from ftdoctor.typed_data import to_plain


def data(explanation: Explanation, source: dict[str, Any], facts: dict[str, Any], signatures: int) -> dict[str, Any]:
    return {
        "input": source,
        "read": to_plain(explanation.read),
        "facts": facts,
        "found": explanation.found,
        "diagnoses": [_diagnosis_data(i, d) for i, d in enumerate(explanation.diagnoses, start=1)],
        "last_error": to_plain(explanation.last_error) if explanation.last_error else None,
        "signatures": signatures,
    }


def _diagnosis_data(rank: int, diagnosis: Diagnosis) -> dict[str, Any]:
    plain = to_plain(diagnosis)
    return {"rank": rank, **plain, "confidence_label": diagnosis.confidence_label}


def render(explanation: Explanation, *, header: list[str], style: Style, limit: int, signatures: int) -> str:
    lines = list(header)
    if lines:
        lines.append("")
    shown = explanation.diagnoses[:limit] if limit else explanation.diagnoses
    for rank, diagnosis in enumerate(shown, start=1):
        lines.extend(_diagnosis_lines(rank, diagnosis, style))
        lines.append("")
    hidden = len(explanation.diagnoses) - len(shown)
    if hidden:
        lines.append(f"{hidden} less likely diagnos{'is' if hidden == 1 else 'es'} not shown (--all shows every one)")
        lines.append("")
    if not explanation.found:
        lines.extend(_no_cause_lines(explanation, style, signatures))
    return "\n".join(lines).rstrip("\n") + "\n"


def _diagnosis_lines(rank: int, d: Diagnosis, style: Style) -> list[str]:
    mark = style.paint(f"{rank}.", Severity.ERROR if rank == 1 else Severity.WARNING)
    lines = [f"{mark} {style.bold(d.category_title)} [{d.category}] — confidence {d.confidence_label} ({d.confidence:.2f})",
             f"   cause: {d.cause}"]
    lines += [f"   note: {note}" for note in d.notes]
    more = d.matches - len(d.evidence)
    lines.append("   evidence:" + (f" ({d.matches} matching lines, {len(d.evidence)} shown)" if more > 0 else ""))
    lines += [f"     line {e.line}: {e.text}" for e in d.evidence]
    for fix in d.fixes:
        lines.append(f"   fix: {fix.summary}")
        lines += [f"     $ {command}" for command in fix.commands]
        if fix.link:
            lines.append(f"     see {fix.link}")
    lines.append(f"   source: {d.source}")
    return lines


def _no_cause_lines(explanation: Explanation, style: Style, signatures: int) -> list[str]:
    lead = style.paint("No known cause", Severity.WARNING)
    lines = [f"{lead}: nothing in the log matches one of ftdoctor's {signatures} signatures."]
    if explanation.last_error:
        lines.append(f"  last error-looking line: line {explanation.last_error.line}: {explanation.last_error.text}")
    if explanation.read.replaced:
        lines.append(f"  note: some bytes were not valid {explanation.read.encoding} and were replaced")
    lines.append("  If this is a fine-tuning failure ftdoctor should know, the log and the fix that worked make a good report.")
    return lines
