"""DRV1xx, one line per case: a recorded machine, a few facts changed, one rule run."""

from dataclasses import replace

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.facts.model import KernelModule, NvmlFacts, PciDevice, Resolved, Status, VisibleDevice
from ftdoctor.findings import Severity
from ftdoctor.rules.driver import (
    ComputeMode, DriverPresent, DriverRunsTorchCuda, DriverUserspace, DriverVersionMatch, MigMode, VisibleDevices,
)

H100 = machine("h100-driver580-cu130")
LAPTOP = machine("cpu-laptop")
CONTAINER = machine("container-no-userspace")
MISMATCH = machine("driver-mismatch")
T4 = machine("t4-driver525")
WSL = machine("wsl2-rtx3060")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def no_driver_with_pci(bound):
    return evolve(LAPTOP, **{"driver.pci_devices": (PciDevice("0000:01:00.0", "0x10de", "0x2684", "0x030000", bound),)})


def test_driver_present_passes_with_a_version():
    assert finding(DriverPresent, H100).severity == OK


def test_no_driver_no_gpu_is_a_cpu_only_warning():
    f = finding(DriverPresent, LAPTOP)
    assert f.severity == WARN and "CPU only" in f.message


def test_no_driver_says_where_it_looked_and_what_runs_here():
    f = finding(DriverPresent, LAPTOP)
    assert set(f.evidence) == {"kernel_module", "nvml", "cuda_driver_api", "nvidia_smi", "pci", "dev_nodes"}
    assert f.evidence["pci"].startswith("/sys/bus/pci/devices read: no NVIDIA")
    assert f.evidence["dev_nodes"] == "no /dev/nvidia* device node"
    assert "far too slow for a real LLM" in f.message and "QLoRA" in f.message
    assert "ftdoctor demo" in text(f) and "--dry-run --facts gpu-box.json" in text(f)


def test_machine_header_names_what_no_driver_means():
    from ftdoctor.report.machine import header_lines

    def driver_line(facts):
        return next(line for line in header_lines(facts, "x") if line.startswith("  driver"))

    assert driver_line(LAPTOP).endswith("none (no nvidia kernel module, no driver libraries, no NVIDIA GPU on the PCI bus)")
    assert "yet an NVIDIA GPU is there (0000:01:00.0)" in driver_line(no_driver_with_pci(None))
    assert "cannot be told" in driver_line(evolve(LAPTOP, **{"driver.pci_status": Status.UNKNOWN}))
    wsl_without = evolve(WSL, **{"driver.driver_version": Resolved(None, ""), "driver.cuda_driver_version": Resolved(None, "")})
    assert "WSL" in driver_line(wsl_without)
    assert driver_line(H100).startswith("  driver   580.")


def test_gpu_on_the_bus_without_driver_is_an_error():
    assert finding(DriverPresent, no_driver_with_pci(None)).severity == ERR


def test_nouveau_bound_gpu_says_install_nvidias_driver():
    assert "nouveau" in text(finding(DriverPresent, no_driver_with_pci("nouveau")))


def test_unreadable_pci_and_unknown_nvml_is_unknown_not_ok():
    facts = evolve(LAPTOP, **{"driver.pci_status": Status.UNKNOWN, "driver.nvml": NvmlFacts(reason="probe timed out")})
    assert finding(DriverPresent, facts).message.startswith("unknown:")


def test_wsl_without_driver_points_at_the_windows_driver():
    facts = evolve(LAPTOP, **{"system.wsl": True})
    assert "Windows" in text(finding(DriverPresent, facts))


def test_userspace_missing_in_a_container_suggests_the_nvidia_runtime():
    f = finding(DriverUserspace, CONTAINER)
    assert f.severity == ERR and "--gpus all" in text(f)


def test_userspace_missing_on_a_host_suggests_the_matching_library_package():
    f = finding(DriverUserspace, evolve(CONTAINER, **{"system.container": ()}))
    assert "libnvidia-compute-550" in text(f)


def test_userspace_answering_passes():
    assert finding(DriverUserspace, H100).severity == OK


def test_userspace_of_a_mismatched_driver_is_left_to_drv102():
    assert finding(DriverUserspace, MISMATCH).severity == SKIP


def test_nvml_no_permission_says_so():
    facts = evolve(CONTAINER, **{"driver.nvml": NvmlFacts(status=Status.ERROR, error="NoPermission", reason="x"),
                                 "driver.cuda_driver_api.status": Status.ERROR})
    assert "usermod" in text(finding(DriverUserspace, facts))


def test_version_mismatch_after_upgrade_is_an_error_with_reboot():
    f = finding(DriverVersionMatch, MISMATCH)
    assert f.severity == ERR and "sudo reboot" in text(f) and "550.120" in f.message


def test_module_and_library_versions_that_differ_are_a_mismatch():
    facts = evolve(H100, **{"driver.nvml.nvml_version": "13.580.105.08"})
    assert finding(DriverVersionMatch, facts).severity == ERR


def test_matching_versions_pass():
    assert finding(DriverVersionMatch, H100).severity == OK


def test_no_kernel_module_on_wsl_is_not_applicable():
    assert finding(DriverVersionMatch, WSL).severity == SKIP


