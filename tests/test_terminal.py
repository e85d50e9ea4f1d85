"""The terminal report of recorded machines: families in the registry's order, the fix under each problem,
info and passing lines only with -v, wrapping only on a terminal, and the exit code per worst finding."""

from pathlib import Path

import pytest

from ftdoctor.facts import serialize
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.report.terminal import Style, render
from ftdoctor.rules import FAMILY_TITLES, all_rules
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge

MACHINES = Path(__file__).resolve().parent / "machines"


def report(name: str, **options) -> str:
    facts = serialize.load(MACHINES / f"{name}.json")
    findings = judge(all_rules(), Context(facts=facts, matrix=load_matrix()))
    return render(findings, titles=FAMILY_TITLES, **options)


def test_families_follow_the_registry_and_codes_ascend():
    text = report("h100-driver580-cu130", verbose=True)
    heads = [line for line in text.splitlines() if line.startswith("[")]
    titles = [h.split("] ", 1)[1].removesuffix(" (nothing to judge here)") for h in heads]
    assert titles == [t for f, t in FAMILY_TITLES.items() if f != "fleet"]
    codes = [line.split()[1] for line in text.splitlines() if line.startswith("    ") and line.split()[1][:3] == "DRV"]
    assert codes == sorted(codes)


def test_the_fix_sits_under_its_problem_as_a_command():
    lines = report("t4-driver525").splitlines()
    at = next(i for i, line in enumerate(lines) if "✗ DRV103" in line)
    assert lines[at + 1].startswith("      fix: Install a torch build this driver runs")
    assert lines[at + 2] == ("        $ /home/ubuntu/ft/.venv/bin/python -m pip install torch==2.11.0+cu128 "
                             "--index-url https://download.pytorch.org/whl/cu128")


def test_info_and_passes_only_with_verbose():
    quiet, loud = report("a100-driver535-cu124"), report("a100-driver535-cu124", verbose=True)
    assert "DRV103" not in quiet and "· DRV103" in loud and "✓ DRV100" in loud and "- TLK401" in loud
    assert "Warnings: 0 errors, 1 warning" in quiet.splitlines()[-1]


def test_a_family_with_nothing_to_judge_says_so():
    assert "[-] CUDA toolkit (nothing to judge here)" in report("cpu-laptop")


def test_no_wrap_and_no_colour_off_a_terminal():
    text = report("v100-cu130")
    assert "\033[" not in text
    assert any(len(line) > 200 for line in text.splitlines())  # one line per finding, for grep


def test_wrapping_on_a_terminal_keeps_commands_whole():
    text = report("v100-cu130", style=Style(colour=False, unicode=True, width=80))
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines if not line.lstrip().startswith(("$", "see ")))
    assert any(len(line) > 80 for line in lines if line.lstrip().startswith("$"))


def test_ascii_marks_when_the_terminal_cannot_encode_them():
    finding = Finding("X100", "x", Severity.ERROR, "t", "broken", fixes=(Fix("do it", ("cmd",)),))
    text = render([finding], titles={}, style=Style(colour=False, unicode=False))
    assert "[x] x" in text and "    x X100 broken" in text and "        $ cmd" in text


@pytest.mark.parametrize(
    "machine, code", [("h100-driver580-cu130", 0), ("a100-driver535-cu124", 1), ("t4-driver525", 2)],
)
def test_exit_code_per_machine(cli, machine, code):
    result = cli("check", "--facts", str(MACHINES / f"{machine}.json"))
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_json_of_a_machine_carries_evidence_and_fixes(cli):
    result = cli("check", "--facts", str(MACHINES / "rtx5090-cu126.json"), "--json")
    findings = {f["code"]: f for f in result.json()["data"]["findings"]}
    arc = findings["ARC200"]
    assert arc["severity"] == "error" and "sm_120" in str(arc["evidence"])
    assert "torch==2.7.1+cu128" in arc["fixes"][0]["commands"][0]
