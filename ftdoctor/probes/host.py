"""The one seam between probes and the machine.

Every probe reads the machine through a `Host`: file paths are taken under `root`, environment
variables from `env`, programs from `env["PATH"]`. Tests build a Host over a fake procfs/sysfs tree, a
fake `nvidia-smi` on PATH and fake driver libraries, so that the real probe code runs with no GPU.
`FTDOCTOR_HOST_ROOT` points the command line at such a tree (used by the end-to-end tests).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Host:
    root: Path = Path("/")
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    python: str = sys.executable  # the interpreter whose environment is diagnosed
    timeout_s: float = 20.0  # for each probe subprocess

    @classmethod
    def from_environment(cls, python: str | None = None) -> Host:
        env = dict(os.environ)
        root = Path(env.get("FTDOCTOR_HOST_ROOT", "/"))
        return cls(root=root, env=env, python=python or sys.executable)

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
