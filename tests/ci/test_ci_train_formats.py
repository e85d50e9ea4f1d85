"""`ftdoctor train --dry-run` in every CI format, from the real CLI on configs with known mistakes, each output
checked against its schema (JUnit: Ant and Jenkins XSDs; SARIF 2.1.0; the JSON envelope) and its findings
placed on the config's file and line (GitHub annotations, SARIF regions, JUnit failure text, Markdown rows)."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import xmlschema
from markdown_it import MarkdownIt

from test_ci_formats import SCHEMAS, parse_annotation, table_rows

# Line 2: qlora without 4-bit (CFG120); line 4: the batch is underspecified (CFG123); no learning_rate or
# datasets (CFG105, reported on line 1); ./tiny-model does not exist (MDL601).
BAD = "base_model: ./tiny-model\nadapter: qlora\nload_in_4bit: false\nmicro_batch_size: 1\n"
CONFIGS = ("configs/qlora.yml", "configs/other.yml")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, cli):
    """format -> (exit code, stdout) for the same two configs, and the JSON envelope they must agree with."""
    project = tmp_path_factory.mktemp("project")
    (project / "configs").mkdir()
    for name in CONFIGS:
        (project / name).write_text(BAD)
    args = ("train", "--dry-run", "--gpu", "H100", *CONFIGS)
    reference = cli(*args, "--json", cwd=project)
    results = {}
    for fmt in ("junit", "github", "sarif", "markdown"):
        result = cli(*args, "--format", fmt, cwd=project)
        assert result.stderr == "", result.stderr
        assert result.returncode == reference.returncode == 2, fmt
        results[fmt] = result.stdout
    return results, reference.json()


def problems(reference) -> list[dict]:
    return [f for f in reference["data"]["findings"] if f["severity"] in ("error", "warning")]


def test_json_envelope_matches_the_published_schema(outputs):
    _, reference = outputs
    schema = json.loads(resources.files("ftdoctor.report").joinpath("result.schema.json").read_text())
    jsonschema.validate(reference, schema)
    located = {f["location"] for f in problems(reference) if f["code"] in ("CFG120", "CFG123")}
    assert located == {f"{c}:{line}" for c in CONFIGS for line in (2, 4)}


def test_junit_validates_and_fails_each_config_problem_with_its_place_and_fix(outputs):
    (results, reference) = outputs
    text = results["junit"]
    schemas = [xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")), xmlschema.XMLSchema(str(SCHEMAS / "junit-jenkins-10.xsd"))]
    for schema in schemas:
        schema.validate(text)
    suites = schemas[0].to_dict(text)["testsuite"]
    failures = [case["failure"] for suite in suites for case in suite["testcase"] if "failure" in case]
    assert len(failures) == len(problems(reference)) == sum(s["@failures"] for s in suites)
    cfg120 = [f["$"] for f in failures if f["$"].startswith("CFG120")]
    assert sorted(cfg120[i].split("\n")[1] for i in range(2)) == sorted(f"at {c}:2" for c in CONFIGS)
    assert all("fix: add `load_in_4bit: true`" in f for f in cfg120)


def test_github_annotations_sit_on_the_config_line(outputs):
    results, reference = outputs
    annotations = [parse_annotation(line) for line in results["github"].splitlines() if line.startswith("::")]
    expected = problems(reference)
    assert len(annotations) == len(expected)
    for annotation, finding in zip(annotations, expected):
        assert annotation["level"] == finding["severity"] and f" {finding['code']}:" in annotation["title"]
        if finding["location"]:
            file, line = finding["location"].rsplit(":", 1)
            assert (annotation["file"], annotation["line"]) == (file, line)
    assert {a["file"] for a in annotations if "CFG120" in a["title"]} == set(CONFIGS)


def test_sarif_validates_and_places_results_in_the_config(outputs):
    results, reference = outputs
    log = json.loads(results["sarif"])
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)
    run = log["runs"][0]
    placed = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                     r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]
                    if r["ruleId"] in ("CFG120", "CFG123"))
    assert placed == sorted((code, c, line) for c in CONFIGS for code, line in (("CFG120", 2), ("CFG123", 4)))
    assert run["invocations"][0]["exitCode"] == 2


def test_markdown_lists_each_problem_with_its_place(outputs):
    results, reference = outputs
    tokens = MarkdownIt("commonmark").enable("table").parse(results["markdown"])
    rows = table_rows(tokens)
    placed = [(r[1].strip("`"), r[-1]) for r in rows if r[0].endswith(("error", "warning"))]
    expected = [(f["code"], f["location"]) for f in problems(reference)]
    # each config's section: its problems table, then the same rows again among all its checks
    assert placed == [row for config in CONFIGS for row in 2 * [e for e in expected if e[1].startswith(config)]]
