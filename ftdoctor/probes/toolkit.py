"""CUDA toolkits: where CUDA_HOME/CUDA_PATH point, which nvcc is on PATH and where its toolkit really lives,
and what else is installed side by side.

Only needed to *build* extensions (DeepSpeed JIT ops, flash-attn from source); torch carries its own runtime.
The nvcc on PATH may be a wrapper script or a symlink (`/usr/local/bin/nvcc` exec-ing the real one), so its
toolkit is located from `nvcc -dryrun` (which prints the real binary's folder), not from the wrapper's
folder. What torch and DeepSpeed would guess from PATH when CUDA_HOME is unset is kept beside it, because
that guess is what a JIT build will use.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ftdoctor.facts.model import Resolved, Status, ToolkitFacts, ToolkitInstall
from ftdoctor.probes import isolated
from ftdoctor.probes.host import Host

SIDE_BY_SIDE = ("/usr/local/cuda*", "/opt/cuda*", "/usr/lib/cuda")
TIMEOUT_S = 10.0


def probe(host: Host) -> ToolkitFacts:
    nvcc = host.which("nvcc")
    version_run = dryrun = None
    if nvcc:
        timeout = min(host.timeout_s, TIMEOUT_S)
        version_run = isolated.start([nvcc, "--version"], env=host.env, timeout_s=timeout)
        dryrun = isolated.start([nvcc, "-dryrun", "-x", "cu", "-E", os.devnull], env=host.env, timeout_s=timeout)
    home_var = next((v for v in ("CUDA_HOME", "CUDA_PATH") if host.env.get(v)), None)
    installs = Installs(host)
    if home_var:
        installs.add(host.env[home_var], home_var)
    nvcc_version = nvcc_release(version_run.result().stdout) if version_run else None
    real_bin = _real_bin(host, nvcc, _output(dryrun))
    nvcc_home = _outside(host, os.path.dirname(real_bin)) if real_bin else None
    if nvcc_home:
        installs.add(nvcc_home, "nvcc on PATH", nvcc_version)
    for pattern in SIDE_BY_SIDE:
        for folder in sorted(host.root.glob(pattern.lstrip("/"))):
            installs.add(_outside(host, str(folder)), pattern.rstrip("*"))
    return ToolkitFacts(
        status=Status.OK if installs.found or nvcc else Status.ABSENT,
        reason="" if installs.found or nvcc else "no CUDA toolkit: CUDA_HOME/CUDA_PATH unset, no nvcc on PATH, "
        "nothing in /usr/local/cuda*, /opt/cuda*, /usr/lib/cuda",
        cuda_home=_cuda_home(host, home_var, nvcc_home),
        nvcc_path=nvcc,
        nvcc_version=nvcc_version,
        installs=tuple(installs.found.values()),
        nvcc_real_path=os.path.join(real_bin, "nvcc") if real_bin and os.path.join(real_bin, "nvcc") != nvcc else None,
        path_guess_home=os.path.dirname(os.path.dirname(nvcc)) if nvcc else None,
        cuda_home_problem=_home_problem(host, home_var),
    )


class Installs:
    """Toolkits found, keyed by their real folder, each with its version and how it was found."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.found: dict[str, ToolkitInstall] = {}

    def add(self, home: str, source: str, version: str | None = None) -> None:
        folder = self.host.path(home)
        real = os.path.realpath(folder)
        if real in self.found or not (folder / "bin" / "nvcc").exists():
            return
        self.found[real] = ToolkitInstall(path=home, version=version or toolkit_version(self.host, folder), source=source)


def _cuda_home(host: Host, home_var: str | None, nvcc_home: str | None) -> Resolved:
    if home_var:
        return Resolved(host.env[home_var], home_var)
    if nvcc_home:
        return Resolved(nvcc_home, "nvcc on PATH (its real folder, from nvcc -dryrun)")
    if host.path("/usr/local/cuda").is_dir():
        return Resolved("/usr/local/cuda", "/usr/local/cuda")
    return Resolved()


def _home_problem(host: Host, home_var: str | None) -> str:
    if home_var is None:
        return ""
    home = host.env[home_var]
    if not host.path(home).is_dir():
        return f"{home_var}={home} does not exist"
    if not (host.path(home) / "bin" / "nvcc").exists():
        return f"{home_var}={home} has no bin/nvcc: not a CUDA toolkit (a runtime-only or a partial install?)"
    return ""


def _real_bin(host: Host, nvcc: str | None, dryrun_out: str) -> str | None:
    """The folder of the real nvcc binary: nvcc -dryrun names it (_HERE_), else the link's target."""
    if nvcc is None:
        return None
    match = re.search(r"^#\$ _HERE_=(.+)$", dryrun_out, re.M)
    if match and os.path.isdir(match.group(1).strip()):
        return os.path.normpath(match.group(1).strip())
    return os.path.dirname(os.path.realpath(nvcc))


def _output(running: isolated.Running | None) -> str:
    if running is None:
        return ""
    result = running.result()
    return result.stdout + "\n" + result.stderr  # nvcc -dryrun writes its commands to stderr


def _outside(host: Host, path: str) -> str:
    """A real path as the diagnosed host sees it (tests run hosts under a fake root)."""
    try:
        return "/" + str(Path(path).relative_to(host.root)).removeprefix(".")
    except ValueError:
        return path


def toolkit_version(host: Host, folder: Path) -> str | None:
    """The toolkit's version without running anything: version.json (CUDA 11.1+), version.txt (older), the
    nvcc wheel's dist-info (toolkits assembled from wheels); else its nvcc's answer."""
    try:
        return json.loads((folder / "version.json").read_text())["cuda"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        match = re.search(r"CUDA Version\s+([\d.]+)", (folder / "version.txt").read_text())
        if match:
            return match.group(1)
    except OSError:
        pass
    for info in folder.glob("dist-info/nvidia_cuda_nvcc-*.dist-info"):
        return info.name.removeprefix("nvidia_cuda_nvcc-").removesuffix(".dist-info")
    result = isolated.run([str(folder / "bin" / "nvcc"), "--version"], env=host.env, timeout_s=min(host.timeout_s, TIMEOUT_S))
    return nvcc_release(result.stdout)


def nvcc_release(stdout: str) -> str | None:
    """'Cuda compilation tools, release 12.8, V12.8.93' -> '12.8.93' (or '12.8' when there is no V part)."""
    match = re.search(r"release [\d.]+, V([\d.]+)", stdout)
    if match:
        return match.group(1)
    match = re.search(r"release ([\d.]+)", stdout)
    return match.group(1) if match else None
