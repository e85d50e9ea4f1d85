"""CUDA toolkits: where CUDA_HOME/CUDA_PATH point, which nvcc is on PATH, what else is installed side by side.

Only needed to *build* extensions (DeepSpeed JIT ops, flash-attn from source); torch carries its own runtime.
"""

from __future__ import annotations

import json
import os
import re

from ftdoctor.facts.model import Resolved, Status, ToolkitFacts, ToolkitInstall
from ftdoctor.probes import isolated
from ftdoctor.probes.host import Host


def probe(host: Host) -> ToolkitFacts:
    installs: dict[str, ToolkitInstall] = {}
    versions: dict[str, str | None] = {}

    def add(home: str, source: str) -> None:
        real = os.path.realpath(host.path(home))
        if real in installs or not os.path.isdir(real):
            return
        if real not in versions:
            versions[real] = _version(host, real)
        installs[real] = ToolkitInstall(path=home, version=versions[real], source=source)

    cuda_home = Resolved()
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if host.env.get(var):
            cuda_home = Resolved(value=host.env[var], source=var)
            add(host.env[var], var)
            break
    nvcc = host.which("nvcc")
    nvcc_version = _nvcc_release(host, nvcc) if nvcc else None
    if nvcc:
        add(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))), "nvcc on PATH")
    for folder in sorted(host.path("/usr/local").glob("cuda*")) if host.path("/usr/local").is_dir() else []:
        add("/" + str(folder.relative_to(host.root)), "/usr/local")
    if cuda_home.value is None and nvcc:
        cuda_home = Resolved(value=os.path.dirname(os.path.dirname(os.path.realpath(nvcc))), source="nvcc on PATH")
    status = Status.OK if installs or nvcc else Status.ABSENT
    return ToolkitFacts(
        status=status,
        reason="" if status == Status.OK else "no CUDA toolkit: CUDA_HOME/CUDA_PATH unset, no nvcc on PATH, no /usr/local/cuda*",
        cuda_home=cuda_home,
        nvcc_path=nvcc,
        nvcc_version=nvcc_version,
        installs=tuple(installs.values()),
    )


def _version(host: Host, home: str) -> str | None:
    """The toolkit's version from version.json (CUDA 11.1+), else from its nvcc."""
    try:
        data = json.loads((host.path(home) / "version.json").read_text())
        return data["cuda"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    nvcc = str(host.path(home) / "bin" / "nvcc")
    return _nvcc_release(host, nvcc) if os.access(nvcc, os.X_OK) else None


def _nvcc_release(host: Host, nvcc: str) -> str | None:
    result = isolated.run([nvcc, "--version"], env=host.env, timeout_s=min(host.timeout_s, 10.0))
    match = re.search(r"release [\d.]+, V([\d.]+)", result.stdout)
    if match:
        return match.group(1)
    match = re.search(r"release ([\d.]+)", result.stdout)
    return match.group(1) if match else None
