"""`[tool.ftdoctor]` and --select/--ignore/--fail-on, end to end through the CLI: an ignored rule shows as
skipped with its reason in every format, and the exit code follows the settings."""

from __future__ import annotations

import json

import pytest
import xmlschema

from ci_machines import laptop, save
from test_ci_formats import SCHEMAS, parse_annotation

REASON = "CPU-only CI runner: no GPU by design"


@pytest.fixture
def project(tmp_path):
    """A repository with a laptop snapshot (DRV100 warns) and settings that ignore DRV100 with a reason."""
    (tmp_path / "pyproject.toml").write_text(f'[tool.ftdoctor]\nignore = {{ DRV100 = "{REASON}" }}\n')
    save(laptop(), tmp_path / "laptop.json")
    return tmp_path


def check(cli, project, *args):
    return cli("check", "--facts", "laptop.json", *args, cwd=project)


def test_without_settings_the_warning_fails_the_run(cli, tmp_path):
    save(laptop(), tmp_path / "laptop.json")
    assert cli("check", "--facts", "laptop.json", cwd=tmp_path).returncode == 1
    assert cli("check", "--facts", "laptop.json", "--fail-on", "error", cwd=tmp_path).returncode == 0


def test_ignored_rule_in_the_terminal(cli, project):
    result = check(cli, project)
    assert result.returncode == 0
    assert f"DRV100 ignored: {REASON}" in result.stdout  # shown without -v


def test_ignored_rule_in_json(cli, project):
    body = check(cli, project, "--json").json()
    (finding,) = [f for f in body["data"]["findings"] if f["code"] == "DRV100"]
    assert (finding["severity"], finding["message"]) == ("skipped", f"ignored: {REASON}")
    assert body["exit_code"] == 0


def test_ignored_rule_in_junit(cli, project):
    text = check(cli, project, "--format", "junit").stdout
    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd"))
    suite = schema.to_dict(text)["testsuite"][0]
    (case,) = [c for c in suite["testcase"] if c["@name"].startswith("DRV100")]
    assert case["skipped"]["@message"] == f"ignored: {REASON}"
    assert suite["@skipped"] >= 1 and suite["@failures"] == 0


def test_ignored_rule_in_github_annotations(cli, project):
    lines = check(cli, project, "--format", "github").stdout.splitlines()
    notice = parse_annotation(lines[0])
    assert notice["level"] == "notice"
    assert notice["title"].startswith("ftdoctor DRV100 (skipped)")
    assert notice["message"] == f"ignored: {REASON}"


def test_ignored_rule_in_sarif(cli, project):
    log = json.loads(check(cli, project, "--format", "sarif").stdout)
    run = log["runs"][0]
    assert run["results"] == []
    (override,) = run["invocations"][0]["ruleConfigurationOverrides"]
    assert override["descriptor"]["id"] == "DRV100"
    assert override["configuration"] == {"enabled": False}
    assert override["properties"] == {"reason": f"ignored: {REASON}", "setting": "ignore"}


def test_ignored_rule_in_markdown(cli, project):
    text = check(cli, project, "--format", "markdown").stdout
    assert f"- `DRV100` An NVIDIA driver is installed and answers.: ignored: {REASON}" in text
    assert text.startswith("## ftdoctor check: ✅ passed")


def test_command_line_ignore_and_select_by_prefix(cli, tmp_path):
    save(laptop(), tmp_path / "laptop.json")
    ignored = cli("check", "--facts", "laptop.json", "--ignore", "drv", "--json", cwd=tmp_path).json()
    driver = next(f for f in ignored["data"]["findings"] if f["code"].startswith("DRV"))
    assert driver["message"] == "ignored: --ignore on the command line"
    unselected = cli("check", "--facts", "laptop.json", "--select", "TOR,ARC", "--format", "github", cwd=tmp_path)
    assert unselected.returncode == 0
    assert not [line for line in unselected.stdout.splitlines() if line.startswith("::")]  # unselected stays quiet


def test_settings_fail_on_and_the_command_line_override(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.ftdoctor]\nfail-on = "error"\n')
    save(laptop(), tmp_path / "laptop.json")
    assert cli("check", "--facts", "laptop.json", "--format", "junit", cwd=tmp_path).returncode == 0
    assert cli("check", "--facts", "laptop.json", "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_step_summary_is_appended_never_replaced(cli, project):
    summary = project / "summary.md"
    summary.write_text("# earlier step\n")
    result = check(cli, project, "--format", "github", "--step-summary", str(summary))
    assert result.returncode == 0
    text = summary.read_text()
    assert text.startswith("# earlier step\n## ftdoctor check: ✅ passed")
    assert REASON in text


def test_settings_prefixes_are_read_in_any_case(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.ftdoctor]\nignore = ["drv"]\n')
    save(laptop(), tmp_path / "laptop.json")
    result = cli("check", "--facts", "laptop.json", "--json", cwd=tmp_path).json()
    driver = [f for f in result["data"]["findings"] if f["code"].startswith("DRV")]
    assert driver and all(f["severity"] == "skipped" and f["message"].startswith("ignored: ") for f in driver)
    assert result["exit_code"] == 0  # DRV100, the laptop's only warning, is ignored


@pytest.mark.parametrize("setting", ['select = ["DRV1O0"]', 'ignore = { TLK4O1 = "typo" }'])
def test_a_settings_prefix_that_names_no_rule_is_one_line(cli, tmp_path, setting):
    """A select that matches nothing would judge nothing and pass; an ignore that matches nothing leaves on the
    rule its writer meant to switch off: both are refused, as on the command line."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.ftdoctor]\n{setting}\n")
    save(laptop(), tmp_path / "laptop.json")
    result = cli("check", "--facts", "laptop.json", cwd=tmp_path)
    assert result.returncode == 3 and result.stdout == ""
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "pyproject.toml" in line and "is not a rule code" in line
