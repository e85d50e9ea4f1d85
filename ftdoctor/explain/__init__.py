"""`ftdoctor explain`: name the root cause of a failed fine-tuning run from its log, and the fix.

Library API (used by `ftdoctor explain`, `ftdoctor train` on a crashed run's log, the TUI and
`check --verify` for a failed smoke test)::

    from ftdoctor.explain import explain_text, explain_stream, explain_file

    result = explain_file("train.log", facts=facts)      # facts: ftdoctor.facts.model.Facts | None
    result = explain_text(log_string)                    # a str already in memory (also: matrix=...)
    result = explain_stream(binary_file_object)          # any readable binary stream (stdin.buffer)
    if result.found:
        top = result.diagnoses[0]                        # most likely first
        top.category, top.cause, top.fixes, top.evidence, top.confidence
        findings = as_findings(result)                   # the shared Finding type, codes EXP101..EXP128

`Explanation` (model.py): `diagnoses` (tuple of `Diagnosis`, most likely first; empty when no known cause),
`read` (`ReadStats`: bytes, lines, encoding, replaced, ansi_stripped), `facts_source`, `last_error` (the
last error-looking line, for a "no known cause" report). `Diagnosis`: `category` (one of the vocabulary in
categories.toml), `category_title`, `signature` (the id of the knowledge entry), `title`, `cause` (one
sentence with the log's specifics), `confidence` (0..1) and `confidence_label`, `fixes` (`Fix`: summary,
commands, link; the commands target this environment when facts are given), `evidence` (`Evidence`: line
number and text), `specifics` (values pulled from the log), `source` (the public thread or release note
that established the cause), `matches`, `facts_used`, `notes` (what the facts add).

Nothing here imports torch or any other heavy library; reading is streamed (any size, bounded memory) and
decodes any encoding with errors replaced. The knowledge lives in `signatures/*.toml`, not in code.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from ftdoctor.explain.model import Diagnosis, Evidence, Explanation, ReadStats

__all__ = [
    "Diagnosis", "Evidence", "Explanation", "ReadStats", "as_findings", "explain_file", "explain_stream",
    "explain_text", "finding_code",
]


def explain_stream(stream: BinaryIO, *, facts=None, facts_source: str | None = None, matrix=None) -> Explanation:
    """Explain a log read from a binary stream, chunk by chunk. `matrix`: the compatibility matrix the fixes are
    chosen from (default: ftdoctor's own; a rule passes the one it judges with)."""
    from ftdoctor.explain.catalog import load_catalog
    from ftdoctor.explain.context import facts_values
    from ftdoctor.explain.decode import ReadState, iter_text
    from ftdoctor.explain.rank import Setting, diagnose
    from ftdoctor.explain.scan import Scanner
    from ftdoctor.matrix import load_matrix

    catalog = load_catalog()
    scanner = Scanner(_index(catalog))
    state = ReadState()
    for text in iter_text(stream, state):
        scanner.feed(text)
    scan = scanner.finish()
    matrix = matrix or load_matrix()
    setting = Setting(catalog, facts_values(facts, matrix), facts, matrix)
    read = ReadStats(bytes=state.bytes, lines=scan.lines, encoding=state.encoding, replaced=state.replaced,
                     ansi_stripped=scan.ansi)
    source = facts_source or ("given" if facts is not None else "none")
    return Explanation(tuple(diagnose(scan, setting)), read, source, scan.last_error)


def explain_text(text: str, *, facts=None, facts_source: str | None = None, matrix=None) -> Explanation:
    """Explain a log already in memory."""
    data = io.BytesIO(text.encode("utf-8", errors="replace"))
    return explain_stream(data, facts=facts, facts_source=facts_source, matrix=matrix)


def explain_file(path: str | Path, *, facts=None, facts_source: str | None = None) -> Explanation:
    """Explain a log file (read as a stream; OSError propagates for the caller to report)."""
    with open(path, "rb") as stream:
        return explain_stream(stream, facts=facts, facts_source=facts_source)


def finding_code(category: str) -> str:
    """A stable finding code per category: EXP101 for the first category of categories.toml, and so on."""
    from ftdoctor.explain.catalog import load_catalog

    return f"EXP{101 + list(load_catalog().categories).index(category)}"


def as_findings(explanation: Explanation, log: str | None = None) -> list:
    """The diagnoses as `Finding`s (family "explain"), most likely first, for renderers of findings. With the
    log's file name, each is located at `LOG:LINE` of its first evidence line (annotations, SARIF)."""
    return [d.as_finding(finding_code(d.category), log) for d in explanation.diagnoses]


def _index(catalog):
    from ftdoctor.explain.scan import Index

    key = id(catalog)
    if _INDEX.get("key") != key:
        _INDEX.update(key=key, index=Index(catalog))
    return _INDEX["index"]


_INDEX: dict = {}
