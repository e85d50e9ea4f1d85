"""What the files say before any library loads: the kernel module, PCI devices, /dev nodes, WSL's layout,
and unreadable procfs/sysfs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.machine import H100

from ftdoctor.facts.model import Status
from ftdoctor.probes import driver_files
from ftdoctor.probes.host import Host


def test_proprietary_kernel_module(machine):
    machine.kernel_module("535.183.01", gpus=("0000:3b:00.0",))
    module = driver_files.kernel_module(machine.host())
    assert (module.status, module.version, module.open_module) == (Status.OK, "535.183.01", False)
    assert module.source == "/sys/module/nvidia/version"
    assert module.gpus == ("0000:3b:00.0",)


def test_open_kernel_module_from_procfs_alone(machine):
    machine.kernel_module("580.65.06", open_module=True)
    machine.path("/sys/module/nvidia/version").unlink()
    module = driver_files.kernel_module(machine.host())
    assert (module.version, module.open_module, module.source) == ("580.65.06", True, "/proc/driver/nvidia/version")


def test_no_module_at_all(machine):
    module = driver_files.kernel_module(machine.host())
    assert module.status == Status.ABSENT
    assert module.reason == "no /sys/module/nvidia and no /proc/driver/nvidia: the nvidia kernel module is not loaded"


def test_a_proc_file_without_a_version_line(machine):
    machine.write("/proc/driver/nvidia/version", "something else\n")
    module = driver_files.kernel_module(machine.host())
    assert module.status == Status.UNKNOWN
    assert module.reason == "/proc/driver/nvidia/version exists but has no NVRM version line"


def test_unreadable_procfs_is_unknown_with_the_reason(machine):
    machine.path("/proc/driver/nvidia/version").mkdir(parents=True)  # a read fails with EISDIR
    module = driver_files.kernel_module(machine.host())
    assert module.status == Status.UNKNOWN
    assert module.reason == "cannot read the driver's files: /proc/driver/nvidia/version: Is a directory"


@dataclass(frozen=True)
class DeniedHost(Host):
    """A host whose procfs refuses to be read (root can read anything, so the refusal is simulated at the seam)."""

    def read_text(self, absolute: str) -> str | None:
        if absolute.startswith("/proc/"):
            raise PermissionError(13, "Permission denied")
        return super().read_text(absolute)


def test_permission_denied_on_procfs_does_not_hide_sysfs(machine):
    machine.kernel_module("550.54.15")
    host = DeniedHost(root=machine.root, env=machine.env())
    module = driver_files.kernel_module(host)
    assert (module.status, module.version) == (Status.OK, "550.54.15")
    machine.path("/sys/module/nvidia/version").unlink()
    module = driver_files.kernel_module(host)
    assert module.status == Status.UNKNOWN
    assert "/proc/driver/nvidia/version: Permission denied" in module.reason


def test_nvidia_pci_devices_with_and_without_a_driver(machine):
    machine.pci_device("0000:3b:00.0", driver="nvidia")
    machine.pci_device("0000:5e:00.0", driver=None)
    machine.pci_device("0000:af:00.0", driver="vfio-pci")
    machine.pci_device("0000:00:02.0", vendor="0x8086", pci_class="0x030000")  # an Intel GPU: not ours
    machine.pci_device("0000:c1:00.0", pci_class="0x068000")  # an NVSwitch bridge: not a GPU
    status, devices, reason = driver_files.pci_devices(machine.host())
    assert status == Status.OK and reason == ""
    assert [(d.bus_id, d.driver) for d in devices] == [
        ("0000:3b:00.0", "nvidia"), ("0000:5e:00.0", None), ("0000:af:00.0", "vfio-pci")]


def test_no_sysfs_is_unknown_not_empty(machine):
    status, devices, reason = driver_files.pci_devices(machine.host())
    assert (status, devices) == (Status.UNKNOWN, ())
    assert reason == "/sys/bus/pci/devices does not exist (no sysfs in this container?)"


def test_an_empty_pci_listing_is_unknown_not_no_gpu(machine):
    machine.path("/sys/bus/pci/devices").mkdir(parents=True)  # a sandbox's view: not even a host bridge
    status, devices, reason = driver_files.pci_devices(machine.host())
    assert (status, devices) == (Status.UNKNOWN, ())
    assert reason.startswith("/sys/bus/pci/devices is empty")


def test_device_nodes(machine):
    machine.dev_nodes("nvidia0", "nvidiactl", "nvidia-uvm")
    nodes, no_access = driver_files.dev_nodes(machine.host())
    assert nodes == ("nvidia-uvm", "nvidia0", "nvidiactl")
    if os.geteuid() != 0:  # root opens anything; the check is only observable as another user
        machine.path("/dev/nvidia0").chmod(0)
        assert driver_files.dev_nodes(machine.host())[1] == ("nvidia0",)


def test_a_gpu_with_no_driver_bound_end_to_end(make_machine):
    machine = make_machine(libs=())
    machine.pci_device("0000:3b:00.0", driver=None)
    facts = machine.probe_driver()
    assert facts.kernel_module.status == Status.ABSENT
    assert facts.nvml.error == "LibraryNotFound"
    assert [(d.bus_id, d.driver) for d in facts.pci_devices] == [("0000:3b:00.0", None)]
    assert facts.driver_version.value is None


def test_wsl_layout_loads_nvml_from_usr_lib_wsl(make_machine):
    machine = make_machine()
    machine.driver(gpus=[H100], driver_version="581.15", cuda_version=13000).libraries_in("/usr/lib/wsl/lib")
    machine.write("/dev/dxg", "")
    machine.write("/proc/sys/kernel/osrelease", "6.6.87.2-microsoft-standard-WSL2\n")
    facts = machine.probe_driver()
    assert facts.kernel_module.status == Status.ABSENT
    assert "this is WSL" in facts.kernel_module.reason
    assert facts.nvml.status == Status.OK
    assert facts.nvml.library == str(machine.path("/usr/lib/wsl/lib/libnvidia-ml.so.1"))
    assert facts.driver_version.value == "581.15"
    assert facts.wsl_driver_files == ("/dev/dxg", "/usr/lib/wsl/lib/libcuda.so.1", "/usr/lib/wsl/lib/libnvidia-ml.so.1")
    from ftdoctor.probes import system

    assert system.probe(machine.host()).wsl is True


def test_host_root_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FTDOCTOR_HOST_ROOT", str(tmp_path))
    monkeypatch.setenv("FTDOCTOR_PROBE_TIMEOUT", "3")
    host = Host.from_environment()
    assert host.root == Path(tmp_path) and host.timeout_s == 3.0
    assert host.path("/proc/x") == tmp_path / "proc" / "x"


@pytest.mark.parametrize("value", ["abc", "0", "-5", "99999"])
def test_a_bad_timeout_is_one_clear_line(cli, value):
    result = cli("check", "--no-torch", env={"FTDOCTOR_PROBE_TIMEOUT": value})
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"ftdoctor: error: FTDOCTOR_PROBE_TIMEOUT={value!r} is not a number of seconds between 0 and 3600 "
        "— unset FTDOCTOR_PROBE_TIMEOUT or fix it"]
