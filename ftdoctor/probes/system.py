"""Operating system, C library, the libstdc++ in use, containers, shared memory: all read from files."""

from __future__ import annotations

import os
import platform
import re

from ftdoctor.facts.model import SystemFacts
from ftdoctor.probes.host import Host


def probe(host: Host) -> SystemFacts:
    return SystemFacts(
        os=platform.system(),
        machine=platform.machine(),
        kernel_release=platform.release(),
        distro=_distro(host),
        glibc_version=_glibc(),
        libstdcxx_path=(cxx := _libstdcxx(host)),
        glibcxx_max=_glibcxx_max(cxx) if cxx else None,
        container=_container_hints(host),
        wsl=_is_wsl(host),
        shm_bytes=_shm_bytes(host),
        cpu_count=os.cpu_count(),
        memory_total_bytes=_memory(host),
    )


def _distro(host: Host) -> str | None:
    text = host.read_text("/etc/os-release") or ""
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
    return match.group(1) if match else None


def _glibc() -> str | None:
    name, version = platform.libc_ver()
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
    if host.path("/.dockerenv").exists():
        hints.append("docker")
    if host.path("/run/.containerenv").exists():
        hints.append("podman")
    if "KUBERNETES_SERVICE_HOST" in host.env:
        hints.append("kubernetes")
    cgroup = host.read_text("/proc/1/cgroup") or ""
    for word in ("docker", "containerd", "kubepods", "lxc"):
        if word in cgroup and word not in hints:
            hints.append(word)
    return tuple(hints)


def _is_wsl(host: Host) -> bool:
    release = (host.read_text("/proc/sys/kernel/osrelease") or "").lower()
    return "microsoft" in release or "wsl" in release or host.path("/usr/lib/wsl/lib").is_dir()


def _shm_bytes(host: Host) -> int | None:
    try:
        stat = os.statvfs(host.path("/dev/shm"))
    except OSError:
        return None
    return stat.f_frsize * stat.f_blocks


def _memory(host: Host) -> int | None:
    text = host.read_text("/proc/meminfo") or ""
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None
