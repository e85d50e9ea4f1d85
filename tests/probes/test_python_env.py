"""The diagnosed Python environment, read through importlib.metadata in that interpreter: distributions,
local labels, wheels' provenance, duplicates, leftovers, and requirement violations as `pip check` sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ftdoctor.facts.model import Distribution, Status
from ftdoctor.probes import python_env, python_env_child
from ftdoctor.probes.host import Host

FLASH_WHEEL = "flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"


def make_dist(site: Path, name: str, version: str, requires=(), direct_url=None, tags=(), info_name=None) -> Path:
    info = site / (info_name or f"{name.replace('-', '_')}-{version}.dist-info")
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"] + [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "INSTALLER").write_text("pip\n")
    if direct_url:
        (info / "direct_url.json").write_text(json.dumps({"url": direct_url, "archive_info": {}}))
    if tags:
        (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {t}\n" for t in tags))
    return info


@pytest.fixture
def venv(tmp_path) -> Path:
    """A real, empty virtual environment (no pip): a second interpreter to diagnose with --python."""
    target = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    return target


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


def populate(site: Path) -> None:
    make_dist(site, "torch", "2.5.1+cu124", requires=(
        "nvidia-cudnn-cu12==9.1.0.70; platform_system == 'Linux'", "triton==3.1.0", "filelock"))
    make_dist(site, "nvidia-cudnn-cu12", "9.1.0.70")
    make_dist(site, "triton", "3.0.0")
    make_dist(site, "peft", "0.17.0", requires=("torch>=2.6", "accelerate>=0.21.0", "pywin32; sys_platform == 'win32'",
                                                "bitsandbytes; extra == 'quant'", "packaging>=20"))
    make_dist(site, "packaging", "25.0rc1")
    make_dist(site, "flash-attn", "2.8.3", direct_url=f"file:///wheels/{FLASH_WHEEL}", tags=("cp311-cp311-linux_x86_64",))
    make_dist(site, "torch", "2.1.0", info_name="~orch-2.1.0.dist-info")  # left by an interrupted uninstall


def test_another_interpreter_is_diagnosed_in_its_own_child(venv):
    site = site_packages(venv)
    populate(site)
    python = str(venv / "bin" / "python")
    facts = python_env.probe(Host(python=python, env={"PATH": "/usr/bin:/bin"}))
    assert facts.status == Status.OK
    assert (facts.executable, facts.kind, facts.prefix) == (python, "venv", str(venv))
    names = {d.name: d for d in facts.distributions}
    assert set(names) == {"torch", "nvidia-cudnn-cu12", "triton", "peft", "packaging", "flash-attn"}
    assert names["torch"].version == "2.5.1+cu124"  # not the ~orch leftover
    assert names["flash-attn"].direct_url.endswith(FLASH_WHEEL)
    assert names["flash-attn"].wheel_tags == ("cp311-cp311-linux_x86_64",)
    assert names["flash-attn"].installer == "pip"
    assert facts.invalid_distributions == (str(site / "~orch-2.1.0.dist-info"),)
    assert [(v.package, v.requirement, v.installed) for v in facts.violations] == [
        ("peft", "torch>=2.6", "2.5.1+cu124"),
        ("peft", "accelerate>=0.21.0", None),
        ("torch", "triton==3.1.0", "3.0.0"),
        ("torch", "filelock", None),
    ]
    assert facts.libstdcxx_path and "libstdc++.so" in facts.libstdcxx_path


def test_pythonpath_copies_shadow_and_are_reported_as_duplicates(venv, tmp_path):
    make_dist(site_packages(venv), "torch", "2.5.1+cu124")
    extra = tmp_path / "extra"
    make_dist(extra, "torch", "2.4.0")
    facts = python_env.probe(Host(python=str(venv / "bin" / "python"), env={"PYTHONPATH": str(extra)}))
    assert [d.version for d in facts.distributions if d.name == "torch"] == ["2.4.0"]  # PYTHONPATH first, as for the user
    assert facts.duplicates == ("torch",)
    assert facts.duplicate_locations["torch"] == (
        f"2.4.0 @ {extra} (torch-2.4.0.dist-info)", f"2.5.1+cu124 @ {site_packages(venv)} (torch-2.5.1+cu124.dist-info)")


def test_a_conda_prefix_is_recognised(venv):
    (venv / "conda-meta").mkdir()
    assert python_env.probe(Host(python=str(venv / "bin" / "python"), env={})).kind == "conda"


def test_a_python_that_is_not_one(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'hello, I am not python'\n")
    fake.chmod(0o755)
    facts = python_env.probe(Host(python=str(fake), env={}))
    assert facts.status == Status.UNKNOWN
    assert facts.reason == f"{fake} printed no package list"
    crash = tmp_path / "crash"
    crash.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crash.chmod(0o755)
    facts = python_env.probe(Host(python=str(crash), env={}))
    assert facts.reason == f"listing the packages of {crash} failed: it killed by SIGSEGV"


def test_the_launchers_own_folder_is_not_part_of_the_environment(tmp_path):
    make_dist(tmp_path, "stray", "1.0")
    dists, _, _ = python_env_child.distributions([str(tmp_path)])
    assert [d["name"] for d in dists] == ["stray"]
    assert "stray" not in {d.name for d in python_env.probe(Host(env={})).distributions}


@pytest.mark.parametrize(
    "requirement, installed, violated",
    [
        ("torch>=2.6", "2.6.0", False),
        ("torch>=2.6", "2.5.1+cu124", True),
        ("torch<2.6", "2.6.0rc1", True),  # pip check counts pre-releases
        ("torch>=2.6", "2.6.0rc1", True),
        ("torch>=2.6.0.dev0", "2.6.0rc1", False),
        ("torch==2.5.*", "2.5.1+cu124", False),
        ("Torch_Vision>=0.20", "0.20.1", False),  # names compare normalized
        ("torch>=2.6; python_version < '3.0'", "2.0.0", False),  # the marker excludes it
        ("torch>=2.6; extra == 'gpu'", "2.0.0", False),  # extras are not checked
        ('torch>=2.6; python_version >= "3.8" and extra=="gpu"', "2.0.0", False),
        ("torch>=2.6; extra == 'gpu' or python_version >= '3.8'", "2.0.0", True),  # true without the extra
        ("torch", "not-a-version", False),
    ],
)
def test_requirement_violations_at_the_boundaries(requirement, installed, violated):
    name = "torch-vision" if requirement.lower().startswith("torch_vision") else "torch"
    dists = (Distribution("user", "1.0", requires=(requirement,)), Distribution(name, installed))
    markers = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux"}
    assert bool(python_env.violations(dists, markers)) is violated
