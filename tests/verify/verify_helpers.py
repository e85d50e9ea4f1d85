"""Helpers for the verify tests: throwaway environments that put broken packages in front of the real stack,
shared objects built with gcc, and a check that nothing a test started is left running."""


from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.processes import alive, processes_mentioning  # noqa: F401 - the verify tests import them from here

FLASH_ATTN_VERSION = "2.8.3.post2"


@dataclass
class FixtureEnv:
    """A venv whose own site-packages comes first, then the real stack of the test interpreter."""

    root: Path
    python: Path
    site: Path

    def package(self, name: str, files: dict[str, str], version: str = "0.0.1", dist: str | None = None) -> Path:
        """A package `name` with `files` (relative path -> text), installed as distribution `dist` (metadata only)."""
        folder = self.site / name
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        self.distribution(dist or name, version)
        return folder

    def distribution(self, dist: str, version: str) -> None:
        info = self.site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "RECORD").write_text("")
        (info / "INSTALLER").write_text("ftdoctor-tests\n")


def make_env(root: Path) -> FixtureEnv:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    real = sysconfig.get_paths()["purelib"]
    # after the fixture's own packages: the real stack (torch, bitsandbytes, ...) of the test interpreter
    (site / "zz_real_stack.pth").write_text(f"import site; site.addsitedir({real!r})\n")
    return FixtureEnv(root, python, site)


def torch_lib_dir() -> Path:
    spec = importlib.util.find_spec("torch")  # located, not imported
    assert spec and spec.origin
    return Path(spec.origin).parent / "lib"


def gcc(source: str, output: Path, *flags: str) -> Path:
    """Compile C `source` into the shared object `output` (gcc is on every machine this project supports)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    output.parent.mkdir(parents=True, exist_ok=True)
    c_file = output.with_suffix(".c")
    c_file.write_text(textwrap.dedent(source))
    # --no-as-needed: keep DT_NEEDED on libc10 even when the only symbol wanted from it is missing there
    argv = ["gcc", "-shared", "-fPIC", "-o", str(output), str(c_file), "-Wl,--no-as-needed", *flags]
    subprocess.run(argv, check=True, timeout=120)
    c_file.unlink()
    return output


def extension_suffix() -> str:
    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def assert_nothing_left(tmp_path: Path, pid_files: list[Path] = ()) -> None:
    time.sleep(0.2)  # a SIGKILLed process needs a moment to leave /proc
    leftovers = processes_mentioning(str(tmp_path))
    assert not leftovers, f"processes left behind: {leftovers}"
    for pid_file in pid_files:
        if pid_file.exists():
            pid = int(pid_file.read_text())
            assert not alive(pid), f"process {pid} from {pid_file.name} was left running"


def install_wheel(wheel: Path, site: Path) -> None:
    """A pure-Python wheel is a zip of site-packages content: unpacking it is installing it (no scripts here)."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
