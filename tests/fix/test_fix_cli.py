"""`ftdoctor fix` from a saved snapshot: the plan (torch variant for this driver, flash-attn for that torch,
an environment variable), and the refusals that keep it from changing what it should not."""

import json

import pytest

from ftdoctor.facts import serialize
from ftdoctor.facts.model import (
    Distribution, DriverFacts, Facts, Gpu, PythonEnvFacts, Resolved, Status, SystemFacts, TorchFacts,
)

WHEEL = ("https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3/"
         "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")


@pytest.fixture
def broken_box(tmp_path):
    """H100 on driver 550 with the index's torch 2.11 (CUDA 13: the driver cannot run it), a flash-attn wheel
    built for torch 2.8, bitsandbytes forced to a CUDA 12.6 library, and the HF stack."""
    dists = (
        Distribution("torch", "2.11.0", requires=("cuda-toolkit[cudart]==13.0.2",)),
        Distribution("flash-attn", "2.8.3", direct_url=WHEEL),
        Distribution("bitsandbytes", "0.49.2"), Distribution("transformers", "5.20.2"), Distribution("trl", "1.14.2"),
        Distribution("peft", "0.21.2"), Distribution("accelerate", "1.15.0"), Distribution("datasets", "4.8.5"),
        Distribution("huggingface-hub", "1.33.0"), Distribution("einops", "0.8.2"),
    )
    facts = Facts(
        driver=DriverFacts(driver_version=Resolved("550.54.15", "nvml"), pci_status=Status.OK,
                           gpus=(Gpu(0, "NVIDIA H100 80GB HBM3", "nvml", compute_capability="9.0"),)),
        system=SystemFacts(os="Linux", machine="x86_64", glibc_version="2.35"),
        python=PythonEnvFacts(status=Status.OK, executable="/opt/env/bin/python", version="3.12.3", prefix="/opt/env",
                              kind="venv", distributions=dists),
        torch=TorchFacts(status=Status.UNKNOWN, source="metadata", version="2.11.0"),
        env={"BNB_CUDA_VERSION": "126"},
    )
    path = tmp_path / "box.json"
    path.write_text(serialize.dumps(facts))
    return path


def test_plan_from_a_snapshot(cli, broken_box):
    result = cli("fix", "--facts", str(broken_box))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "found " in out and "FLA702" in out and "BNB801" in out
    assert "/opt/env/bin/python -m pip install torch==2.11.0+cu128 --index-url https://download.pytorch.org/whl/cu128" in out
    assert "reinstall torch 2.11.0 -> 2.11.0+cu128" in out
    assert "[set] unset BNB_CUDA_VERSION" in out
    assert "flash-attn" in out and "[by hand] build flash-attn" in out  # torch 2.11 has no prebuilt flash-attn wheel
    assert "dry run: nothing was changed" in out


def test_plan_as_json(cli, broken_box):
    body = cli("fix", "--facts", str(broken_box), "--json").json()
    assert body["command"] == "fix" and body["exit_code"] == 0
    steps = body["data"]["steps"]
    kinds = [s["kind"] for s in steps]
    assert "pip" in kinds and "env" in kinds and "manual" in kinds
    torch = next(s for s in steps if s["kind"] == "pip")
    assert torch["changes"] == [{"name": "torch", "before": "2.11.0", "after": "2.11.0+cu128", "kind": "reinstall"}]
    assert "BNB801" in body["data"]["problems"]
    assert "BNB801" not in body["data"]["expected_problems"]  # the rules expect it gone once the plan ran


def test_apply_on_a_snapshot_is_refused(cli, broken_box):
    result = cli("fix", "--facts", str(broken_box), "--apply")
    assert result.returncode == 3
    assert result.stderr.strip() == ("ftdoctor: error: --apply changes a live environment, not a snapshot — "
                                     "run `ftdoctor fix --apply` on that machine")


def test_yes_without_apply_is_refused(cli):
    result = cli("fix", "--yes")
    assert result.returncode == 3 and "--yes only means something with --apply" in result.stderr


