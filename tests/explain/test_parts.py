"""The small parts: templates, converters, guards, the torch builds fixes name (the rules' choice), facts checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ftdoctor.explain.checks import driver_older_than_torch_cuda, gpu_before_ampere, torch_has_cuda
from ftdoctor.explain.context import facts_values, log_values
from ftdoctor.explain.convert import (
    cc_from_arch, cc_from_major_minor, cuda_from_int, first_clause, first_version, guard_holds, human_bytes,
    ms_to_s, short_symbol,
)
from ftdoctor.explain.template import placeholders, render
from ftdoctor.facts.model import (
    DriverFacts, Facts, Gpu, PythonEnvFacts, Distribution, Resolved, Status, TorchFacts,
)
from ftdoctor.matrix import load_matrix


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


def fix_for(facts: Facts, code: str):
    """The first fix `ftdoctor check` gives for a rule on these facts."""
    from ftdoctor.rules import all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge

    (finding,) = [f for f in judge(all_rules(), Context(facts=facts, matrix=load_matrix())) if f.code == code]
    return finding.fixes[0]


def explained(text: str, facts: Facts | None):
    from ftdoctor.explain import explain_text

    result = explain_text(text, facts=facts)
    assert result.found, text
    return result.diagnoses[0]


def recorded(name: str) -> Facts:
    from pathlib import Path

    from ftdoctor.facts import serialize

    return serialize.load(Path(__file__).parents[1] / "machines" / f"{name}.json")


@pytest.mark.parametrize(("machine", "code", "log"), [
    ("t4-driver525", "DRV103", "RuntimeError: The NVIDIA driver on your system is too old (found version 12000)."),
    ("rtx5090-cu130-driver570", "DRV103", "RuntimeError: CUDA driver version is insufficient for CUDA runtime version"),
    ("rtx5090-cu126", "ARC200", "RuntimeError: CUDA error: no kernel image is available for execution on the device"),
    ("v100-cu130", "ARC200", "RuntimeError: CUDA error: no kernel image is available for execution on the device"),
])
def test_explain_gives_the_torch_fix_check_gives(machine, code, log):
    """One answer from check, fix and explain: a log explained on a machine gets the rule's own torch command."""
    facts = recorded(machine)
    check_fix = fix_for(facts, code)
    top = explained(log, facts)
    assert top.fixes[0].commands == check_fix.commands
    assert " -m pip install torch==" in check_fix.commands[0] and "--index-url https://download.pytorch.org/whl/cu" in check_fix.commands[0]
    assert not any("uv" in c.split() for fix in top.fixes for c in fix.commands)


def test_log_values_choose_builds_with_the_rules_choice():
    matrix = load_matrix()
    for_log = log_values({"arch": "sm_120"}, None, matrix)
    assert for_log["arch_build"].startswith("torch ") and "+cu1" in for_log["arch_build"]
    assert for_log["arch_install"].startswith("python -m pip install torch==")
    assert for_log["arch_min_driver"]
    assert log_values({"arch": "sm_21"}, None, matrix) == {}  # nothing builds for a compute capability 2.1 GPU
    old = log_values({"driver_cuda_log": "11.4"}, None, matrix)
    assert "+cu11" in old["log_driver_build"] and old["log_driver_compat_floor"]  # 11.4: minor-version compatibility
    exact = log_values({"driver_cuda_log": "13.2"}, None, matrix)
    assert "+cu13" in exact["log_driver_build"] and "log_driver_compat_floor" not in exact
    assert "+cu124" in log_values({"toolkit_cuda": "12.4"}, None, matrix)["toolkit_build"]
    assert log_values({"torch_cuda_log": "11.8"}, None, matrix)["torch_index_log"].endswith("/cu118")


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
    assert "+cu11" in values["torch_build"] and values["torch_install"].startswith("/opt/env/bin/python -m pip install")
    assert values["torch_reinstall"].startswith("/opt/env/bin/python -m pip install --force-reinstall torch==2.5.1+cu124")
    assert facts_values(None, load_matrix()) == {"python": "python", "pip": "python -m pip"}


def test_facts_checks_agree_or_doubt():
    assert driver_older_than_torch_cuda(gpu_facts())[0] is True
    assert gpu_before_ampere(gpu_facts(cc="7.0"))[0] is True
    assert gpu_before_ampere(gpu_facts(cc="8.6"))[0] is False
    agrees, note = torch_has_cuda(gpu_facts(torch="2.7.0+rocm6.3", cuda=None))
    assert agrees is None and "ROCm" in note
    assert driver_older_than_torch_cuda(Facts())[0] is None  # nothing known: no verdict


@pytest.mark.parametrize(("triggers", "line"), [
    # "flash_at" (keyword flash_attn) starts before "h_attn_2" ends: both must be reported, not the first only
    ({"flash_at": ("flash_attn",), "h_attn_2": ("import flash_attn_2_cuda",)}, "    import flash_attn_2_cuda as fa"),
    # "nccl" is a prefix of "nccl err" at the same position: the longer match also stands for the shorter
    ({"nccl": ("nccl",), "nccl err": ("nccl error",)}, "torch.distributed.distbackenderror: nccl error 2"),
])
def test_a_keywords_hit_never_hides_another_keyword_on_the_line(triggers, line):
    from ftdoctor.explain.scan import Prefilter

    prefilter = Prefilter.for_triggers(triggers)
    assert prefilter.regex.search(line)  # the line is a candidate
    assert prefilter.keywords_in(line) == {kw for kws in triggers.values() for kw in kws}
