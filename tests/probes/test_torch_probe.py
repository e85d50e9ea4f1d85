"""The torch subprocess: facts from a real import (this machine's CPU torch), from fake CUDA builds, and
from imports that crash, hang or fail to link. Each failure becomes facts within a bounded time."""

from __future__ import annotations

import os
import sys
import time

import pytest
from fakes.torch_pkg import make_fake_torch

from ftdoctor.facts.model import Distribution, Status
from ftdoctor.probes import torch_probe
from ftdoctor.probes.host import Host

DIST = Distribution(name="torch", version="2.5.1+cu124")


def probe_fake(tmp_path, mode, timeout=30.0):
    folder = make_fake_torch(tmp_path / "site", mode)
    env = {**os.environ, "PYTHONPATH": str(folder)}
    host = Host(env=env, python=sys.executable, torch_timeout_s=timeout)
    return torch_probe.finish(torch_probe.start(host), DIST)


def test_a_cuda_build_on_a_machine_without_driver(tmp_path):
    facts = probe_fake(tmp_path, "cuda")
    assert facts.status == Status.OK
    assert (facts.version, facts.cuda, facts.hip, facts.cxx11_abi) == ("2.5.1+cu124", "12.4", None, False)
    assert facts.arch_list == ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    assert (facts.cudnn, facts.nccl) == (90100, "2.21.5")
    assert facts.cuda_available is False and facts.device_count == 0
    assert facts.warnings == ("UserWarning: CUDA initialization: Found no NVIDIA driver on your system. Please check "
                              "that you have an NVIDIA GPU and installed a driver from "
                              "http://www.nvidia.com/Download/index.aspx",)
    assert facts.location == str(tmp_path / "site" / "torch")
    assert facts.failure is None and facts.returncode == 0


def test_warnings_of_the_import_itself_are_kept(tmp_path):
    facts = probe_fake(tmp_path, "numpy-warning")
    assert facts.status == Status.OK
    assert facts.import_warnings == ("UserWarning: Failed to initialize NumPy: _ARRAY_API not found (Triggered "
                                     "internally at torch/csrc/utils/tensor_numpy.cpp:84.)",)


@pytest.mark.parametrize(
    "mode, failure, said",
    [
        ("undefined-symbol", "undefined-symbol", "undefined symbol: ncclCommRegister"),
        ("glibcxx", "symbol-version", "version `GLIBCXX_3.4.32' not found"),
        ("missing-library", "missing-library", "libcudnn.so.9: cannot open shared object file"),
    ],
)
def test_an_import_that_fails_to_link_is_named(tmp_path, mode, failure, said):
    facts = probe_fake(tmp_path, mode)
    assert facts.status == Status.ERROR
    assert facts.failure == failure
    assert facts.stage == "import"
    assert facts.reason.startswith("`import torch` exited with status 1: ImportError: ")
    assert said in facts.reason
    assert facts.version == "2.5.1+cu124"  # from the metadata: the import never got that far


def test_an_import_that_segfaults(tmp_path):
    facts = probe_fake(tmp_path, "segfault-import")
    assert (facts.status, facts.failure, facts.signal, facts.stage) == (Status.ERROR, "signal", "SIGSEGV", "import")
    assert facts.reason == "`import torch` killed by SIGSEGV"
    assert facts.returncode == -11


def test_an_import_that_hangs_is_killed_in_bounded_time(tmp_path):
    started = time.monotonic()
    facts = probe_fake(tmp_path, "hang-import", timeout=2.0)
    assert time.monotonic() - started < 8
    assert (facts.status, facts.failure, facts.stage) == (Status.ERROR, "timeout", "import")
    assert facts.reason == "`import torch` did not finish within 2 s (killed)"
    assert facts.returncode is None and facts.signal is None


def test_a_crash_in_cuda_initialisation_keeps_the_build_facts(tmp_path):
    facts = probe_fake(tmp_path, "segfault-cuda")
    assert (facts.status, facts.failure, facts.stage) == (Status.ERROR, "signal", "cuda")
    assert facts.reason == "CUDA initialisation (torch.cuda.is_available()) killed by SIGSEGV"
    assert facts.cuda == "12.4" and facts.arch_list[-1] == "sm_90"
    assert facts.cuda_available is None


def test_torch_missing_from_the_interpreter_despite_metadata(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(folder)}
    host = Host(env=env, python=sys.executable + "-does-not-exist", torch_timeout_s=10)
    facts = torch_probe.finish(torch_probe.start(host), DIST)
    assert facts.status == Status.ERROR and facts.failure == "exit"
    assert "could not start" in facts.reason


def test_this_machines_real_torch():
    pytest.importorskip("torch")  # the dev stack has the CPU build
    from importlib.metadata import version

    facts = torch_probe.finish(torch_probe.start(Host(torch_timeout_s=120)), DIST)
    assert facts.status == Status.OK
    assert facts.version == version("torch")
    assert facts.source == "subprocess" and facts.elapsed_s > 0
    if "+cpu" in facts.version:
        assert (facts.cuda, facts.cuda_available, facts.arch_list, facts.cuda_home) == (None, False, (), None)


@pytest.mark.parametrize(
    "version, requires, cuda",
    [
        ("2.8.0+cu128", (), "12.8"),
        ("2.5.1+cu124", (), "12.4"),
        ("2.13.0+cpu", (), None),
        ("2.9.0", ('nvidia-cuda-runtime-cu12==12.8.90; platform_system == "Linux"',), "12.8"),
        ("2.10.0", ("cuda-toolkit[cublas,cudart]==13.0.2",), "13.0"),
        ("2.10.0", (), None),
    ],
)
def test_cuda_from_metadata(version, requires, cuda):
    assert torch_probe.cuda_from_metadata(Distribution("torch", version, requires=requires)) == cuda
