"""Operating system, C library, the libstdc++ in use, containers, shared memory: all read from files.

The libstdc++ "in use" is the one the diagnosed interpreter's loader resolves (the Python environment probe
asks it, so a conda environment's own libstdc++ is seen); without that answer the usual folders are searched.
"""

from __future__ import annotations

import os
import platform
import re

from ftdoctor.facts.model import SystemFacts
from ftdoctor.probes.host import Host


def probe(host: Host, loaded_libstdcxx: str | None = None) -> SystemFacts:
    if loaded_libstdcxx:
        cxx, cxx_source = loaded_libstdcxx, "loaded by the diagnosed interpreter"
    else:
        cxx, cxx_source = _libstdcxx(host), "search of LD_LIBRARY_PATH and the system library folders"
    return SystemFacts(
        os=platform.system(),
        machine=platform.machine(),
        kernel_release=platform.release(),
        distro=_distro(host),
        glibc_version=_glibc(),
        libstdcxx_path=cxx,
        glibcxx_max=_glibcxx_max(cxx) if cxx else None,
        container=_container_hints(host),
        wsl=_is_wsl(host),
        shm_bytes=_shm_bytes(host),
        cpu_count=os.cpu_count(),
        memory_total_bytes=_memory(host),
        libstdcxx_source=cxx_source if cxx else "",
    )


def _distro(host: Host) -> str | None:
    text = _quiet_read(host, "/etc/os-release")
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
    return match.group(1) if match else None


def _glibc() -> str | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"; absent on musl
    except (ValueError, OSError):
        return None
    name, _, version = text.partition(" ")
    return version if name == "glibc" and version else None


def _libstdcxx(host: Host) -> str | None:
    """The libstdc++ the dynamic loader would pick: LD_LIBRARY_PATH first, then the ld.so cache's usual places."""
    dirs = [d for d in host.env.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
    for folder in dirs:
        candidate = host.path(folder) / "libstdc++.so.6"
        if candidate.exists():
            return str(candidate.resolve())
    return None


def _glibcxx_max(path: str) -> str | None:
    from packaging.version import Version

    try:
        data = open(path, "rb").read()
    except OSError:
        return None
    versions = {m.decode() for m in re.findall(rb"GLIBCXX_(\d+\.\d+(?:\.\d+)?)\x00", data)}
    return max(versions, key=Version) if versions else None


def _container_hints(host: Host) -> tuple[str, ...]:
    hints = []
    if host.path("/.dockerenv").exists():  # Docker creates it in every container
        hints.append("docker")
    if host.path("/run/.containerenv").exists():
        hints.append("podman")
    if "KUBERNETES_SERVICE_HOST" in host.env:
        hints.append("kubernetes")
    if "APPTAINER_CONTAINER" in host.env or "SINGULARITY_CONTAINER" in host.env:
        hints.append("apptainer")
    if host.env.get("container"):  # set by podman, systemd-nspawn, flatpak
        hints.append(host.env["container"])
    cgroup = _quiet_read(host, "/proc/1/cgroup")
    for word in ("docker", "containerd", "kubepods", "lxc"):
        if word in cgroup:
            hints.append(word)
    return tuple(dict.fromkeys(hints))


def _quiet_read(host: Host, absolute: str) -> str:
    """Hints only: an unreadable file gives no hint rather than an error."""
    try:
        return host.read_text(absolute) or ""
    except OSError:
        return ""


def _is_wsl(host: Host) -> bool:
    release = _quiet_read(host, "/proc/sys/kernel/osrelease").lower()
    return "microsoft" in release or "wsl" in release or host.path("/usr/lib/wsl/lib").is_dir()


def _shm_bytes(host: Host) -> int | None:
    try:
        stat = os.statvfs(host.path("/dev/shm"))
    except OSError:
        return None
    return stat.f_frsize * stat.f_blocks


def _memory(host: Host) -> int | None:
    text = _quiet_read(host, "/proc/meminfo")
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None
