"""flash-attn fixes for this environment: the exact wheel the matrix records as published for the installed torch
(the same answer as the flash-attn rules), a source-build recipe when none was published, why neither fits when the
build cannot compile, and, without facts, what to check instead of a file-name pattern."""

from __future__ import annotations

import pytest

from ftdoctor.explain import explain_text
from ftdoctor.explain.catalog import load_catalog
from ftdoctor.facts.model import DriverFacts, Distribution, Facts, Gpu, PythonEnvFacts, Status, SystemFacts, TorchFacts
from ftdoctor.matrix import load_matrix
from ftdoctor.rules.base import Context
from ftdoctor.rules.verify_flash_attn import wheel_fixes

PY = "/opt/train/bin/python"
RELEASES = "https://github.com/Dao-AILab/flash-attention/releases/download"
ABI_LOG = ("ImportError: /env/lib/python3.11/site-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: "
           "undefined symbol: _ZN3c104cuda9SetDeviceEi\n")
NVCC_LOG = ("Collecting flash-attn==2.6.3\n  Using cached flash_attn-2.6.3.tar.gz (2.6 MB)\n"
            "  Preparing metadata (setup.py) ... error\n"
            "      setup.py:95: UserWarning: flash_attn was requested, but nvcc was not found.  Are you sure your "
            "environment has nvcc available?\n")


def facts(torch: str, cuda: str | None, abi: bool, flash_attn: str | None = None, python: str = "3.11.9", cc: str = "8.0") -> Facts:
    dists = (Distribution("torch", torch),) + ((Distribution("flash-attn", flash_attn),) if flash_attn else ())
    return Facts(
        driver=DriverFacts(gpus=(Gpu(0, "NVIDIA A100-SXM4-80GB", "nvml", compute_capability=cc),)),
        python=PythonEnvFacts(status=Status.OK, executable=PY, version=python, distributions=dists),
        torch=TorchFacts(status=Status.OK, source="subprocess", version=torch, cuda=cuda, cxx11_abi=abi),
        system=SystemFacts(machine="x86_64"),
    )


def diagnosis(log: str, f: Facts | None):
    result = explain_text(log, facts=f)
    assert result.found
    return result.diagnoses[0]


def commands(d) -> list[str]:
    return [c for fix in d.fixes for c in fix.commands]


def test_the_installed_releases_published_wheel_is_named_exactly():
    f = facts("2.8.0+cu128", "12.8", True, flash_attn="2.8.3")
    d = diagnosis(ABI_LOG, f)
    name = "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert d.fixes[0].summary == ("Install the flash-attn 2.8.3 wheel published for torch 2.8.0+cu128 (CUDA 12.8, "
                                  f"cxx11abi TRUE) on Python 3.11: {name}")
    assert d.fixes[0].commands == (f"{PY} -m pip uninstall -y flash-attn",
                                   f"{PY} -m pip install --no-deps --force-reinstall {RELEASES}/v2.8.3/{name}")
    # one answer with check's flash-attn rules (FLA702 / FLA750) for the same facts
    assert wheel_fixes(Context(facts=f, matrix=load_matrix()))[0].commands[0] == d.fixes[0].commands[1]
    assert not any("*" in fix.summary for fix in d.fixes)


def test_an_older_torch_and_abi_get_their_own_wheel_from_a_release_that_published_it():
    d = diagnosis(ABI_LOG, facts("2.5.1+cu124", "12.4", False, flash_attn="2.7.0", python="3.10.14"))
    assert "flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp310-cp310-linux_x86_64.whl" in d.fixes[0].summary
    assert d.fixes[0].commands[1].endswith("/v2.8.3/flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")


def test_no_published_wheel_gives_a_source_build_recipe():
    d = diagnosis(ABI_LOG, facts("2.9.1+cu128", "12.8", True, flash_attn="2.8.3"))
    fix = d.fixes[0]
    assert fix.summary.startswith("flash-attn published no prebuilt wheel for torch 2.9.1+cu128 (CUDA 12.8, cxx11abi "
                                  "TRUE) on Python 3.11 (ftdoctor's matrix): compile flash-attn 2.8.3 against this torch")
    assert "nvcc >= 11.7" in fix.summary and "GiB of RAM per job" in fix.summary
    assert fix.commands == (f"{PY} -m pip uninstall -y flash-attn", f"{PY} -m pip install packaging psutil ninja wheel",
                            f"MAX_JOBS=4 {PY} -m pip install --no-build-isolation --no-cache-dir flash-attn==2.8.3")
    assert not any(c.endswith(".whl") for c in commands(d))


def test_a_torch_no_release_can_compile_against_says_so_and_points_at_the_lock():
    d = diagnosis(ABI_LOG, facts("2.13.0+cu130", "13.0", True, flash_attn="2.8.3"))
    assert d.fixes[0].summary.startswith("No flash-attn fits torch 2.13.0+cu130")
    assert "torch 2.13.0+cu130's headers need C++20" in d.fixes[0].summary
    assert d.fixes[0].commands == ("ftdoctor lock --target auto --with flash-attn --explain",)


