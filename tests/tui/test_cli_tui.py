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
