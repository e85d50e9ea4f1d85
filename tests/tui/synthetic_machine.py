"""A synthetic machine for the TUI tests: facts, a judge over them, probe tasks that can be held, made to
fail, or made to read a marker file that a fix command writes. Nothing here reads the host."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ftdoctor.facts.model import DriverFacts, Facts, Gpu, PythonEnvFacts, Resolved, Status, SystemFacts, TorchFacts
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.tui.data.runners import Runners
from ftdoctor.tui.data.shell import run_in_shell
from ftdoctor.tui.data.tasks import ProbeTask

TITLES = {
    "driver": "NVIDIA driver",
    "architecture": "GPU architecture and precision",
    "torch": "torch build",
    "toolkit": "CUDA toolkit",
    "packages": "Python packages",
}
PIP = "/opt/venv/bin/python -m pip"
TORCH_FIX = f"{PIP} install --upgrade 'torch==2.7.1' --index-url https://download.pytorch.org/whl/cu128"

GPU = Gpu(index=0, name="NVIDIA GeForce RTX 5090", source="nvml", compute_capability="12.0", memory_total_mib=32607)
DRIVER = DriverFacts(
    driver_version=Resolved("570.133.07", "nvml"), cuda_driver_version=Resolved("12.8", "nvml"), gpus=(GPU,)
)
TORCH = TorchFacts(status=Status.OK, source="subprocess", version="2.4.1+cu121", cuda="12.1", cuda_available=True,
                   arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
PYTHON = PythonEnvFacts(status=Status.OK, executable="/opt/venv/bin/python", version="3.11.9", kind="venv")
SYSTEM = SystemFacts(os="Linux", machine="x86_64", distro="Ubuntu 22.04.4 LTS", glibc_version="2.35")


def facts(**sections) -> Facts:
    base = dict(ftdoctor_version="0.1.0", collected_at="2026-11-20T10:00:00+00:00", label="rtx5090-box",
                driver=DRIVER, torch=TORCH, python=PYTHON, system=SYSTEM)
    return Facts(**{**base, **sections})


def judge(facts: Facts, torch_fix: tuple[str, ...] = (TORCH_FIX,)) -> list[Finding]:
    """Findings as rules would give them for these facts; TOR300 turns ok once `env["TORCH_FIXED"]` is set.
    `torch_fix` replaces TOR300's fix commands (the fix tests run harmless ones)."""
    fixed = facts.env.get("TORCH_FIXED") == "yes"
    driver = facts.driver.driver_version.value
    return [
        Finding("DRV100", "driver", Severity.OK if driver else Severity.ERROR,
                "An NVIDIA driver is installed and answers.",
                f"NVIDIA driver {driver} (from nvml), 1 GPU(s)" if driver else "no NVIDIA driver answers",
                {"driver_version": driver, "source": "nvml"}),
        Finding("DRV110", "driver", Severity.OK, "The driver can run the CUDA of the torch build.",
                "driver 570.133.07 supports CUDA ≤ 12.8; torch needs 12.1"),
        Finding("ARC200", "architecture", Severity.WARNING, "bf16 and tf32 work on every GPU.",
                "tf32 is off by default in torch: matmuls on sm_120 run at fp32 speed",
                {"gpu": "NVIDIA GeForce RTX 5090 (sm_120)"},
                (Fix("Enable tf32 in the training config", ("tf32: true",)),)),
        Finding("TOR300", "torch", Severity.OK if fixed else Severity.ERROR,
                "The torch build has kernels for every GPU.",
                "torch 2.7.1+cu128 has kernels for sm_120" if fixed else
                "torch 2.4.1+cu121 has no kernels for sm_120 (NVIDIA GeForce RTX 5090): every CUDA op fails with "
                "'no kernel image is available for execution on the device'",
                {"torch": "2.4.1+cu121", "arch_list": ["sm_50", "sm_80", "sm_90"], "gpu": "sm_120"},
                () if fixed else (Fix("Install a torch built with CUDA 12.8, which has sm_120 kernels", torch_fix,
                                      "https://pytorch.org/get-started/locally/"),)),
        Finding("TOR310", "torch", Severity.INFO, "torch's CUDA libraries come from pip wheels.",
                "nvidia-cudnn-cu12 9.1.0.70 and 17 other nvidia-* wheels"),
        Finding("TLK400", "toolkit", Severity.SKIPPED, "nvcc matches torch's CUDA major version.",
                "requires TOR300, which did not pass"),
        Finding("PKG600", "packages", Severity.WARNING, "The installed packages fit each other.",
                "trl 0.9.6 requires transformers>=4.46, found 4.44.2",
                {"package": "trl", "requirement": "transformers>=4.46", "installed": "4.44.2"},
                (Fix("Upgrade transformers", (f"{PIP} install 'transformers>=4.46'",)),)),
    ]


@dataclass
class Gate:
    """Holds a probe task until released, so a test can see it running."""

    event: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.event.set()


def task(name: str, patch: Callable[[Facts], dict], *, gate: Gate | None = None, needs=()) -> ProbeTask:
    def run(current: Facts) -> dict:
        if gate is not None and not gate.event.wait(30):
            raise TimeoutError("the test never released this probe")
        return patch(current)

    return ProbeTask(name, f"{name} probe", (name,), run, tuple(needs))


def failing_task(name: str, error: Exception) -> ProbeTask:
    def run(current: Facts) -> dict:
        raise error

    return ProbeTask(name, f"{name} probe", (name,), run)


def marker_task(marker: Path) -> ProbeTask:
    """The `env` probe: reports TORCH_FIXED=yes once a fix command wrote the marker file."""
    def run(current: Facts) -> dict:
        return {"env": {"TORCH_FIXED": "yes"} if marker.exists() else {}}

    return ProbeTask("env", "environment probe", ("env",), run)


def runners(probes: tuple[ProbeTask, ...] = (), torch_fix: tuple[str, ...] | None = None, **overrides) -> Runners:
    judged = judge if torch_fix is None else (lambda facts: judge(facts, torch_fix))
    return Runners(judge=judged, titles=TITLES, probes=probes, run_step=run_in_shell, **overrides)


def live_tasks(*gates: Gate) -> tuple[ProbeTask, ...]:
    """driver, torch and python probes giving the synthetic sections; gates hold them in that order."""
    held = dict(zip(("driver", "torch", "python"), gates, strict=False))  # fewer gates: the rest run at once
    return (
        task("driver", lambda f: {"driver": DRIVER}, gate=held.get("driver")),
        task("python", lambda f: {"python": PYTHON}, gate=held.get("python")),
        task("torch", lambda f: {"torch": TORCH}, gate=held.get("torch"), needs=("python",)),
    )


async def wait_for(pilot, condition, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let the app run until `condition()` holds (background workers post their messages meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)
        await asyncio.sleep(0)


def plain(static) -> str:
    """What a Static shows, as plain text (rich renderables rendered at a fixed width)."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(static.content, markup=False)
    return console.export_text()
