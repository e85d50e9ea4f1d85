"""Every CI format, produced by the real CLI from saved machines and checked against its published schema:
SARIF against the OASIS 2.1.0 JSON schema, JUnit against the strict Ant XSD and Jenkins' XSD (xmlschema),
GitHub annotations by an independent parser, Markdown by its parsed structure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from ci_machines import snapshots

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
FORMATS = ("junit", "github", "sarif", "markdown")


@pytest.fixture(scope="module")
def machines(tmp_path_factory) -> list[Path]:
    return snapshots(tmp_path_factory.mktemp("machines"))


@pytest.fixture(scope="module")
def outputs(machines, cli):
    """(machine, format) -> (exit code, stdout, the same machine's JSON envelope)."""
    run_cli = cli

    results = {}
    for path in machines:
        reference = run_cli("check", "--facts", str(path), "--json").json()
        for fmt in FORMATS:
            result = run_cli("check", "--facts", str(path), "--format", fmt)
            assert result.stderr == "", result.stderr
            assert result.returncode == reference["exit_code"], (path.name, fmt)
            results[path.stem, fmt] = (result.returncode, result.stdout, reference)
    return results


def each(outputs, fmt):
    return [(machine, value) for (machine, f), value in outputs.items() if f == fmt]


# --- JUnit ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def junit_schemas():
    return [xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")), xmlschema.XMLSchema(str(SCHEMAS / "junit-jenkins-10.xsd"))]


def test_junit_is_valid_for_ant_and_jenkins_with_one_case_per_rule(outputs, junit_schemas):
    for machine, (_, text, reference) in each(outputs, "junit"):
        for schema in junit_schemas:
            schema.validate(text)
        doc = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")).to_dict(text)
        suite = doc["testsuite"][0]
        findings = reference["data"]["findings"]
        assert [case["@name"].split()[0] for case in suite["testcase"]] == [f["code"] for f in findings], machine
        failing = [f for f in findings if f["severity"] in ("error", "warning")]  # fail-on warning, the default
        assert suite["@failures"] == len(failing)
        failed_cases = [case for case in suite["testcase"] if "failure" in case]
        assert len(failed_cases) == len(failing)
        for case, finding in zip(failed_cases, failing):
            assert case["failure"]["@type"] == finding["severity"]
            for fix in finding["fixes"]:
                assert fix["summary"] in case["failure"]["$"]  # the fix travels with the failure


def test_junit_warnings_do_not_fail_under_fail_on_error(machines, cli, junit_schemas):
    laptop = next(p for p in machines if p.stem == "laptop")
    result = cli("check", "--facts", str(laptop), "--format", "junit", "--fail-on", "error")
    assert result.returncode == 0
    junit_schemas[0].validate(result.stdout)
    suite = junit_schemas[0].to_dict(result.stdout)["testsuite"][0]
    assert suite["@failures"] == 0
    assert "warnings that do not fail the run" in suite["system-out"] and "DRV100" in suite["system-out"]


# --- SARIF ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def test_sarif_is_valid_and_lists_the_registry(outputs, sarif_validator):
    from ftdoctor.rules import all_rules

    for machine, (code, text, reference) in each(outputs, "sarif"):
        log = json.loads(text)
        sarif_validator.validate(log)
        run = log["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        # every rule that judged this machine (smoke-test rules are left out when no smoke test ran)
        assert {r["id"] for r in rules} >= {f["code"] for f in reference["data"]["findings"]}
        assert {r["id"] for r in rules} <= {r.code for r in all_rules()}
        assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
        problems = [f for f in reference["data"]["findings"] if f["severity"] in ("error", "warning")]
        assert [(r["ruleId"], r["level"]) for r in run["results"]] == [(f["code"], f["severity"]) for f in problems]
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri.endswith(f"{machine}.json")  # a machine finding points at the facts file it came from
        assert run["invocations"][0]["exitCode"] == code


# --- GitHub annotations ---------------------------------------------------------------------------------

ANNOTATION = re.compile(r"^::(?P<level>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}[m[1]], text)


def parse_annotation(line: str) -> dict:
    """The runner's reading of a workflow command: properties split on `,` and the first `=`, then unescaped."""
    match = ANNOTATION.match(line)
    assert match, line
    props = {}
    for item in (match["props"] or "").split(","):
        if item:
            key, _, value = item.partition("=")
            props[key] = unescape(value)
    return {"level": match["level"], **props, "message": unescape(match["message"])}


def test_github_annotations_parse_and_carry_the_fix(outputs):
    for machine, (_, text, reference) in each(outputs, "github"):
        lines = text.splitlines()
        annotations = [parse_annotation(line) for line in lines if line.startswith("::")]
        problems = [f for f in reference["data"]["findings"] if f["severity"] in ("error", "warning")]
        assert [(a["level"], a["title"].split()[1].rstrip(":")) for a in annotations] == [
            (f["severity"], f["code"]) for f in problems
        ], machine
        for annotation, finding in zip(annotations, problems):
            assert annotation["message"].startswith(finding["message"])
            for fix in finding["fixes"]:
                assert f"fix: {fix['summary']}" in annotation["message"]
        assert lines[-1].startswith("ftdoctor check: ")  # a plain summary line for the log


# --- Markdown -------------------------------------------------------------------------------------------

def table_rows(tokens) -> list[list[str]]:
    rows, row, in_body = [], None, False
    for token in tokens:
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tbody_close":
            in_body = False
        elif token.type == "tr_open" and in_body:
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close" and row is not None:
            rows.append(row)
            row = None
    return rows


def test_markdown_summary_structure(outputs):
    md = MarkdownIt("commonmark").enable("table")
    for machine, (_, text, reference) in each(outputs, "markdown"):
        tokens = md.parse(text)
        headings = [t for i, t in enumerate(tokens) if t.type == "inline" and tokens[i - 1].type == "heading_open"]
        assert headings[0].content.startswith("ftdoctor check: ")
        findings = reference["data"]["findings"]
        problems = [f for f in findings if f["severity"] in ("error", "warning")]
        rows = table_rows(tokens)
        expected = (len(problems) if problems else 0) + len(findings)  # the problems table, then all checks
        assert len(rows) == expected, machine
        assert [r[1].strip("`") for r in rows[-len(findings):]] == [f["code"] for f in findings]
        fences = [t for t in tokens if t.type == "fence" and t.info == "sh"]
        assert [c for t in fences for c in t.content.splitlines()] == [
            c for f in problems for fix in f["fixes"] for c in fix["commands"]
        ]