@pytest.mark.parametrize(
    "driver, cuda, torch_cuda, severity",
    [
        ("580.65.06", "13.0", "13.0", OK),  # exactly the CUDA 13 floor
        ("575.57.08", "12.9", "13.0", ERR),  # one major below: MVC never crosses majors
        ("525.60.13", "12.0", "12.8", INFO),  # exactly the CUDA 12 floor: runs through MVC
        ("525.60.12", "12.0", "12.8", ERR),  # just below it
        ("570.133.07", "12.8", "12.8", OK),  # the driver supports torch's CUDA itself
        ("570.133.07", "12.8", "12.9", INFO),  # one minor newer: MVC
        ("580.95.05", "13.0", "12.6", OK),  # an older major runs on a newer driver
    ],
)
def test_driver_floor_boundaries(driver, cuda, torch_cuda, severity):
    facts = evolve(H100, **{"driver.driver_version": Resolved(driver, "nvml"), "driver.cuda_driver_version": Resolved(cuda, "nvml"),
                            "torch.cuda": torch_cuda})
    assert finding(DriverRunsTorchCuda, facts).severity == severity


def test_too_old_driver_offers_a_build_it_runs_and_the_driver_floor():
    f = finding(DriverRunsTorchCuda, T4)
    assert "580.65.06" in f.message and "525.147.05" in f.message
    assert "torch==2.11.0+cu128 --index-url https://download.pytorch.org/whl/cu128" in text(f)
    assert text(f).startswith(f.message) and "/home/ubuntu/ft/.venv/bin/python -m pip install" in text(f)


def test_wsl_uses_the_windows_driver_floor():
    facts = evolve(WSL, **{"driver.driver_version": Resolved("528.33", "nvml"), "driver.cuda_driver_version": Resolved()})
    assert finding(DriverRunsTorchCuda, facts).severity != ERR  # Windows floor of CUDA 12 is 528.33
    facts = evolve(facts, **{"driver.driver_version": Resolved("528.32", "nvml")})
    assert finding(DriverRunsTorchCuda, facts).severity == ERR


def test_unknown_driver_version_is_unknown():
    facts = evolve(H100, **{"driver.driver_version": Resolved(), "driver.cuda_driver_version": Resolved()})
    assert finding(DriverRunsTorchCuda, facts).message.startswith("unknown:")


def test_cpu_torch_is_not_judged_against_the_driver():
    assert finding(DriverRunsTorchCuda, evolve(H100, **{"torch.cuda": None})).severity == SKIP


def test_unset_visible_devices_pass():
    assert finding(VisibleDevices, H100).severity == OK


def test_an_invalid_visible_entry_hides_the_rest():
    f = finding(VisibleDevices, machine("dgx-misconfigured"))
    assert f.severity == WARN and "'8'" in f.message and "2 of 8" in f.message
    assert "export CUDA_VISIBLE_DEVICES=0,1" in text(f)


def test_empty_visible_devices_hides_every_gpu():
    facts = evolve(H100, **{"driver.cuda_visible_devices": "", "driver.visible_devices": ()})
    f = finding(VisibleDevices, facts)
    assert f.severity == ERR and "empty" in f.message


def test_visible_devices_naming_real_gpus_pass():
    facts = evolve(H100, **{"driver.cuda_visible_devices": "3,1",
                            "driver.visible_devices": (VisibleDevice(0, "3", 3), VisibleDevice(1, "1", 1))})
    assert finding(VisibleDevices, facts).severity == OK


def test_exclusive_process_mode_is_a_warning():
    f = finding(ComputeMode, machine("dgx-misconfigured"))
    assert f.severity == WARN and "sudo nvidia-smi -i 1 -c DEFAULT" in text(f)


def test_prohibited_mode_is_an_error():
    gpus = tuple(replace(g, compute_mode="prohibited") for g in H100.driver.gpus)
    assert finding(ComputeMode, evolve(H100, **{"driver.gpus": gpus})).severity == ERR


def test_unreported_compute_mode_is_not_judged():
    gpus = tuple(replace(g, compute_mode=None) for g in H100.driver.gpus)
    assert finding(ComputeMode, evolve(H100, **{"driver.gpus": gpus})).severity == SKIP


def test_mig_without_a_chosen_instance_warns():
    f = finding(MigMode, machine("a100-mig-two-toolkits"))
    assert f.severity == WARN and "nvidia-smi -L" in text(f)


def test_mig_with_a_chosen_instance_is_info():
    facts = evolve(machine("a100-mig-two-toolkits"), **{
        "driver.cuda_visible_devices": "MIG-4f2c", "driver.visible_devices": (VisibleDevice(0, "MIG-4f2c", None, "MIG"),)})
    assert finding(MigMode, facts).severity == INFO


def test_kernel_module_from_proc_counts_as_a_driver():
    facts = evolve(LAPTOP, **{"driver.kernel_module": KernelModule(status=Status.OK, version="550.54.15"),
                              "driver.driver_version": Resolved("550.54.15", "/proc/driver/nvidia/version")})
    assert finding(DriverPresent, facts).severity == OK
