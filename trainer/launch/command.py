"""The command line and environment that start a run's processes."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path

from ftdoctor.trainer.launch.plan import LaunchPlan

WORKER = "ftdoctor.trainer.launch.worker"


def worker_command(plan: LaunchPlan, job_file: Path, accelerate_file: Path | None, python: str = sys.executable
                   ) -> list[str]:
    if plan.launcher == "python":
        return [python, "-m", WORKER, str(job_file)]
    return [python, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_file), "--module", WORKER,
            str(job_file)]


def worker_environment(plan: LaunchPlan, base: dict[str, str] | None = None, python: str = sys.executable
                       ) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TORCH_EXTENSIONS_DIR", str(extensions_dir(python)))
    if plan.processes > 1 and plan.device == "cpu":
        # torch elastic would set 1 thread per process; share the cores instead of idling or oversubscribing
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // plan.processes)))
    return env


def extensions_dir(python: str) -> Path:
    """Where DeepSpeed's JIT-built ops are cached: one folder per interpreter, kept across runs (a build
    made for one virtual environment is rebuilt for another, about a minute each time)."""
    prefix = str(Path(python).resolve().parent.parent)
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:12]
    return Path.home() / ".cache" / "torch_extensions" / f"ftdoctor-{digest}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
