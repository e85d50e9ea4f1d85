"""The JSON envelope is a published contract: this test pins it against the schema shipped in the package."""

import json
from importlib import resources

import jsonschema
import pytest

from ftdoctor.errors import ExitCode, InputFileError
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.report import envelope


@pytest.fixture(scope="module")
def schema():
    return json.loads(resources.files("ftdoctor.report").joinpath("result.schema.json").read_text())


def test_findings_envelope_matches_the_schema(schema):
    findings = [
        Finding("DRV101", "driver", Severity.ERROR, "title", "message", {"driver": "535.104.05"},
                (Fix("upgrade", ("sudo apt install nvidia-driver-580",), "https://example.invalid"),)),
        Finding("TOR300", "torch", Severity.OK, "t", "m"),
    ]
    body = json.loads(envelope.envelope("check", ExitCode.ERRORS, envelope.findings_data(findings, facts_source="live")))
    jsonschema.validate(body, schema)
    assert body["status"] == "errors" and body["exit_code"] == 2
    assert body["data"]["summary"] == {"error": 1, "warning": 0, "info": 0, "ok": 1, "skipped": 0}
    assert set(body["data"]["findings"][0]) == {
        "code", "family", "severity", "title", "message", "evidence", "fixes", "location"
    }


def test_error_envelope_matches_the_schema(schema):
    body = json.loads(envelope.error_envelope("check", InputFileError("no such file", where="x.json")))
    jsonschema.validate(body, schema)
    assert body["exit_code"] == 3


def test_live_check_output_matches_the_schema(cli, schema):
    result = cli("check", "--no-torch", "--json")
    body = json.loads(result.stdout)
    jsonschema.validate(body, schema)
    assert body["exit_code"] == result.returncode