@pytest.mark.parametrize("f", [None, facts("2.8.0+cpu", None, True, flash_attn="2.8.3")], ids=["no facts", "cpu torch"])
def test_without_a_torch_key_it_says_what_to_check_never_a_pattern(f):
    d = diagnosis(ABI_LOG, f)
    assert d.fixes[0].summary.startswith("Check the installed torch's version, CUDA and C++ ABI, and the Python version")
    assert "torch._C._GLIBCXX_USE_CXX11_ABI" in d.fixes[0].commands[0] and d.fixes[0].commands[1] == "ftdoctor check"
    assert not any("*" in fix.summary or ".whl" in fix.summary for fix in d.fixes)


def test_a_build_that_found_no_nvcc_installs_the_wheel_of_the_release_it_asked_for():
    d = diagnosis(NVCC_LOG, facts("2.4.0+cu121", "12.1", False))
    assert d.signature == "flash-attn-nvcc-not-found" and d.specifics["fa_requested"] == "2.6.3"
    name = "flash_attn-2.6.3+cu123torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    assert d.fixes[0].summary.startswith("Nothing needs compiling: flash-attn 2.6.3 published a prebuilt wheel")
    assert d.fixes[0].commands == (f"{PY} -m pip install --no-deps --force-reinstall {RELEASES}/v2.6.3/{name}",)


def test_a_build_that_found_no_nvcc_and_has_no_wheel_gets_the_toolkit_and_the_build():
    d = diagnosis(NVCC_LOG.replace("2.6.3", "2.8.3"), facts("2.9.1+cu128", "12.8", True))
    assert d.fixes[0].commands[0] == "export CUDA_HOME=/usr/local/cuda-12.8"
    assert d.fixes[0].commands[-1] == f"MAX_JOBS=4 {PY} -m pip install --no-build-isolation --no-cache-dir flash-attn==2.8.3"


def test_cuda_home_unset_offers_the_flash_attn_wheel_only_when_flash_attn_is_being_built():
    f = facts("2.8.0+cu128", "12.8", True)
    deepspeed = diagnosis("deepspeed.ops.op_builder.builder.MissingCUDAException: CUDA_HOME does not exist, unable to "
                          "compile CUDA op(s)\n", f)
    assert not any("flash" in c for c in commands(deepspeed))
    flash = diagnosis("Collecting flash-attn\n  Using cached flash_attn-2.8.3.tar.gz (8.4 MB)\n"
                      "OSError: CUDA_HOME environment variable is not set. Please set it to your CUDA install root.\n", f)
    assert flash.fixes[0].summary.startswith("Nothing needs compiling for flash-attn: flash-attn 2.8.3 published a prebuilt wheel")
    assert flash.fixes[0].commands[0].endswith("flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")


def test_a_flash_attn_wheel_for_another_python_is_replaced_by_the_one_for_this_environment():
    log = ("ERROR: flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp310-cp310-linux_x86_64.whl is not a supported wheel "
           "on this platform.\n")
    d = diagnosis(log, facts("2.8.0+cu128", "12.8", True, python="3.12.3"))
    assert (d.category, d.signature) == ("no_binary_for_platform", "flash-attn-wheel-not-supported")
    assert "cp312" in d.cause
    assert d.fixes[0].commands[0].endswith("flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")
    other = diagnosis("ERROR: numpy-2.0.0-cp310-cp310-linux_x86_64.whl is not a supported wheel on this platform.\n", None)
    assert other.signature == "wheel-not-supported"


def test_no_fix_template_names_a_flash_attn_wheel_by_a_pattern():
    templates = [t for sig in load_catalog().signatures for fix in sig.fixes for t in (fix.summary, *fix.commands)]
    assert not [t for t in templates if "flash_attn-*" in t]


def test_a_flash_attn_built_for_another_cuda_gets_the_wheel_of_torchs_cuda():
    from pathlib import Path

    log = (Path(__file__).parent / "logs" / "cudart_missing_fa_autotrain_292.log").read_text()
    without = diagnosis(log, None)
    assert (without.signature, without.specifics["lib_major"]) == ("flash-attn-cuda-library-missing", "12")
    d = diagnosis(log, facts("2.4.1+cu118", "11.8", False, flash_attn="2.7.3", python="3.9.19"))
    assert "the installed torch uses CUDA 11.8" in d.cause
    assert d.fixes[0].commands[1].endswith("/v2.7.3/flash_attn-2.7.3+cu11torch2.4cxx11abiFALSE-cp39-cp39-linux_x86_64.whl")


def test_a_torch_cuda_that_is_no_version_gives_the_check_not_a_crash():
    d = diagnosis(ABI_LOG, facts("2.8.0+cu128", "garbage", True, flash_attn="2.8.3"))
    assert d.fixes[0].summary.startswith("Check the installed torch's version")
