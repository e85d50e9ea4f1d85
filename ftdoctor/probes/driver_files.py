"""What the filesystem says about the NVIDIA driver, before any library is loaded: the kernel module's
version, the PCI devices, the device nodes. Cheap, and it works in containers and on GPU-less CI."""

from __future__ import annotations

import re

from ftdoctor.facts.model import KernelModule, PciDevice, Status
from ftdoctor.probes.host import Host

NVIDIA_VENDOR = "0x10de"


def kernel_module(host: Host) -> KernelModule:
    try:
        sys_version = host.read_text("/sys/module/nvidia/version")
        proc_version = host.read_text("/proc/driver/nvidia/version")
    except OSError as exc:
        return KernelModule(status=Status.UNKNOWN, reason=f"cannot read the driver's files: {exc}")
    open_module = None
    proc_parsed = None
    if proc_version:
        open_module = "open kernel module" in proc_version.lower()
        proc_parsed = parse_proc_version(proc_version)
    if sys_version and sys_version.strip():
        return KernelModule(
            status=Status.OK, source="/sys/module/nvidia/version", version=sys_version.strip(), open_module=open_module
        )
    if proc_parsed:
        return KernelModule(
            status=Status.OK, source="/proc/driver/nvidia/version", version=proc_parsed, open_module=open_module
        )
    if proc_version:
        return KernelModule(
            status=Status.UNKNOWN,
            source="/proc/driver/nvidia/version",
            reason="/proc/driver/nvidia/version exists but has no NVRM version line",
        )
    return KernelModule(
        status=Status.ABSENT, reason="no /sys/module/nvidia and no /proc/driver/nvidia: the nvidia kernel module is not loaded"
    )


def parse_proc_version(text: str) -> str | None:
    """The driver version from the `NVRM version:` line, for the proprietary and the open kernel module."""
    for line in text.splitlines():
        if line.startswith("NVRM version:"):
            match = re.search(r"\s(\d+\.\d+(?:\.\d+)?)\s", line + " ")
            if match:
                return match.group(1)
    return None


def pci_devices(host: Host) -> tuple[Status, tuple[PciDevice, ...]]:
    """NVIDIA display/3D controllers on the PCI bus (class 0x03xxxx), with the kernel driver bound to each."""
    base = host.path("/sys/bus/pci/devices")
    if not base.is_dir():
        return Status.UNKNOWN, ()
    found = []
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return Status.UNKNOWN, ()
    for entry in entries:
        vendor = _read(entry / "vendor")
        pci_class = _read(entry / "class")
        if vendor != NVIDIA_VENDOR or not pci_class.startswith("0x03"):
            continue
        driver_link = entry / "driver"
        driver = driver_link.resolve().name if driver_link.exists() else None
        found.append(PciDevice(entry.name, vendor, _read(entry / "device"), pci_class, driver))
    return Status.OK, tuple(found)


def _read(path) -> str:
    try:
        return path.read_text().strip().lower()
    except OSError:
        return ""


def dev_nodes(host: Host) -> tuple[str, ...]:
    dev = host.path("/dev")
    try:
        return tuple(sorted(p.name for p in dev.glob("nvidia*")))
    except OSError:
        return ()
