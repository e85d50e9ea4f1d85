"""The one seam between probes and the machine.

Every probe reads the machine through a `Host`: file paths are taken under `root`, environment
variables from `env`, programs from `env["PATH"]`. Tests build a Host over a fake procfs/sysfs tree, a
fake `nvidia-smi` on PATH and fake driver libraries, so that the real probe code runs with no GPU.
`FTDOCTOR_HOST_ROOT` points the command line at such a tree (used by the end-to-end tests);
`FTDOCTOR_PROBE_TIMEOUT` and `FTDOCTOR_TORCH_TIMEOUT` bound the probe subprocesses (seconds).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ftdoctor.errors import UsageError

PROBE_TIMEOUT_S = 15.0  # NVML/libcuda, nvidia-smi, nvcc: a healthy driver answers in well under a second
TORCH_TIMEOUT_S = 90.0  # `import torch` plus CUDA initialisation on a big multi-GPU box


@dataclass(frozen=True)
class Host:
    root: Path = Path("/")
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    python: str = sys.executable  # the interpreter whose environment is diagnosed
    timeout_s: float = PROBE_TIMEOUT_S  # for each driver/toolkit probe subprocess
    torch_timeout_s: float = TORCH_TIMEOUT_S  # for the torch subprocess

    @classmethod
    def from_environment(cls, python: str | None = None) -> Host:
        env = dict(os.environ)
        return cls(
            root=Path(env.get("FTDOCTOR_HOST_ROOT", "/")),
            env=env,
            python=python or sys.executable,
            timeout_s=_seconds(env, "FTDOCTOR_PROBE_TIMEOUT", PROBE_TIMEOUT_S),
            torch_timeout_s=_seconds(env, "FTDOCTOR_TORCH_TIMEOUT", TORCH_TIMEOUT_S),
        )

    def path(self, absolute: str) -> Path:
        """`/proc/driver/nvidia/version` under this host's root."""
        return self.root / absolute.lstrip("/")

    def read_text(self, absolute: str) -> str | None:
        """The file's text, or None when it does not exist. Other read errors propagate (a probe reports them)."""
        try:
            return self.path(absolute).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.env.get("PATH", ""))


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise UsageError(f"{name}={text!r} is not a number of seconds between 0 and 3600", hint=f"unset {name} or fix it")
    return value
