"""NVML through nvidia-ml-py, against the fake libnvidia-ml.so.1: every field, and every documented error."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from fakes.machine import A100, H100, T4

from ftdoctor.facts.model import Status


def test_a_healthy_h100_box_is_read_field_by_field(machine):
    machine.driver(gpus=[H100], driver_version="580.65.06", cuda_version=13000).kernel_module("580.65.06")
    facts = machine.probe_driver()
    nvml = facts.nvml
    assert (nvml.status, nvml.driver_version, nvml.cuda_driver_version) == (Status.OK, "580.65.06", "13.0")
    assert nvml.nvml_version == "13.580.65.06"
    (gpu,) = nvml.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == H100.uuid
    assert gpu.pci_bus_id == "00000000:3B:00.0"
    assert gpu.compute_capability == "9.0"
    assert gpu.memory_total_mib == 81559
    assert (gpu.architecture, gpu.mig_mode, gpu.compute_mode) == ("Hopper", "disabled", "default")
    assert facts.driver_version.value == "580.65.06" and facts.driver_version.source == "nvml"
    assert facts.cuda_driver_version.source == "nvml"
    assert facts.gpus == nvml.gpus
    # NVML answered, so neither fallback was asked
    assert facts.cuda_driver_api.reason == "not asked: NVML answered"
    assert facts.nvidia_smi.status == Status.UNKNOWN and machine.smi_calls() == []


def test_two_different_gpus_and_their_modes(machine):
    t4 = replace(T4, compute_mode=3)
    machine.driver(gpus=[A100, t4], driver_version="535.183.01", cuda_version=12020)
    gpus = machine.probe_driver().gpus
    assert [g.name for g in gpus] == ["NVIDIA A100-SXM4-40GB", "Tesla T4"]
    assert [g.compute_capability for g in gpus] == ["8.0", "7.5"]
    assert [g.architecture for g in gpus] == ["Ampere", "Turing"]
    assert gpus[1].compute_mode == "exclusive_process"
    assert gpus[1].mig_mode is None  # a T4 has no MIG: NotSupported is not an error
    assert machine.probe_driver().nvml.device_errors == ()


def test_mig_instances_are_listed_under_their_gpu(machine):
    h100_mig = replace(H100, mig="1")
    migs = ["MIG-0c4b7b4f-2a23-5a3e-8d3e-1f0e6b4c9a01", "MIG-0c4b7b4f-2a23-5a3e-8d3e-1f0e6b4c9a02"]
    machine.driver(gpus=[h100_mig], migs={0: migs})
    (gpu,) = machine.probe_driver().gpus
    assert gpu.mig_mode == "enabled"
    assert gpu.mig_devices == tuple(migs)


@pytest.mark.parametrize(
    "code, error, meaning",
    [
        (9, "DriverNotLoaded", "kernel module is not loaded"),
        (18, "LibRmVersionMismatch", "driver upgrade without a reboot"),
        (4, "NoPermission", "/dev/nvidia*"),
        (15, "GpuIsLost", "reboot"),
        (999, "Unknown", "unknown error"),
    ],
)
def test_each_nvml_error_at_init_becomes_a_precise_fact(machine, code, error, meaning):
    machine.driver(gpus=[H100], fail={"nvmlInit": code})
    nvml = machine.probe_driver().nvml
    assert nvml.status == Status.ERROR
    assert nvml.error == error
    assert nvml.failed_call == "nvmlInit"
    assert nvml.reason.startswith(f"nvmlInit failed with {error}")
    assert meaning in nvml.reason


def test_no_nvml_library_is_library_not_found(make_machine):
    machine = make_machine(libs=())
    facts = machine.probe_driver()
    assert facts.nvml.error == "LibraryNotFound"
    assert "no NVIDIA driver userspace" in facts.nvml.reason
    assert facts.cuda_driver_api.status == Status.ABSENT
    assert facts.nvidia_smi.status == Status.ABSENT


def test_a_driver_too_old_for_nvml_init_with_flags_is_function_not_found(make_machine):
    machine = make_machine(variant="no-init-flags")
    machine.driver(gpus=[T4], driver_version="367.48", cuda_version=8000)
    facts = machine.probe_driver()
    assert facts.nvml.error == "FunctionNotFound"
    assert "older than this API" in facts.nvml.reason
    # the CUDA driver API still lists the GPU
    assert facts.cuda_driver_api.status == Status.OK
    assert [g.compute_capability for g in facts.gpus] == ["7.5"]


def test_an_old_driver_without_compute_capability_is_completed_by_the_driver_api(make_machine):
    machine = make_machine(variant="old")
    machine.driver(gpus=[T4], driver_version="418.87.01", cuda_version=10010)
    facts = machine.probe_driver()
    assert facts.nvml.status == Status.OK
    assert facts.nvml.cuda_driver_version == "10.1"  # from the unversioned call, since _v2 is missing
    assert facts.nvml.gpus[0].compute_capability is None
    assert any("nvmlDeviceGetCudaComputeCapability failed with FunctionNotFound" in e for e in facts.nvml.device_errors)
    (gpu,) = facts.gpus
    assert gpu.compute_capability == "7.5"
    assert gpu.source == "nvml + cuda driver api"


def test_one_lost_gpu_keeps_the_others(machine):
    machine.driver(gpus=[A100, H100], fail={"nvmlDeviceGetHandleByIndex@1": 15})
    facts = machine.probe_driver()
    assert facts.nvml.status == Status.ERROR
    assert facts.nvml.error == "GpuIsLost"
    assert facts.nvml.reason.startswith("GPU 1: nvmlDeviceGetHandleByIndex failed with GpuIsLost")
    assert [g.name for g in facts.gpus] == ["NVIDIA A100-SXM4-40GB"]
    assert facts.driver_version.value == "580.65.06"


def test_a_failing_optional_query_is_recorded_not_fatal(machine):
    machine.driver(gpus=[H100], fail={"nvmlDeviceGetMemoryInfo": 4})
    facts = machine.probe_driver()
    assert facts.nvml.status == Status.OK
    assert facts.gpus[0].memory_total_mib is None
    assert facts.nvml.device_errors == (
        "GPU 0: nvmlDeviceGetMemoryInfo failed with NoPermission (Insufficient Permissions): no permission to use "
        "the GPU device nodes (/dev/nvidia*): check their group and mode, or the container's device mounts",
    )


def test_an_nvml_that_hangs_is_bounded_and_named(machine):
    machine.driver(gpus=[H100], hang=("nvmlInit",)).kernel_module("580.65.06")
    started = time.monotonic()
    facts = machine.probe_driver(FTDOCTOR_PROBE_TIMEOUT="2")
    assert time.monotonic() - started < 10
    assert facts.nvml.status == Status.UNKNOWN
    assert "did not finish within 2 s" in facts.nvml.reason
    assert "inside NVML" in facts.nvml.reason
    assert facts.cuda_driver_api.reason.startswith("not tried:")
    # the kernel module still tells the driver version
    assert facts.driver_version.value == "580.65.06"
    assert facts.driver_version.source == "/sys/module/nvidia/version"


def test_an_nvml_that_crashes_is_named_by_its_signal(machine):
    machine.driver(gpus=[H100], crash=("nvmlInit",))
    nvml = machine.probe_driver().nvml
    assert nvml.status == Status.UNKNOWN
    assert "killed by SIGSEGV" in nvml.reason and "inside NVML" in nvml.reason
