"""CUDA toolkits: CUDA_HOME/CUDA_PATH, the nvcc on PATH (wrapper scripts resolved to the real toolkit), and
toolkits side by side, each with its version."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ftdoctor.facts.model import Status
from ftdoctor.probes import toolkit
from ftdoctor.probes.host import Host

FAKE_NVCC = """#!/bin/sh
case "$*" in
  *--version*) echo "nvcc: NVIDIA (R) Cuda compiler driver"
               echo "Cuda compilation tools, release {short}, V{version}"; exit 0 ;;
  *-dryrun*) here=$(cd "$(dirname "$0")" && pwd -P)
             echo "#\\$ _HERE_=$here" >&2; echo "#\\$ TOP=$here/.." >&2; exit 0 ;;
esac
exit 1
"""


def make_toolkit(root: Path, name: str, version: str, marker: str = "json") -> Path:
    home = root / "usr/local" / name
    nvcc = home / "bin" / "nvcc"
    nvcc.parent.mkdir(parents=True)
    nvcc.write_text(FAKE_NVCC.format(short=version.rsplit(".", 1)[0], version=version))
    nvcc.chmod(0o755)
    if marker == "json":
        (home / "version.json").write_text(json.dumps({"cuda": {"name": "CUDA SDK", "version": version}}))
    elif marker == "txt":
        (home / "version.txt").write_text(f"CUDA Version {version}\n")
    elif marker == "dist-info":
        (home / "dist-info" / f"nvidia_cuda_nvcc-{version}.dist-info").mkdir(parents=True)
    return home


def make_wrapper(folder: Path, target: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "nvcc"
    wrapper.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def host(root: Path, path: str, **env: str) -> Host:
    return Host(root=root, env={"PATH": f"{path}:/usr/bin:/bin", **env}, timeout_s=5)


def test_a_wrapper_script_on_path_resolves_to_the_real_toolkit(tmp_path):
    root = tmp_path / "root"
    real = make_toolkit(root, "cuda-12.4", "12.4.131")
    make_toolkit(root, "cuda-11.8", "11.8.89", marker="txt")
    (root / "usr/local/cuda").symlink_to(real)
    wrapper = make_wrapper(root / "usr/local/bin", real / "bin" / "nvcc")
    facts = toolkit.probe(host(root, str(wrapper.parent)))
    assert facts.status == Status.OK
    assert facts.nvcc_path == str(wrapper)
    assert facts.nvcc_version == "12.4.131"
    assert facts.nvcc_real_path == str(real / "bin" / "nvcc")
    assert (facts.cuda_home.value, facts.cuda_home.source) == (
        "/usr/local/cuda-12.4", "nvcc on PATH (its real folder, from nvcc -dryrun)")
    # what torch/DeepSpeed would take from PATH: the wrapper's folder, which is no toolkit
    assert facts.path_guess_home == str(root / "usr/local")
    assert [(i.path, i.version, i.source) for i in facts.installs] == [
        ("/usr/local/cuda-12.4", "12.4.131", "nvcc on PATH"),
        ("/usr/local/cuda-11.8", "11.8.89", "/usr/local/cuda"),
    ]


def test_cuda_home_wins_and_a_broken_one_is_named(tmp_path):
    root = tmp_path / "root"
    make_toolkit(root, "cuda-12.8", "12.8.93", marker="dist-info")
    facts = toolkit.probe(host(root, str(tmp_path / "nothing"), CUDA_HOME="/usr/local/cuda-12.8"))
    assert (facts.cuda_home.value, facts.cuda_home.source) == ("/usr/local/cuda-12.8", "CUDA_HOME")
    assert facts.installs[0].version == "12.8.93" and facts.installs[0].source == "CUDA_HOME"
    assert facts.cuda_home_problem == ""
    missing = toolkit.probe(host(root, str(tmp_path / "nothing"), CUDA_PATH="/opt/cuda-13"))
    assert missing.cuda_home.source == "CUDA_PATH"
    assert missing.cuda_home_problem == "CUDA_PATH=/opt/cuda-13 does not exist"
    (root / "usr/runtime-only/lib64").mkdir(parents=True)
    partial = toolkit.probe(host(root, str(tmp_path / "nothing"), CUDA_HOME="/usr/runtime-only"))
    assert partial.cuda_home_problem.startswith("CUDA_HOME=/usr/runtime-only has no bin/nvcc")


def test_no_toolkit_at_all(tmp_path):
    facts = toolkit.probe(host(tmp_path, str(tmp_path / "nothing")))
    assert facts.status == Status.ABSENT
    assert facts.reason.startswith("no CUDA toolkit: CUDA_HOME/CUDA_PATH unset, no nvcc on PATH")
    assert (facts.nvcc_path, facts.path_guess_home, facts.cuda_home.value) == (None, None, None)


def test_a_toolkit_without_version_files_asks_its_nvcc(tmp_path):
    root = tmp_path / "root"
    make_toolkit(root, "cuda-12.1", "12.1.105", marker="none")
    facts = toolkit.probe(host(root, str(tmp_path / "nothing")))
    assert [(i.path, i.version) for i in facts.installs] == [("/usr/local/cuda-12.1", "12.1.105")]
    assert facts.cuda_home.value is None  # no CUDA_HOME, no nvcc on PATH, no /usr/local/cuda: nothing is guessed


@pytest.mark.parametrize("stdout, release", [
    ("Cuda compilation tools, release 12.8, V12.8.93\nBuild cuda_12.8.r12.8/compiler.35404655_0", "12.8.93"),
    ("Cuda compilation tools, release 9.2, V9.2.148", "9.2.148"),
    ("Cuda compilation tools, release 10.0", "10.0"),
    ("garbage", None),
])
def test_nvcc_release(stdout, release):
    assert toolkit.nvcc_release(stdout) == release


@pytest.mark.skipif(not (shutil.which("nvcc") and open(shutil.which("nvcc"), "rb").read(2) == b"#!"),
                    reason="this machine's nvcc on PATH is not a wrapper script")
def test_this_machines_wrapper_nvcc_is_resolved():
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_HOME", "CUDA_PATH")}
    facts = toolkit.probe(Host(env=env))
    wrapper = shutil.which("nvcc")
    assert facts.nvcc_path == wrapper
    assert facts.nvcc_real_path and facts.nvcc_real_path != wrapper
    assert os.path.isfile(os.path.join(facts.cuda_home.value, "bin", "nvcc"))
    assert facts.cuda_home.value != os.path.dirname(os.path.dirname(wrapper))
