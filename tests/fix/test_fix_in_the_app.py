"""The app runs `ftdoctor fix`'s steps through ftdoctor.fix.apply (tui/data/fixes.py): pip's output comes line by
line, a failed step is rolled back, and a variable a step sets reaches the probes of the re-check."""

import subprocess
import sys
from pathlib import Path

import pytest
from demo_wheels import build_all

from ftdoctor.fix import apply
from ftdoctor.fix.plan import Step
from ftdoctor.probes.host import Host
from ftdoctor.tui.data.fixes import FixAction, step_runner
from ftdoctor.tui.data.runners import PlanStep

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_all(tmp_path_factory.mktemp("wheels"))


@pytest.fixture
def venv(tmp_path, wheels):
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "v")], check=True)
    python = str(tmp_path / "v" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "--isolated", "install", "--no-index", "--find-links", str(wheels),
                    "demo-a==1.0", "demo-b==1.0"], capture_output=True, check=True)
    return python


def plan_step(python: str, step: Step) -> PlanStep:
    """As the app's planner makes it: with what pip's dry run says the step changes."""
    changes = apply.dry_run(python, step) if step.kind == "pip" else ()
    return PlanStep(step.command(python), step.title, FixAction(step, changes, python, str(Path(python).parents[1]), "venv"))


def versions(python):
    code = "import demo_a, demo_b; print(demo_a.VERSION, demo_b.VERSION)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split()


def test_a_failed_pip_step_streams_its_output_and_is_rolled_back(venv, wheels):
    step = Step("pip", "install demo packages", ("TEST000 a finding",),
                pip_args=("install", "--isolated", "--no-index", "--find-links", str(wheels), "demo-b==2.0"))
    lines = []
    result = step_runner(None)(plan_step(venv, step), lines.append, lambda: False)
    assert not result.ok and not result.cancelled
    assert any("demo-b" in line for line in lines[:-1])  # pip's own output, as it came
    assert "rolled back" in lines[-1] and "ROLLBACK INCOMPLETE" not in lines[-1]
    assert versions(venv) == ["1.0", "1.0"]


def test_an_env_step_is_written_to_the_venv_and_given_to_the_probes(venv):
    host = Host(env={"BNB_CUDA_VERSION": "126"})
    step = Step("env", "unset BNB_CUDA_VERSION", ("BNB801 a finding",), env=(("BNB_CUDA_VERSION", None),))
    lines = []
    result = step_runner(host)(plan_step(venv, step), lines.append, lambda: False)
    assert result.ok and "BNB_CUDA_VERSION" not in host.env
    assert "unset BNB_CUDA_VERSION" in (Path(venv).parent / "activate").read_text()


def test_other_commands_still_run_in_a_shell():
    lines = []
    result = step_runner(None)(PlanStep("echo plain"), lines.append, lambda: False)
    assert result.ok and lines == ["plain"]
