"""The fallbacks when NVML cannot answer: the CUDA driver API (libcuda through ctypes, in the same child),
then nvidia-smi's CSV. Each fact records which source answered."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from fakes.machine import A100, H100, T4

from ftdoctor.facts.model import Status
from ftdoctor.probes import nvidia_smi


@pytest.fixture
def libcuda_only(make_machine):
    return make_machine(libs=("libcuda.so.1",))


def test_the_driver_api_lists_gpus_when_nvml_is_missing(libcuda_only):
    libcuda_only.driver(gpus=[A100, H100], cuda_version=12080)
    facts = libcuda_only.probe_driver()
    api = facts.cuda_driver_api
    assert facts.nvml.error == "LibraryNotFound"
    assert (api.status, api.cuda_driver_version, api.device_count) == (Status.OK, "12.8", 2)
    assert api.library == "libcuda.so.1"
    # CUDA's own order (the fake numbers fastest first: H100 before A100) ...
    assert [d.name for d in api.devices] == ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"]
    assert api.compute_capabilities == ("9.0", "8.0")
    # ... while the physical list is in PCI bus order, as NVML would number it
    assert [(g.name, g.pci_bus_id, g.source) for g in facts.gpus] == [
        ("NVIDIA A100-SXM4-40GB", "0000:07:00.0", "cuda driver api"),
        ("NVIDIA H100 80GB HBM3", "0000:3b:00.0", "cuda driver api"),
    ]
    assert facts.gpus[0].uuid == A100.uuid and facts.gpus[0].memory_total_mib == 40960
    assert facts.cuda_driver_version.value == "12.8" and facts.cuda_driver_version.source == "cuda driver api"
    assert facts.nvidia_smi.reason == "not asked: the driver libraries listed the GPUs"


def test_cuinit_failure_is_named_and_still_tells_the_cuda_version(libcuda_only):
    libcuda_only.driver(gpus=[H100], cuda_version=12040, fail={"cuInit": 803})
    api = libcuda_only.probe_driver().cuda_driver_api
    assert api.status == Status.ERROR
    assert api.error == "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"
    assert api.failed_call == "cuInit"
    assert "different driver versions" in api.reason
    assert api.cuda_driver_version == "12.4"  # cuDriverGetVersion answers before cuInit


def test_an_empty_cuda_visible_devices_does_not_hide_the_physical_gpus(libcuda_only):
    libcuda_only.driver(gpus=[T4])
    facts = libcuda_only.probe_driver(CUDA_VISIBLE_DEVICES="")
    assert facts.cuda_driver_api.device_count == 1
    assert facts.cuda_visible_devices == ""
    assert facts.visible_gpu_count == 0


def test_a_hanging_cuinit_is_bounded_and_keeps_nvmls_answer(machine):
    machine.driver(gpus=[H100], fail={"nvmlInit": 18}, hang=("cuInit",))
    started = time.monotonic()
    facts = machine.probe_driver(FTDOCTOR_PROBE_TIMEOUT="2")
    assert time.monotonic() - started < 10
    assert facts.nvml.error == "LibRmVersionMismatch"
    assert facts.cuda_driver_api.status == Status.UNKNOWN
    assert "did not finish within 2 s" in facts.cuda_driver_api.reason
    assert "inside the CUDA driver API" in facts.cuda_driver_api.reason


# --- nvidia-smi --------------------------------------------------------------------------------------


@pytest.fixture
def smi_only(make_machine):
    machine = make_machine(libs=())
    machine.driver()
    return machine


def test_nvidia_smi_lists_the_gpus_when_no_library_answers(smi_only):
    smi_only.smi([A100.smi_row(0, "535.183.01"), H100.smi_row(1, "535.183.01")], cuda_version="12.2")
    facts = smi_only.probe_driver(CUDA_VISIBLE_DEVICES="1")
    smi = facts.nvidia_smi
    assert (smi.status, smi.driver_version, smi.cuda_driver_version) == (Status.OK, "535.183.01", "12.2")
    assert smi.compute_cap_field is True and smi.returncode == 0
    assert [(g.index, g.name, g.compute_capability, g.memory_total_mib) for g in facts.gpus] == [
        (0, "NVIDIA A100-SXM4-40GB", "8.0", 40960),
        (1, "NVIDIA H100 80GB HBM3", "9.0", 81559),
    ]
    assert facts.driver_version.source == "nvidia-smi" and facts.cuda_driver_version.source == "nvidia-smi"
    # CUDA_VISIBLE_DEVICES is removed for nvidia-smi (it would not hide GPUs from it anyway)
    assert smi_only.smi_calls()[0].startswith("--query-gpu=index,name,uuid,pci.bus_id,memory.total,driver_version,compute_cap")
    assert facts.visible_devices[0].physical_index is None  # two different models, CUDA's order unknown


def test_an_old_nvidia_smi_without_compute_cap_is_asked_again(smi_only):
    smi_only.smi([T4.smi_row(0, "470.256.02", with_cc=False)], no_compute_cap=True, version_flag=False,
                 cuda_version="11.4")
    smi = smi_only.probe_driver().nvidia_smi
    assert smi.status == Status.OK
    assert smi.compute_cap_field is False
    assert smi.gpus[0].compute_capability is None
    assert smi.cuda_driver_version == "11.4"  # from the XML report: no --version on this driver
    calls = smi_only.smi_calls()
    assert "compute_cap" in calls[0] and "compute_cap" not in calls[1]
    assert calls[2:] == ["--version", "--query -u -x"]


def test_drivers_610_and_later_call_it_cuda_umd_version(smi_only):
    smi_only.smi([H100.smi_row(0, "610.43.02")], cuda_version="13.3", cuda_label="CUDA UMD Version")
    assert smi_only.probe_driver().nvidia_smi.cuda_driver_version == "13.3"


def test_what_old_nvidia_smi_cannot_say_stays_unknown(make_machine):
    machine = make_machine(libs=("libcuda.so.1",))
    machine.driver(gpus=[T4], fail={"cuDeviceGetCount": 999})
    machine.smi([T4.smi_row(0, "470.256.02", with_cc=False)], no_compute_cap=True)
    facts = machine.probe_driver()
    assert facts.cuda_driver_api.status == Status.ERROR
    assert facts.gpus[0].compute_capability is None  # the driver API failed too: unknown, not guessed


def test_garbage_from_nvidia_smi_is_reported_with_what_it_said(smi_only):
    smi_only.smi(stdout="Segmentation fault in libfoo\n%%%% 12,,\n0 garbage\n")
    smi = smi_only.probe_driver().nvidia_smi
    assert smi.status == Status.UNKNOWN
    assert smi.gpus == ()
    assert smi.reason == "nvidia-smi exited with status 0 and listed no GPU: Segmentation fault in libfoo"


def test_a_driver_library_mismatch_seen_by_nvidia_smi(smi_only):
    smi_only.smi(stdout="Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95\n",
                 exit_code=18)
    smi = smi_only.probe_driver().nvidia_smi
    assert smi.status == Status.ERROR and smi.returncode == 18
    assert smi.error == "Failed to initialize NVML: Driver/library version mismatch"


def test_a_hanging_nvidia_smi_is_killed_in_bounded_time(smi_only):
    smi_only.smi([H100.smi_row(0)], hang=True)
    started = time.monotonic()
    smi = smi_only.probe_driver(FTDOCTOR_PROBE_TIMEOUT="1").nvidia_smi
    assert time.monotonic() - started < 8
    assert smi.status == Status.UNKNOWN
    assert smi.reason == "nvidia-smi did not finish within 1 s (killed)"


def test_partial_rows_on_a_non_zero_exit_are_kept(smi_only):
    said = "Unable to determine the device handle for GPU0000:3B:00.0: GPU is lost.  Reboot the system to recover this GPU"
    smi_only.smi([A100.smi_row(0), said], exit_code=15)
    smi = smi_only.probe_driver().nvidia_smi
    assert smi.status == Status.OK
    assert [g.name for g in smi.gpus] == ["NVIDIA A100-SXM4-40GB"]
    assert smi.reason.startswith("nvidia-smi exited with status 15 but listed 1 GPU(s): Unable to determine")
    assert smi.error == said


def test_rows_parse_names_with_commas_and_not_available_values():
    fields = nvidia_smi.FIELDS
    rows, other = nvidia_smi.parse_rows(
        "0, NVIDIA RTX A6000, Ada, GPU-1234, 00000000:01:00.0, [N/A], 550.54.15, 8.6\n"
        "1, 2, 3, 4, 5, 6, 7\n"
        "WARNING: infoROM is corrupted at gpu 0000:01:00.0\n",
        fields,
    )
    assert rows == [{"index": "0", "name": "NVIDIA RTX A6000, Ada", "uuid": "GPU-1234", "pci.bus_id": "00000000:01:00.0",
                     "driver_version": "550.54.15", "compute_cap": "8.6"}]
    assert other == ["1, 2, 3, 4, 5, 6, 7", "WARNING: infoROM is corrupted at gpu 0000:01:00.0"]


def test_a_gpu_without_nvml_answer_keeps_smi_memory_as_unknown_when_not_numeric(smi_only):
    row = replace(H100, memory_mib=0).smi_row(0).replace(", 0, ", ", [Unknown Error], ")
    smi_only.smi([row])
    assert smi_only.probe_driver().gpus[0].memory_total_mib is None
