"""Compile the fake driver libraries with gcc (once per test session, into a temporary folder)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path(__file__).resolve().parent
VARIANTS = {
    "current": [],  # a current driver
    "old": ["-DFAKE_OLD_NVML"],  # no nvmlSystemGetCudaDriverVersion_v2 / nvmlDeviceGetCudaComputeCapability / ...Architecture
    "no-init-flags": ["-DFAKE_NO_INIT_FLAGS"],  # no nvmlInitWithFlags: nvidia-ml-py's nvmlInit meets FunctionNotFound
}


@dataclass(frozen=True)
class FakeLibraries:
    root: Path

    def folder(self, variant: str = "current") -> Path:
        """A folder holding libnvidia-ml.so.1 (of this variant) and libcuda.so.1, for LD_LIBRARY_PATH."""
        return self.root / variant


def build(out: Path) -> FakeLibraries:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("the fake driver libraries need gcc (or cc) on PATH")
    for variant, flags in VARIANTS.items():
        folder = out / variant
        folder.mkdir(parents=True, exist_ok=True)
        _compile(gcc, SOURCES / "fake_nvml.c", folder / "libnvidia-ml.so.1", flags)
        _compile(gcc, SOURCES / "fake_cuda.c", folder / "libcuda.so.1", [])
    return FakeLibraries(out)


def _compile(gcc: str, source: Path, target: Path, flags: list[str]) -> None:
    # no -Werror: another gcc may warn where this one does not, and a warning must not fail the suite
    argv = [gcc, "-shared", "-fPIC", "-O1", "-Wall", *flags,
            f"-Wl,-soname,{target.name}", "-o", str(target), str(source)]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"compiling {source.name} failed:\n{result.stderr}")
