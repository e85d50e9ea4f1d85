"""A simulated NVIDIA machine for one test: a fake procfs/sysfs root, the fake driver libraries configured
through a file, and a fake nvidia-smi on PATH. Probes run their real code against it; nothing is patched.

    machine = FakeMachine(tmp_path, libraries)
    machine.driver(gpus=[H100], driver_version="580.65.06", cuda_version=13000)
    machine.kernel_module("580.65.06")
    machine.smi(rows=...)
    facts = machine.probe_driver()          # in-process Host over the fake root (the NVML child is real)
    result = machine.check("--save-facts", ...)  # `python -m ftdoctor check` with the machine's environment
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fakes.build import FakeLibraries


@dataclass(frozen=True)
class FakeGpu:
    name: str
    uuid: str
    bus_id: str  # NVML's form: "00000000:3B:00.0"
    cc: str  # "9.0"
    memory_mib: int
    mig: str = "-"  # "-": not supported, "0": disabled, "1": enabled
    compute_mode: int = 0
    architecture: int = 9

    def line(self) -> str:
        fields = (self.name, self.uuid, self.bus_id, self.cc, str(self.memory_mib), self.mig,
                  str(self.compute_mode), str(self.architecture))
        return "gpu=" + "|".join(fields)

    def smi_row(self, index: int, driver_version: str = "580.65.06", with_cc: bool = True) -> str:
        cells = [str(index), self.name, self.uuid, self.bus_id, str(self.memory_mib), driver_version]
        return ", ".join(cells + ([self.cc] if with_cc else []))


H100 = FakeGpu("NVIDIA H100 80GB HBM3", "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", "00000000:3B:00.0", "9.0", 81559,
               mig="0", architecture=9)
A100 = FakeGpu("NVIDIA A100-SXM4-40GB", "GPU-11111111-2222-3333-4444-555555555555", "00000000:07:00.0", "8.0", 40960,
               mig="0", architecture=7)
T4 = FakeGpu("Tesla T4", "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "00000000:00:1E.0", "7.5", 15360, architecture=6)
RTX4090 = FakeGpu("NVIDIA GeForce RTX 4090", "GPU-4090aaaa-0000-1111-2222-333333333333", "00000000:01:00.0", "8.9", 24564,
                  architecture=8)


@dataclass
class FakeMachine:
    base: Path
    libraries: FakeLibraries
    variant: str = "current"  # which libnvidia-ml build: current, old, no-init-flags (see build.py)
    libs: tuple[str, ...] = ("libnvidia-ml.so.1", "libcuda.so.1")  # which fake libraries exist at all
    env_extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.base / "root"
        self.bin = self.base / "bin"
        self.config = self.base / "driver.conf"
        self.smi_log = self.base / "smi.log"
        for folder in (self.root, self.bin):
            folder.mkdir(parents=True, exist_ok=True)
        self.lib_dir: Path | None = None
        self.ld_path: str | None = None
        self.install_libraries(self.base / "lib", on_loader_path=True)

    def install_libraries(self, folder: Path, on_loader_path: bool) -> FakeMachine:
        """Copy the chosen fake libraries into `folder`; LD_LIBRARY_PATH names it when `on_loader_path`."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.libs:
            (folder / name).write_bytes((self.libraries.folder(self.variant) / name).read_bytes())
        self.lib_dir = folder
        self.ld_path = str(folder) if on_loader_path else None
        return self

    # --- the driver libraries ---------------------------------------------------------------------------

    def driver(self, gpus: list[FakeGpu] = (), driver_version: str = "580.65.06", cuda_version: int = 13000,
               fail: dict[str, int] | None = None, hang: tuple[str, ...] = (), crash: tuple[str, ...] = (),
               migs: dict[int, list[str]] | None = None) -> FakeMachine:
        lines = [f"driver_version={driver_version}", f"cuda_version={cuda_version}",
                 f"nvml_version={cuda_version // 1000}.{driver_version}"]
        lines += [g.line() for g in gpus]
        lines += [f"fail={name}:{code}" for name, code in (fail or {}).items()]
        lines += [f"hang={name}" for name in hang] + [f"crash={name}" for name in crash]
        lines += [f"mig={parent}|{uuid}" for parent, uuids in (migs or {}).items() for uuid in uuids]
        self.config.write_text("\n".join(lines) + "\n")
        return self

    def libraries_in(self, absolute: str) -> FakeMachine:
        """Put the fake libraries in a folder of the fake root, off the loader path (WSL's layout)."""
        for name in self.libs:
            (self.base / "lib" / name).unlink(missing_ok=True)
        return self.install_libraries(self.path(absolute), on_loader_path=False)

    # --- the fake root ------------------------------------------------------------------------------------

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def write(self, absolute: str, text: str) -> Path:
        target = self.path(absolute)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def kernel_module(self, version: str, open_module: bool = False, gpus: tuple[str, ...] = ()) -> FakeMachine:
        self.write("/sys/module/nvidia/version", version + "\n")
        kind = "NVIDIA UNIX Open Kernel Module for x86_64" if open_module else "NVIDIA UNIX x86_64 Kernel Module"
        self.write("/proc/driver/nvidia/version",
                   f"NVRM version: {kind}  {version}  Release Build  (dvs-builder@U16-I3-B03-4-3)  Tue Jul 29 2025\n"
                   "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
        for bus in gpus:
            self.write(f"/proc/driver/nvidia/gpus/{bus}/information", "Model: fake\n")
        return self

    def pci_device(self, bus: str, driver: str | None = "nvidia", vendor: str = "0x10de",
                   pci_class: str = "0x030200", device: str = "0x2330") -> FakeMachine:
        entry = self.path(f"/sys/bus/pci/devices/{bus}")
        for name, value in (("vendor", vendor), ("class", pci_class), ("device", device)):
            self.write(f"/sys/bus/pci/devices/{bus}/{name}", value + "\n")
        if driver:
            target = self.path(f"/sys/bus/pci/drivers/{driver}")
            target.mkdir(parents=True, exist_ok=True)
            (entry / "driver").symlink_to(target)
        return self

    def dev_nodes(self, *names: str) -> FakeMachine:
        for name in names:
            self.write(f"/dev/{name}", "")
        return self

    # --- nvidia-smi -------------------------------------------------------------------------------------

    def smi(self, rows: list[str] | None = None, *, stdout: str | None = None, exit_code: int = 0,
            hang: bool = False, no_compute_cap: bool = False, cuda_version: str | None = "13.0",
            version_flag: bool = True, cuda_label: str = "CUDA Version") -> FakeMachine:
        """A fake nvidia-smi. `rows` are CSV rows as nvidia-smi prints them (index first); `stdout` replaces
        the whole answer to --query-gpu (garbage, an error message)."""
        answer = stdout if stdout is not None else "\n".join(rows or []) + "\n"
        (self.base / "smi-query.txt").write_text(answer)
        version = f"NVIDIA-SMI version  : 580.65.06\n{cuda_label:<20}: {cuda_version}\n" if version_flag else ""
        (self.base / "smi-version.txt").write_text(version)
        xml = f"<nvidia_smi_log><cuda_version>{cuda_version}</cuda_version></nvidia_smi_log>\n" if cuda_version else ""
        (self.base / "smi-xml.txt").write_text(xml)
        q = shlex.quote
        query, version_file, xml_file = (q(str(self.base / n)) for n in ("smi-query.txt", "smi-version.txt", "smi-xml.txt"))
        on_hang = "exec sleep 600" if hang else ":"
        on_cc = 'echo "Field \\"compute_cap\\" is not a valid field to query."; exit 2' if no_compute_cap else ":"
        on_version = f"cat {version_file}; exit 0" if version_flag else 'echo "Invalid combination of input arguments."; exit 2'
        script = f"""#!/bin/sh
echo "$*" >> {q(str(self.smi_log))}
case "$1" in
  --query-gpu=*)
    {on_hang}
    case "$1" in *compute_cap*) {on_cc} ;; esac
    cat {query}; exit {exit_code} ;;
  --version) {on_version} ;;
  --query) cat {xml_file}; exit 0 ;;
esac
exit 2
"""
        target = self.bin / "nvidia-smi"
        target.write_text(script)
        target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return self

    def smi_calls(self) -> list[str]:
        return self.smi_log.read_text().splitlines() if self.smi_log.exists() else []

    # --- running probes against the machine --------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.base),
            "FTDOCTOR_HOST_ROOT": str(self.root),
            "FTDOCTOR_FAKE_DRIVER": str(self.config),
            "FTDOCTOR_PROBE_TIMEOUT": "5",
        }
        if self.ld_path:
            env["LD_LIBRARY_PATH"] = self.ld_path
        return {**env, **self.env_extra, **extra}

    def host(self, **extra: str):
        from ftdoctor.probes.host import Host

        env = self.env(**extra)
        return Host(root=self.root, env=env, python=sys.executable, timeout_s=float(env["FTDOCTOR_PROBE_TIMEOUT"]))

    def probe_driver(self, **extra: str):
        from ftdoctor.probes import driver

        return driver.probe(self.host(**extra))


def clean_environment() -> dict[str, str]:
    """The test process's environment without anything that would point probes at the real machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("FTDOCTOR_", "CUDA_", "LD_LIBRARY_PATH"))}
