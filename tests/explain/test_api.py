"""The library API other commands use (train on a crashed run, the TUI, check --verify)."""

from __future__ import annotations

import io
import json
from importlib import resources

import jsonschema

from ftdoctor.explain import as_findings, explain_file, explain_stream, explain_text, finding_code
from ftdoctor.report import envelope
from ftdoctor.errors import ExitCode

LOG = ("step 1\nTraceback (most recent call last):\n"
       "RuntimeError: The detected CUDA version (12.4) mismatches the version that was used to compile\n"
       "      PyTorch (11.8). Please make sure to use the same CUDA versions.\n")


def test_text_stream_and_file_give_the_same_answer(tmp_path):
    path = tmp_path / "a.log"
    path.write_text(LOG)
    results = [explain_text(LOG), explain_stream(io.BytesIO(LOG.encode())), explain_file(path)]
    assert results[0].diagnoses == results[1].diagnoses == results[2].diagnoses
    top = results[0].diagnoses[0]
    assert top.category == "toolkit_mismatch" and top.confidence_label == "high"
    assert [e.line for e in top.evidence] == [3, 4]
    assert results[0].read.lines == 4 and results[0].facts_source == "none"


def test_findings_fit_the_shared_result_schema():
    schema = json.loads(resources.files("ftdoctor.report").joinpath("result.schema.json").read_text())
    findings = as_findings(explain_text(LOG))
    assert findings[0].code == finding_code("toolkit_mismatch") and findings[0].family == "explain"
    assert findings[0].location == "log line 3"
    body = json.loads(envelope.envelope("check", ExitCode.ERRORS, envelope.findings_data(findings)))
    jsonschema.validate(body, schema)


def test_finding_codes_are_stable_per_category():
    assert finding_code("driver_too_old") == "EXP101"
    assert finding_code("library_bug") == "EXP128"
