"""What the filesystem says about the NVIDIA driver, before any library is loaded: the kernel module's
version, the PCI devices, the device nodes, WSL's driver folder. Cheap, and it works in containers and on
GPU-less CI."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ftdoctor.facts.model import KernelModule, PciDevice, Status
from ftdoctor.probes.host import Host

NVIDIA_VENDOR = "0x10de"
SYS_VERSION = "/sys/module/nvidia/version"
PROC_VERSION = "/proc/driver/nvidia/version"
WSL_LIBRARIES = ("libcuda.so.1", "libnvidia-ml.so.1", "libdxcore.so", "nvidia-smi")


def kernel_module(host: Host) -> KernelModule:
    sys_version, sys_error = _read_or_error(host, SYS_VERSION)
    proc_version, proc_error = _read_or_error(host, PROC_VERSION)
    gpus = _proc_gpus(host)
    open_module = "open kernel module" in proc_version.lower() if proc_version else None
    if sys_version and sys_version.strip():
        return KernelModule(Status.OK, "", SYS_VERSION, sys_version.strip(), open_module, gpus)
    parsed = parse_proc_version(proc_version) if proc_version else None
    if parsed:
        return KernelModule(Status.OK, "", PROC_VERSION, parsed, open_module, gpus)
    if sys_error or proc_error:
        why = "; ".join(e for e in (sys_error, proc_error) if e)
        return KernelModule(Status.UNKNOWN, f"cannot read the driver's files: {why}", gpus=gpus)
    if proc_version is not None:
        return KernelModule(Status.UNKNOWN, f"{PROC_VERSION} exists but has no NVRM version line", PROC_VERSION, gpus=gpus)
    if host.path("/sys/module/nvidia").is_dir():
        return KernelModule(Status.UNKNOWN, "/sys/module/nvidia exists but has no version file", gpus=gpus)
    return KernelModule(Status.ABSENT, _absent_reason(host))


def _absent_reason(host: Host) -> str:
    if host.path("/dev/dxg").exists() or host.path("/usr/lib/wsl/lib").is_dir():
        return ("no nvidia kernel module: this is WSL, where the Windows driver serves the GPU through /dev/dxg "
                "and /usr/lib/wsl/lib")
    return "no /sys/module/nvidia and no /proc/driver/nvidia: the nvidia kernel module is not loaded"


def _read_or_error(host: Host, absolute: str) -> tuple[str | None, str]:
    try:
        return host.read_text(absolute), ""
    except OSError as exc:
        return None, f"{absolute}: {exc.strerror or exc}"


def parse_proc_version(text: str) -> str | None:
    """The driver version from the `NVRM version:` line, for the proprietary and the open kernel module."""
    for line in text.splitlines():
        if line.startswith("NVRM version:"):
            match = re.search(r"\s(\d+\.\d+(?:\.\d+)?)\s", line + " ")
            if match:
                return match.group(1)
    return None


def _proc_gpus(host: Host) -> tuple[str, ...]:
    try:
        return tuple(sorted(p.name for p in host.path("/proc/driver/nvidia/gpus").iterdir()))
    except OSError:
        return ()


def pci_devices(host: Host) -> tuple[Status, tuple[PciDevice, ...], str]:
    """NVIDIA display/3D controllers on the PCI bus (class 0x03xxxx), with the kernel driver bound to each."""
    base = host.path("/sys/bus/pci/devices")
    try:
        entries = sorted(base.iterdir())
    except FileNotFoundError:
        return Status.UNKNOWN, (), "/sys/bus/pci/devices does not exist (no sysfs in this container?)"
    except OSError as exc:
        return Status.UNKNOWN, (), f"cannot list /sys/bus/pci/devices: {exc.strerror or exc}"
    if not entries:  # every real machine has a host bridge at least: this is a sandbox's empty view
        return Status.UNKNOWN, (), "/sys/bus/pci/devices is empty (a sandbox or VM that shows no PCI bus)"
    found = []
    for entry in entries:
        vendor = _read(entry / "vendor")
        pci_class = _read(entry / "class")
        if vendor != NVIDIA_VENDOR or not pci_class.startswith("0x03"):
            continue
        found.append(PciDevice(entry.name, vendor, _read(entry / "device"), pci_class, _bound_driver(entry)))
    return Status.OK, tuple(found), ""


def _bound_driver(entry: Path) -> str | None:
    try:
        return os.path.basename(os.readlink(entry / "driver"))
    except OSError:
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip().lower()
    except OSError:
        return ""


def dev_nodes(host: Host) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The /dev/nvidia* nodes, and those this user cannot open read-write (NVML then says NoPermission)."""
    try:
        nodes = sorted(p for p in host.path("/dev").glob("nvidia*") if not p.is_dir())
    except OSError:
        return (), ()
    no_access = tuple(p.name for p in nodes if not os.access(p, os.R_OK | os.W_OK))
    return tuple(p.name for p in nodes), no_access


def wsl_driver_files(host: Host) -> tuple[str, ...]:
    found = ["/dev/dxg"] if host.path("/dev/dxg").exists() else []
    for name in WSL_LIBRARIES:
        if host.path(f"/usr/lib/wsl/lib/{name}").exists():
            found.append(f"/usr/lib/wsl/lib/{name}")
    return tuple(found)
