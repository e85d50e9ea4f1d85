"""The command line as a user meets it: help, unknown commands, bad files, exit codes, JSON errors."""

import json

import pytest


def test_help_lists_every_command_and_the_exit_codes(cli):
    from ftdoctor.cli import COMMANDS

    result = cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command.name in result.stdout
    assert "3    ftdoctor could not run" in result.stdout and "130  interrupted" in result.stdout


def test_every_command_has_working_help(cli):
    from ftdoctor.cli import COMMANDS

    for command in COMMANDS:
        result = cli(command.name, "--help")
        assert result.returncode == 0, (command.name, result.stderr)
        assert f"ftdoctor {command.name}" in result.stdout


def test_unknown_command_suggests_the_nearest(cli):
    result = cli("chekc")
    assert result.returncode == 3
    assert result.stderr.strip() == "ftdoctor: error: unknown command 'chekc' — did you mean `ftdoctor check`?"
    assert "Traceback" not in result.stderr


def test_bad_option_is_one_line_exit_3(cli):
    result = cli("check", "--fail-on", "sometimes")
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("", "empty file"),
        ('{"schema": "ftdoctor-facts/1", "driver": {"gpus": [', "not valid JSON"),
        ('{"name": "some other tool"}', "not an ftdoctor facts snapshot"),
        ('{"schema": "ftdoctor-facts/2"}', "a facts snapshot of another ftdoctor version (schema 'ftdoctor-facts/2'"),
        ('{"schema": "ftdoctor-facts/1", "driver": {"gpus": [{"index": "zero"}]}}', "key driver.gpus[0]"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    ],
)
def test_bad_facts_files_are_one_clear_line(cli, tmp_path, content, message):
    path = tmp_path / "facts.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = cli("check", "--facts", str(path))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert str(path) in lines[0]


def test_json_errors_use_the_envelope(cli, tmp_path):
    result = cli("check", "--facts", str(tmp_path / "missing.json"), "--json")
    assert result.returncode == 3
    body = json.loads(result.stdout)
    assert body["status"] == "could-not-run"
    assert body["errors"][0]["code"] == "input-file"


def test_save_facts_refuses_to_overwrite(cli, tmp_path):
    target = tmp_path / "facts.json"
    target.write_text("mine")
    result = cli("check", "--no-torch", "--save-facts", str(target))
    assert result.returncode == 3
    assert "--force" in result.stderr
    assert target.read_text() == "mine"


def test_a_select_or_ignore_that_names_no_rule_is_refused(cli):
    """A typo in --select would judge nothing and pass: it is bad input instead."""
    result = cli("check", "--no-torch", "--select", "DRV1O0")
    assert result.returncode == 3 and "--select: DRV1O0 is not a rule code or the start of one" in result.stderr
    assert cli("check", "--no-torch", "--ignore", "cfg1", "--select", "DRV").returncode in (0, 1)  # CFG1xx: preflight


def test_errors_come_as_a_json_envelope_with_every_json_spelling(cli, tmp_path):
    for spelling in (["--json"], ["--format", "json"], ["--format=json"]):
        result = cli("check", "--facts", str(tmp_path / "missing.json"), *spelling)
        assert result.returncode == 3 and result.json()["status"] == "could-not-run", spelling