def test_missing_interpreter_is_one_line(cli, tmp_path):
    result = cli("fix", "--python", str(tmp_path / "nope" / "python"))
    assert result.returncode == 3 and "no such interpreter" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_to_fix():
    """No error or warning: no step, and the plan says so (the rules are the same ones check runs)."""
    from ftdoctor.fix.plan import make_plan
    from ftdoctor.fix.render import plan_text
    from ftdoctor.matrix import load_matrix

    facts = Facts(python=PythonEnvFacts(status=Status.OK, version="3.12.3", executable="python"))
    plan = make_plan(facts, load_matrix(), [])
    assert plan.steps == () and plan.problems == ()
    assert "nothing to fix" in plan_text(plan, dry_run=True)


def _fake_dist(site, name, version):
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


@pytest.fixture
def cpu_venv(tmp_path):
    """A venv whose metadata says torch 2.13.0+cpu and bitsandbytes 0.45.5 (no CPU ops before 0.48): BNB804."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "v")], check=True)
    site = next((tmp_path / "v" / "lib").glob("python3*/site-packages"))
    _fake_dist(site, "torch", "2.13.0+cpu")
    _fake_dist(site, "bitsandbytes", "0.45.5")
    return str(tmp_path / "v" / "bin" / "python")


OFFLINE = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": "/dev/null"}


@pytest.mark.slow
def test_apply_needs_confirmation_from_a_terminal(cli, cpu_venv):
    result = cli("fix", "--python", cpu_venv, "--no-torch", "--apply", env=OFFLINE, stdin="")
    assert result.returncode == 3
    assert "install bitsandbytes==0.49.2" in result.stdout or "bitsandbytes 0.45.5 -> 0.49.2" in result.stdout
    assert result.stderr.strip() == ("ftdoctor: error: not applied: stdin is not a terminal, so nobody could confirm — "
                                     "answer y, or pass --yes to apply without asking")


@pytest.mark.slow
def test_apply_yes_stops_at_a_failed_step_and_checks_again(cli, cpu_venv):
    result = cli("fix", "--python", cpu_venv, "--no-torch", "--apply", "--yes", env=OFFLINE)
    assert result.returncode == 2, result.stderr
    assert "[FAILED] install the versions that fit this torch: pip failed:" in result.stdout
    assert "rolled back: nothing had changed" in result.stdout
    assert "checked again:" in result.stdout and "still: BNB804" in result.stdout


def test_cuda_home_is_set_only_to_a_toolkit_that_exists():
    from ftdoctor.facts.model import ToolkitFacts, ToolkitInstall
    from ftdoctor.findings import Finding, Fix, Severity
    from ftdoctor.fix.plan import make_plan
    from ftdoctor.matrix import load_matrix

    finding = Finding("DSP902", "deepspeed", Severity.ERROR, "t", "nvcc 12.4 vs torch CUDA 12.8",
                      fixes=(Fix("Build with a CUDA 12.8 toolkit", ("export CUDA_HOME=/usr/local/cuda-12.8",)),))
    bare = Facts(python=PythonEnvFacts(status=Status.OK, version="3.12.3", executable="python"))
    plan = make_plan(bare, load_matrix(), [finding])
    assert [s.kind for s in plan.steps] == ["manual"]  # no such toolkit here: installing it is a by-hand step
    has = Facts(python=bare.python, toolkit=ToolkitFacts(status=Status.OK, installs=(ToolkitInstall("/usr/local/cuda-12.8", "12.8.93", "/usr/local"),)))
    plan = make_plan(has, load_matrix(), [finding])
    assert [(s.kind, s.env) for s in plan.steps] == [("env", (("CUDA_HOME", "/usr/local/cuda-12.8"),))]


def test_fix_installs_torch_as_check_and_explain_write_it(cli):
    """One answer: on a recorded RTX 5090 with a cu126 torch, check (ARC200), fix and explain give one command."""
    from pathlib import Path

    machine = str(Path(__file__).parents[1] / "machines" / "rtx5090-cu126.json")
    check = cli("check", "--facts", machine, "--json").json()
    (arc,) = [f for f in check["data"]["findings"] if f["code"] == "ARC200"]
    fix = cli("fix", "--facts", machine, "--json").json()
    (torch_step,) = [s for s in fix["data"]["steps"] if s["kind"] == "pip"]
    log = "RuntimeError: CUDA error: no kernel image is available for execution on the device\n"
    explain = cli("explain", "-", "--facts", machine, "--json", stdin=log).json()
    assert torch_step["command"] == arc["fixes"][0]["commands"][0] == explain["data"]["diagnoses"][0]["fixes"][0]["commands"][0]
