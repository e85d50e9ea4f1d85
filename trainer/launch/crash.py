"""What went wrong in a crashed run, from its log.

The log goes through `ftdoctor explain` (`ftdoctor.explain.explain_file`) when this ftdoctor has it: the
most likely cause and its fixes. Without it, or when no known cause matches, the last error line the
processes printed is shown. The log itself always stays in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Fix

FAILED = "ftdoctor: training failed:"
ERROR_MARKS = ("Error:", "Error ", "error:", "Traceback", "Killed", "Segmentation fault")


@dataclass(frozen=True)
class CrashReport:
    cause: str
    fixes: tuple[Fix, ...] = ()
    explained_by: str = "log"  # "ftdoctor explain" | "log"
    evidence: str = ""  # the log line it rests on
    details: dict = field(default_factory=dict)

    def as_data(self) -> dict:
        from ftdoctor.typed_data import to_plain

        return to_plain(self)


def explain_crash(log: Path, facts: Facts | None = None) -> CrashReport:
    explained = _explain(log, facts)
    if explained is not None:
        return explained
    return CrashReport(cause=last_error(log) or "the processes exited without an error message", evidence="")


def _explain(log: Path, facts: Facts | None) -> CrashReport | None:
    try:
        from ftdoctor.explain import explain_file  # `ftdoctor explain`, when this build has it
    except ImportError:
        return None
    if not log.is_file():
        return None
    try:
        result = explain_file(log, facts=facts)
    except Exception as exc:  # noqa: BLE001 - a failing explainer must not hide the crash it was asked about
        return CrashReport(cause=last_error(log) or "the processes failed", details={"explain_error": repr(exc)})
    if not result.diagnoses:
        return None
    top = result.diagnoses[0]
    evidence = top.evidence[0].text if top.evidence else ""
    fixes = tuple(Fix(f.summary, tuple(f.commands), f.link) for f in top.fixes)
    return CrashReport(cause=top.cause, fixes=fixes, explained_by="ftdoctor explain", evidence=evidence,
                       details={"category": top.category, "signature": top.signature,
                                "confidence": top.confidence})


def last_error(log: Path, tail_bytes: int = 256 * 1024) -> str:
    """The worker's own failure line, else the last line that looks like an error (read from the log's end)."""
    if not log.is_file():
        return ""
    with log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - tail_bytes))
        lines = handle.read().decode("utf-8", "replace").replace("\r", "\n").splitlines()
    own = [ln for ln in lines if ln.startswith(FAILED)]
    if own:
        return own[-1][len(FAILED):].strip()
    errors = [ln.strip() for ln in lines if any(mark in ln for mark in ERROR_MARKS)]
    return errors[-1] if errors else ""
