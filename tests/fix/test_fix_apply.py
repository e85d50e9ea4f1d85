"""`ftdoctor fix --apply` machinery on a real throwaway venv with tiny local packages (no network): a step that
succeeds, a step that fails half-way and is rolled back, environment variables persisted in the venv."""

import subprocess
import sys
from pathlib import Path

import pytest
from demo_wheels import build_all

from ftdoctor.fix import apply
from ftdoctor.fix.plan import Change, Plan, Step

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_all(tmp_path_factory.mktemp("wheels"))


@pytest.fixture
def venv(tmp_path, wheels):
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "v")], check=True)
    python = str(tmp_path / "v" / "bin" / "python")
    pip(python, "install", "--no-index", "--find-links", str(wheels), "demo-a==1.0", "demo-b==1.0")
    return python


def pip(python, *args):
    return subprocess.run([python, "-m", "pip", "--isolated", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, check=True)


def versions(python):
    code = "import demo_a, demo_b; print(demo_a.VERSION, demo_b.VERSION)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split()


def listed(python):
    out = pip(python, "list", "--format", "freeze").stdout
    return sorted(line for line in out.splitlines() if line.startswith("demo"))


def install_step(wheels, *reqs):
    return Step("pip", "install demo packages", ("TEST000 a finding",),
                pip_args=("install", "--isolated", "--no-index", "--find-links", str(wheels), *reqs))


def run(python, *steps):
    prefix = str(Path(python).parent.parent)
    plan = Plan(python, steps, ())
    previews = apply.preview(plan)
    return apply.apply(plan, previews, prefix, "venv"), previews


def test_dry_run_reports_the_exact_changes(venv, wheels):
    step = install_step(wheels, "demo-a==2.0")
    assert apply.dry_run(venv, step) == (Change("demo-a", "1.0", "2.0", "upgrade"),)
    assert listed(venv) == ["demo-a==1.0", "demo-b==1.0"]  # a dry run changes nothing


def test_a_successful_step(venv, wheels):
    outcome, _ = run(venv, install_step(wheels, "demo-a==2.0"))
    assert outcome.failed is None
    assert versions(venv) == ["2.0", "1.0"]


def test_a_failed_step_leaves_the_environment_as_before_it(venv, wheels):
    # pip installs demo-a 2.0 (demo-b 2.0 needs it), then fails inside demo-b 2.0 and leaves both behind
    outcome, previews = run(venv, install_step(wheels, "demo-b==2.0"))
    failed = outcome.failed
    assert failed is not None and "pip failed" in failed.detail and "outside the target directory" in failed.detail
    assert "rolled back" in failed.detail and "ROLLBACK INCOMPLETE" not in failed.detail
    assert listed(venv) == ["demo-a==1.0", "demo-b==1.0"]  # pip itself had left demo-a 2.0 and a half demo-b 2.0
    assert versions(venv) == ["1.0", "1.0"]
    assert {c.name for c in previews[0][1]} == {"demo-a", "demo-b"}


def test_the_plan_stops_at_the_failed_step(venv, wheels):
    outcome, _ = run(venv, install_step(wheels, "demo-b==2.0"), install_step(wheels, "demo-a==2.0"))
    assert len(outcome.results) == 1 and not outcome.results[0].ok
    assert versions(venv) == ["1.0", "1.0"]  # the second step never ran


def test_environment_variables_persist_in_the_venv(venv):
    step = Step("env", "unset BNB_CUDA_VERSION", env=(("BNB_CUDA_VERSION", None),))
    step2 = Step("env", "set CUDA_HOME", env=(("CUDA_HOME", "/usr/local/cuda-12.8"),))
    outcome, _ = run(venv, step, step2)
    assert outcome.failed is None and outcome.env == {"BNB_CUDA_VERSION": None, "CUDA_HOME": "/usr/local/cuda-12.8"}
    activate = (Path(venv).parent / "activate").read_text()
    assert "# >>> ftdoctor fix >>>\nunset BNB_CUDA_VERSION\nexport CUDA_HOME=/usr/local/cuda-12.8\n# <<< ftdoctor fix <<<" in activate
    run(venv, Step("env", "set CUDA_HOME", env=(("CUDA_HOME", "/usr/local/cuda-13.0"),)))
    again = (Path(venv).parent / "activate").read_text()
    assert again.count("# >>> ftdoctor fix >>>") == 1 and "cuda-12.8" not in again and "cuda-13.0" in again
    shell = subprocess.run(["bash", "-c", f"source {Path(venv).parent / 'activate'} && echo $CUDA_HOME"], capture_output=True, text=True)
    assert shell.stdout.strip() == "/usr/local/cuda-13.0"
