"""`ftdoctor tui` and `ftdoctor check --tui` as commands: bad input is one line and exit 3, and the app's
code (Textual) is never imported by the other commands."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [("tui", "--no-torch"), ("check", "--tui", "--no-torch")])
def test_without_a_terminal_it_says_so_in_one_line(cli, args):
    result = cli(*args, stdin="")
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "ftdoctor: error: the app needs an interactive terminal — use `ftdoctor check` (or --json) for text"
    )


def test_a_bad_facts_file_is_one_line_before_any_screen(cli, tmp_path):
    result = cli("tui", "--facts", str(tmp_path / "missing.json"))
    assert result.returncode == 3
    assert result.stderr.strip() == f"ftdoctor: error: {tmp_path / 'missing.json'}: no such file — check the path"


def test_save_facts_does_not_combine_with_tui(cli, tmp_path):
    result = cli("check", "--tui", "--save-facts", str(tmp_path / "f.json"))
    assert result.returncode == 3
    assert "--save-facts does not combine with --tui — press s in the app to save the facts" in result.stderr
    assert not (tmp_path / "f.json").exists()


def test_a_missing_interpreter_is_one_line(cli, tmp_path):
    result = cli("tui", "--python", str(tmp_path / "nope"))
    assert result.returncode == 3
    assert "no such interpreter" in result.stderr


def test_textual_loads_only_when_the_app_runs():
    code = (  # what `ftdoctor --help` and `ftdoctor COMMAND --help` load, for every command
        "import sys, importlib; from ftdoctor.cli import COMMANDS, command_parser, top_parser; import ftdoctor.tui\n"
        "top_parser()\n"
        "for c in COMMANDS: command_parser(c, importlib.import_module(c.module))\n"
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args", [("tui", "a.json", "--facts", "b.json"), ("check", "--tui", "--facts-dir", ".")])
def test_the_app_shows_one_machine(cli, args):
    result = cli(*args)
    assert result.returncode == 3
    assert "the app shows one machine; several snapshots were given" in result.stderr


@pytest.mark.parametrize("args", [("tui", "--facts", "box.json", "--verify"), ("check", "--tui", "box.json", "--verify-only", "torch")])
def test_a_snapshot_cannot_run_smoke_tests_here(cli, tmp_path, args):
    from ftdoctor.facts import serialize
    from ftdoctor.facts.model import Facts

    (tmp_path / "box.json").write_text(serialize.dumps(Facts(label="box")))
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "ftdoctor: error: --facts: --verify runs smoke tests on this machine; it cannot judge a saved snapshot — "
        "a snapshot saved with --verify --save-facts keeps its smoke results"
    )


@pytest.mark.parametrize("argv, names, at_start", [
    ((), ("torch", "bitsandbytes-4bit", "flash-attn", "distributed", "deepspeed", "triton"), False),
    (("--verify",), ("torch", "bitsandbytes-4bit", "flash-attn", "distributed", "deepspeed", "triton"), True),
    (("--verify-only", "torch,distributed", "--verify-timeout", "30"), ("torch", "distributed"), True),
])
def test_the_verify_options_choose_the_smoke_tests_and_whether_they_run_at_start(argv, names, at_start):
    from ftdoctor.cli import COMMANDS, command_parser
    from ftdoctor.cli import tui
    from ftdoctor.rules.settings import Settings

    command = next(c for c in COMMANDS if c.name == "tui")
    app = tui.build_app(command_parser(command, tui).parse_args(["--no-torch", *argv]), Settings())
    runner = app.inputs.runners.verify()
    assert runner.names == names and app.inputs.verify is at_start
    assert runner.options.timeout_s == (30 if "--verify-timeout" in argv else None)
