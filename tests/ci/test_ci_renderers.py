"""The renderers as pure functions, on findings made to be awkward: config findings with file and line, text
full of the characters each format must escape, a crashed probe's control characters, several machines."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from ftdoctor.errors import ExitCode
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.report import github, junit, markdown, sarif
from ftdoctor.report.document import Location, Report, Section
from test_ci_formats import parse_annotation, table_rows

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
NOW = datetime(2026, 11, 22, 8, 30, 5, tzinfo=timezone.utc)
NASTY = "50% of steps: lr=1e-4, bf16\r\nthen | <b>fp16</b> & done: ok, 100%"


def config_finding(**changes) -> Finding:
    base = dict(
        code="CFG201", family="config", severity=Severity.ERROR, title="qlora needs 4-bit loading",
        message="adapter: qlora without load_in_4bit: true", location="configs/llama 3/qlora.yml:12",
        fixes=(Fix("set load_in_4bit: true", ("sed -i 's/load_in_4bit: false/load_in_4bit: true/' qlora.yml",)),),
    )
    return Finding(**{**base, **changes})


FINDINGS = [
    config_finding(),
    config_finding(code="CFG202", severity=Severity.WARNING, message=NASTY, location="a,b:c.yml:3:7", fixes=()),
    Finding("DRV100", "driver", Severity.OK, "An NVIDIA driver is installed and answers.", "driver 570.172.08"),
    Finding("TLK401", "toolkit", Severity.SKIPPED, "nvcc matches torch", "ignored: we never build extensions",
            evidence={"skipped_by": "ignore"}),
    Finding("ARC201", "architecture", Severity.SKIPPED, "bf16 needs sm_80", "not selected (--select / [tool.ftdoctor] select)",
            evidence={"skipped_by": "select"}),
    Finding("TOR301", "torch", Severity.INFO, "torch build", "crash output: \x1b[31mboom\x00\x07 done"),
]


def report(findings=FINDINGS, **changes) -> Report:
    return Report(command="train", findings=list(findings), titles={"config": "Training config"}, **changes)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("configs/a.yml:12", Location("configs/a.yml", 12)),
        ("a.yml:12:3", Location("a.yml", 12, 3)),
        ("a.yml", Location("a.yml")),
        ("C:\\runs\\a.yml:4", Location("C:\\runs\\a.yml", 4)),
        ("", None),
        (None, None),
    ],
)
def test_location_parsing(text, expected):
    assert Location.parse(text) == expected


# --- GitHub -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [NASTY, "%0A is not a newline", "a%25b", "::error::", "key=value,other=x", "", "é ✓ \t"])
def test_github_escaping_round_trips(text):
    line = github.command("warning", text, file=text or "x", title=text or "t")
    assert "\n" not in line and "\r" not in line
    parsed = parse_annotation(line)
    assert parsed["message"] == text
    assert parsed["file"] == (text or "x") and parsed["title"] == (text or "t")


def test_github_config_findings_land_on_their_line():
    lines = github.render(report()).splitlines()
    first = parse_annotation(lines[0])
    assert first["level"] == "error"
    assert (first["file"], first["line"]) == ("configs/llama 3/qlora.yml", "12")
    assert first["title"] == "ftdoctor CFG201: qlora needs 4-bit loading"
    assert first["message"].endswith("$ sed -i 's/load_in_4bit: false/load_in_4bit: true/' qlora.yml")
    second = parse_annotation(lines[1])
    assert (second["file"], second["line"], second["col"], second["message"]) == ("a,b:c.yml", "3", "7", NASTY)


def test_github_shows_ignored_rules_and_hides_the_rest_unless_verbose():
    quiet = [parse_annotation(line) for line in github.render(report()).splitlines() if line.startswith("::")]
    assert [a["title"].split()[1] for a in quiet] == ["CFG201:", "CFG202:", "TLK401"]
    assert quiet[2] == {
        "level": "notice", "title": "ftdoctor TLK401 (skipped): nvcc matches torch",
        "message": "ignored: we never build extensions",
    }
    loud = [line for line in github.render(report(), verbose=True).splitlines() if line.startswith("::")]
    assert len(loud) == len(FINDINGS)


# --- JUnit --------------------------------------------------------------------------------------------

def test_junit_escapes_and_strips_what_xml_cannot_hold():
    text = junit.render(report(), fail_on="warning", now=NOW)
    for name in ("junit-ant.xsd", "junit-jenkins-10.xsd"):
        xmlschema.XMLSchema(str(SCHEMAS / name)).validate(text)
    suite = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")).to_dict(text)["testsuite"][0]
    assert suite["@timestamp"] == "2026-11-22T08:30:05"
    cases = {c["@name"].split()[0]: c for c in suite["testcase"]}
    assert cases["CFG202"]["failure"]["@message"] == NASTY
    assert "at configs/llama 3/qlora.yml:12" in cases["CFG201"]["failure"]["$"]
    assert cases["TLK401"]["skipped"]["@message"] == "ignored: we never build extensions"
    assert "failure" not in cases["TOR301"] and "skipped" not in cases["TOR301"]
    assert "\x00" not in text and "\x1b" not in text


def test_junit_suite_per_machine_uses_the_snapshot_time():
    sections = (
        Section("node1", [FINDINGS[0]], source="facts/node1.json", collected_at="2026-11-20T10:00:00+02:00"),
        Section("node2", [FINDINGS[2]], source="facts/node2.json"),
    )
    text = junit.render(report(FINDINGS[:1] + FINDINGS[2:3], sections=sections), fail_on="warning", now=NOW)
    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd"))
    schema.validate(text)
    suites = schema.to_dict(text)["testsuite"]
    assert [(s["@hostname"], s["@timestamp"], s["@failures"]) for s in suites] == [
        ("node1", "2026-11-20T08:00:00", 1), ("node2", "2026-11-22T08:30:05", 0)
    ]


def test_the_junit_schemas_are_strict_enough_to_catch_a_broken_document():
    text = junit.render(report(), fail_on="warning", now=NOW)
    strict = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd"))
    assert "<system-err />" in text
    for broken in (text.replace(' hostname="localhost"', ""), text.replace("<system-err />", "")):
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            strict.validate(broken)


# --- SARIF --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif_schema():
    return json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())


def test_sarif_regions_kinds_and_ignored_rules(sarif_schema):
    log = json.loads(sarif.render(report(), code=ExitCode.ERRORS, verbose=True))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    run = log["runs"][0]
    results = {r["ruleId"]: r for r in run["results"]}
    first = results["CFG201"]["locations"][0]["physicalLocation"]
    assert first == {
        "artifactLocation": {"uri": "configs/llama%203/qlora.yml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12},
    }
    assert results["CFG202"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 7}
    assert (results["CFG201"]["kind"], results["CFG201"]["level"]) == ("fail", "error")
    assert (results["DRV100"]["kind"], results["DRV100"]["level"]) == ("pass", "none")
    assert (results["TLK401"]["kind"], results["TOR301"]["kind"]) == ("notApplicable", "informational")
    overrides = run["invocations"][0]["ruleConfigurationOverrides"]
    assert [(o["descriptor"]["id"], o["configuration"]["enabled"], o["properties"]["reason"]) for o in overrides] == [
        ("TLK401", False, "ignored: we never build extensions"),
        ("ARC201", False, "not selected (--select / [tool.ftdoctor] select)"),
    ]


def test_sarif_without_verbose_reports_only_problems(sarif_schema):
    log = json.loads(sarif.render(report(), code=ExitCode.ERRORS))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["CFG201", "CFG202"]


def test_sarif_names_the_machine_of_each_result(sarif_schema):
    sections = (Section("node1", [FINDINGS[0]], source="/abs/facts/node1.json"), Section("node2", [FINDINGS[1]]))
    log = json.loads(sarif.render(report(FINDINGS[:2], sections=sections), code=ExitCode.ERRORS))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    assert [r["properties"]["machine"] for r in results] == ["node1", "node2"]
    assert [r["locations"][0]["logicalLocations"][0]["name"] for r in results] == ["node1", "node2"]
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]
    assert sarif.artifact("/abs/facts/node1.json") == {"uri": "file:///abs/facts/node1.json"}


# --- Markdown -----------------------------------------------------------------------------------------

def test_markdown_escapes_cells_and_lists_ignored_rules():
    text = markdown.render(report(), code=ExitCode.ERRORS, fail_on="warning")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows = table_rows(tokens)
    assert len(rows) == 2 + len(FINDINGS)  # two problems, then every check
    assert all(len(row) == 5 for row in rows)  # a `|` in a message did not add a column
    assert "<b>" not in text and "&lt;b&gt;fp16&lt;/b&gt;" in text
    assert "#### Ignored by settings" in text
    assert "- `TLK401` nvcc matches torch: ignored: we never build extensions" in text
    assert "ARC201" not in text.split("#### Ignored by settings")[1].split("<details>")[0]


def test_markdown_has_a_section_per_machine():
    sections = (Section("node1", [FINDINGS[0]]), Section("node2", [FINDINGS[2]]))
    text = markdown.render(report(FINDINGS[:1] + FINDINGS[2:3], sections=sections), code=ExitCode.ERRORS, fail_on="warning")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    h3 = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h3"]
    assert h3 == ["node1", "node2"]


def test_github_says_when_there_are_more_findings_than_it_shows():
    many = [config_finding(code=f"CFG{200 + i}", location=f"c.yml:{i + 1}") for i in range(11)]
    lines = github.render(report(many)).splitlines()
    notice = parse_annotation(lines[-2])
    assert notice["level"] == "notice" and "only 10 error and 10 warning annotations" in notice["message"]
    assert not any("more findings than annotations" in line for line in github.render(report(many[:10])).splitlines())


def test_junit_names_each_case_of_a_rule_that_fires_twice():
    twice = [config_finding(), config_finding(location="configs/dpo.yml:3"), config_finding(location=None),
             config_finding(location=None), FINDINGS[2]]
    text = junit.render(report(twice), fail_on="warning", now=NOW)
    xmlschema.XMLSchema(str(SCHEMAS / "junit-jenkins-10.xsd")).validate(text)
    cases = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")).to_dict(text)["testsuite"][0]["testcase"]
    names = [c["@name"] for c in cases]
    # a CI report keys cases by name: a shared name would show one failure and hide the others
    assert len(set(names)) == len(names) == 5
    assert names[:4] == ["CFG201 qlora needs 4-bit loading at configs/llama 3/qlora.yml:12",
                         "CFG201 qlora needs 4-bit loading at configs/dpo.yml:3",
                         "CFG201 qlora needs 4-bit loading #3", "CFG201 qlora needs 4-bit loading #4"]
    assert names[4] == "DRV100 An NVIDIA driver is installed and answers."
