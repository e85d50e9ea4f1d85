"""`ftdoctor check` as a user runs it, on this machine for real and on simulated machines: the facts it
saves, the verdict, no traceback, bounded time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.machine import H100
from fakes.torch_pkg import make_fake_torch

from ftdoctor.facts import serialize
from ftdoctor.facts.model import Status

pytestmark = pytest.mark.slow  # each test runs the whole command, several child processes deep

HAS_DRIVER = Path("/proc/driver/nvidia").exists() or Path("/sys/module/nvidia").exists() or Path("/dev/dxg").exists()


def check(cli, tmp_path, *args, env=None):
    target = tmp_path / "facts.json"
    result = cli("check", "--save-facts", str(target), "--force", "--json", *args, env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result, serialize.load(target)


@pytest.mark.skipif(HAS_DRIVER, reason="this test describes a machine without an NVIDIA driver")
def test_this_machine_reports_no_nvidia_driver_precisely(cli, tmp_path):
    result, facts = check(cli, tmp_path, "--no-torch")
    d = facts.driver
    assert d.kernel_module.status == Status.ABSENT
    assert d.nvml.status == Status.ERROR and d.nvml.error == "LibraryNotFound"
    assert d.cuda_driver_api.status == Status.ABSENT
    if not any(Path(p, "nvidia-smi").exists() for p in os.environ.get("PATH", "").split(":")):
        assert d.nvidia_smi.status == Status.ABSENT and d.nvidia_smi.reason == "nvidia-smi is not on PATH"
    assert d.driver_version.value is None and d.gpus == ()
    body = result.json()
    (drv100,) = [f for f in body["data"]["findings"] if f["code"] == "DRV100"]
    assert drv100["severity"] == "warning"
    assert drv100["message"].startswith("no NVIDIA driver and no NVIDIA GPU on this machine: fine-tuning here runs on the CPU only")
    assert drv100["evidence"]["nvml"].startswith("nvmlInit failed with LibraryNotFound")


def test_a_simulated_h100_box_end_to_end(cli, tmp_path, machine):
    machine.driver(gpus=[H100], driver_version="580.65.06", cuda_version=13000).kernel_module("580.65.06")
    machine.pci_device("0000:3b:00.0").dev_nodes("nvidia0", "nvidiactl", "nvidia-uvm")
    site = make_fake_torch(tmp_path / "site", "cuda", version="2.9.0+cu130")
    env = machine.env(PYTHONPATH=str(site), CUDA_VISIBLE_DEVICES="GPU-8932f937")
    result, facts = check(cli, tmp_path, env=env)
    assert facts.driver.driver_version.value == "580.65.06"
    assert facts.driver.gpus[0].compute_capability == "9.0"
    assert [(v.token, v.physical_index) for v in facts.driver.visible_devices] == [("GPU-8932f937", 0)]
    assert facts.driver.dev_nodes == ("nvidia-uvm", "nvidia0", "nvidiactl")
    assert facts.torch.status == Status.OK and facts.torch.version == "2.9.0+cu130"
    assert facts.torch.location == str(site / "torch")
    assert facts.env["CUDA_VISIBLE_DEVICES"] == "GPU-8932f937"
    (drv100,) = [f for f in result.json()["data"]["findings"] if f["code"] == "DRV100"]
    assert drv100["severity"] == "ok"
    assert drv100["message"] == "NVIDIA driver 580.65.06 (from nvml), 1 GPU(s)"


@pytest.mark.parametrize("fault", ["nvml-hang", "nvml-raises", "procfs-unreadable", "smi-garbage", "torch-segfault",
                                   "torch-hang"])
def test_faults_give_facts_within_bounded_time_and_no_traceback(cli, tmp_path, make_machine, fault):
    machine = make_machine(libs=("libnvidia-ml.so.1",))
    machine.driver(gpus=[H100], hang=("nvmlInit",) if fault == "nvml-hang" else (),
                   fail={"nvmlInit": 18} if fault == "nvml-raises" else {})
    if fault == "procfs-unreadable":
        machine.path("/proc/driver/nvidia/version").mkdir(parents=True)
    if fault == "smi-garbage":
        machine = make_machine(libs=())
        machine.driver().smi(stdout="\x1b[31m???\x1b[0m not a csv\n", exit_code=3)
    mode = {"torch-segfault": "segfault-import", "torch-hang": "hang-import"}.get(fault, "cuda")
    site = make_fake_torch(tmp_path / "site", mode)
    env = machine.env(PYTHONPATH=str(site), FTDOCTOR_PROBE_TIMEOUT="2", FTDOCTOR_TORCH_TIMEOUT="3")
    started = time.monotonic()
    result, facts = check(cli, tmp_path, env=env)
    assert time.monotonic() - started < 30
    assert result.returncode in (0, 1, 2)
    if fault == "nvml-hang":
        assert "did not finish within 2 s" in facts.driver.nvml.reason
    if fault == "nvml-raises":
        assert (facts.driver.nvml.error, facts.driver.nvml.failed_call) == ("LibRmVersionMismatch", "nvmlInit")
    if fault == "procfs-unreadable":
        assert facts.driver.kernel_module.status == Status.UNKNOWN
        assert facts.driver.kernel_module.reason.endswith("/proc/driver/nvidia/version: Is a directory")
    if fault == "smi-garbage":
        assert facts.driver.nvidia_smi.status == Status.ERROR
        assert "not a csv" in facts.driver.nvidia_smi.reason
    if fault == "torch-segfault":
        assert (facts.torch.failure, facts.torch.signal) == ("signal", "SIGSEGV")
    if fault == "torch-hang":
        assert facts.torch.failure == "timeout"
        assert facts.torch.reason == "`import torch` did not finish within 3 s (killed)"


def test_python_option_diagnoses_another_interpreter_with_its_own_torch(cli, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    make_fake_torch(site, "cuda", version="2.5.1+cu124")
    python = str(venv / "bin" / "python")
    result, facts = check(cli, tmp_path, "--python", python)
    assert facts.python.executable == python and facts.python.kind == "venv"
    assert [d.name for d in facts.python.distributions] == ["torch"]
    assert facts.torch.status == Status.OK
    assert (facts.torch.version, facts.torch.cuda, facts.torch.location) == ("2.5.1+cu124", "12.4", str(site / "torch"))
    json.dumps(result.json())  # the envelope is plain JSON
