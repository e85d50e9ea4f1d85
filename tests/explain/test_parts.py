"""The small parts: templates, converters, guards, choosing a torch build from the matrix, facts checks."""

from __future__ import annotations

import pytest

from ftdoctor.explain.checks import driver_older_than_torch_cuda, gpu_before_ampere, torch_has_cuda
from ftdoctor.explain.context import (
    driver_runs, facts_values, log_values, pick_for_cc, pick_for_driver, pick_for_driver_cuda, runs_on,
)
from ftdoctor.explain.convert import (
    cc_from_arch, cc_from_major_minor, cuda_from_int, first_clause, first_version, guard_holds, human_bytes,
    ms_to_s, short_symbol,
)
from ftdoctor.explain.template import placeholders, render
from ftdoctor.facts.model import (
    DriverFacts, Facts, Gpu, PythonEnvFacts, Distribution, Resolved, Status, TorchFacts,
)
from ftdoctor.matrix import load_matrix
from ftdoctor.matrix.model import TorchVariant


def test_render_fills_drops_optional_segments_and_refuses_missing_values():
    values = {"a": "1", "versions": {"trl": "0.21.0"}}
    assert render("x {a}[[ y {b}]][[ z {versions[trl]}]]", values) == "x 1 z 0.21.0"
    assert render("x {b}", values) is None
    assert render("{{literal}} {a}", values) == "{literal} 1"
    assert render("{a}", {"a": "{b}"}) == "{b}"  # values are never parsed again
    assert placeholders("{a} [[{versions[x]}]]") == {"a", "versions[x]"}


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (cuda_from_int, "11040", "11.4"), (cuda_from_int, "12080", "12.8"), (cuda_from_int, "x", None),
        (cc_from_arch, "sm_120", "12.0"), (cc_from_arch, "compute_90a", "9.0"), (cc_from_arch, "sm_86", "8.6"),
        (cc_from_major_minor, "major=7, minor=0", "7.0"),
        (human_bytes, "268435456", "256.0 MiB"), (human_bytes, "512", "512 B"),
        (short_symbol, "_ZN3c104cuda9SetDeviceEi", "c10::cuda::SetDevice"),
        (short_symbol, "_ZN2at4_ops5zeros4callEN3c108ArrayRef", "at::_ops::zeros::call"),
        (first_version, "2.2.0, 2.0.1, 2.10.0", "2.0.1"), (first_version, "none", None),
        (first_clause, "a; b; c", "a (and 2 more)"), (ms_to_s, "600000", "600"),
    ],
)
def test_converters(func, value, expected):
    assert func(value) == expected


def test_version_guard_compares_versions_not_strings():
    assert guard_holds("version_lt:a,b", {"a": "1.13.1", "b": "2.0.0"})
    assert not guard_holds("version_lt:a,b", {"a": "2.10.0", "b": "2.9.0"})  # "2.10.0" < "2.9.0" as strings
    assert not guard_holds("version_lt:a,b", {"a": "1.0"})


def variant(cuda: str, archs: tuple[str, ...], ptx: tuple[str, ...] = ()) -> TorchVariant:
    return TorchVariant(cuda=cuda, archs=archs, ptx=ptx, source="test")


def test_runs_on_follows_the_cubin_and_ptx_rules():
    built = variant("12.8", ("8.0", "8.6", "9.0"))
    assert runs_on(built, "8.9")  # an 8.6 cubin runs on 8.9
    assert not runs_on(built, "12.0") and not runs_on(built, "7.5")
    assert runs_on(variant("12.8", ("9.0",), ptx=("9.0",)), "12.0")  # PTX JIT-compiles on newer GPUs


def test_driver_floors_at_the_boundary():
    cuda = load_matrix().cuda
    floor = cuda.major("12.4").min_driver_linux
    assert driver_runs(cuda, variant("12.4", ("8.0",)), floor)
    assert not driver_runs(cuda, variant("12.4", ("8.0",)), "525.60.12")
    assert not driver_runs(cuda, variant("13.0", ("8.0",)), "570.0")


def test_picks_from_the_matrix():
    matrix = load_matrix()
    release = matrix.torch.release_for("2.5.1+cu124")
    assert pick_for_driver(matrix.cuda, release, "470.86").cuda.startswith("11.")
    assert pick_for_driver(matrix.cuda, release, "550.54.14").cuda == "12.4"
    for_5090 = pick_for_cc(matrix, "12.0", "550.54.14")
    assert for_5090 is not None and runs_on(for_5090[1], "12.0") and for_5090[1].cuda.startswith("12.")
    assert pick_for_cc(matrix, "2.1", None) is None  # nothing builds for a compute capability 2.1 GPU
    release, picked, compat = pick_for_driver_cuda(matrix, "11.4")
    assert picked.cuda.startswith("11.") and compat  # no build at or below 11.4: minor-version compatibility
    release, picked, compat = pick_for_driver_cuda(matrix, "12.4")
    assert picked.cuda.startswith("12.") and compat == (picked.cuda != "12.4")
    release, picked, compat = pick_for_driver_cuda(matrix, "13.2")
    assert picked.cuda.startswith("13.") and not compat
    assert pick_for_driver_cuda(matrix, "9.0") is None


def gpu_facts(cc: str = "8.6", torch: str = "2.5.1+cu124", cuda: str | None = "12.4") -> Facts:
    return Facts(
        driver=DriverFacts(driver_version=Resolved("470.86", "nvml"), cuda_driver_version=Resolved("11.4", "nvml"),
                           gpus=(Gpu(0, "NVIDIA GeForce RTX 3050", "nvml", compute_capability=cc),)),
        python=PythonEnvFacts(status=Status.OK, executable="/opt/env/bin/python", version="3.10.14",
                              distributions=(Distribution("torch", torch), Distribution("trl", "0.21.0"))),
        torch=TorchFacts(status=Status.UNKNOWN, source="metadata", version=torch, cuda=cuda),
    )


def test_facts_values_name_this_environment():
    values = facts_values(gpu_facts(), load_matrix())
    assert values["pip"] == "/opt/env/bin/python -m pip" and values["py_tag"] == "cp310"
    assert values["torch_mm"] == "2.5" and values["torch_cuda_major"] == "12"
    assert values["torch_cxx11abi"] == "FALSE"  # the default 2.5 Linux wheel (from the matrix: torch not imported)
    assert values["versions"]["trl"] == "0.21.0"
    assert values["backend_for_driver"].startswith("cu11")
    assert facts_values(None, load_matrix()) == {"python": "python", "pip": "python -m pip"}


def test_log_values_choose_a_build_for_the_logs_gpu():
    values = log_values({"arch": "sm_120"}, {}, load_matrix())
    assert values["arch_backend"].startswith("cu1") and values["arch_min_driver"]


def test_facts_checks_agree_or_doubt():
    assert driver_older_than_torch_cuda(gpu_facts())[0] is True
    assert gpu_before_ampere(gpu_facts(cc="7.0"))[0] is True
    assert gpu_before_ampere(gpu_facts(cc="8.6"))[0] is False
    agrees, note = torch_has_cuda(gpu_facts(torch="2.7.0+rocm6.3", cuda=None))
    assert agrees is None and "ROCm" in note
    assert driver_older_than_torch_cuda(Facts())[0] is None  # nothing known: no verdict
