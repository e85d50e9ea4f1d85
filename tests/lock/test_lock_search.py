"""Scenarios: a described machine in, the chosen pins (or the reason nothing fits) out."""

import pytest
from packaging.version import Version

from ftdoctor.lock.search import Request, lock
from ftdoctor.lock.target import described
from ftdoctor.lock.torch_choice import parse_pin
from ftdoctor.matrix import load_matrix

M = load_matrix()
ALL = ("flash-attn", "bitsandbytes", "deepspeed")


def run(gpu=None, driver=None, python="3.12", extras=(), policy="proven", torch=None, cpu=False, nvcc=None):
    t = described(M, gpu=gpu, driver=driver, python=python, platform=None, cpu=cpu, nvcc=nvcc)
    return lock(M, Request(t, extras, parse_pin(torch), policy))


def pins(result):
    return {p.name: p for p in result.proposal.pins}


def test_h100_proven_takes_the_newest_torch_with_a_prebuilt_flash_attn_wheel():
    r = run("H100", "580.95.05", extras=ALL)
    p = pins(r)
    assert p["torch"].version == "2.8.0" and p["torch"].index is None  # the default wheel, CUDA 12.8
    assert p["flash-attn"].url.endswith("flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")
    assert p["bitsandbytes"].version and p["deepspeed"].version
    assert any("no prebuilt flash-attn wheel" in line for line in r.passed_over)


def test_newest_policy_on_the_same_machine_builds_flash_attn_from_source():
    r = run("H100", "580.95.05", extras=ALL, policy="newest")
    p = pins(r)
    # torch 2.13+ headers need C++20, flash-attn's setup.py passes C++17: the newest torch it can build against is 2.12
    assert p["torch"].version.startswith("2.12.1")
    assert p["flash-attn"].variant == "source build" and p["flash-attn"].build
    assert any(x.constraint == "extra:flash-attn" and "C++20" in x.why for x in r.ruled_out)


def test_blackwell_on_a_575_driver_needs_the_cu128_index_for_newer_torch():
    r = run("RTX 5090", "575.57.08", policy="newest")
    p = pins(r)
    assert p["torch"].version == "2.11.0+cu128" and p["torch"].index.endswith("/whl/cu128")
    assert any("cannot run CUDA 13" in x.why for x in r.ruled_out)


def test_volta_newest_is_cu126():
    p = pins(run("V100", "535.104.05", policy="newest"))
    assert p["torch"].version == "2.14.1+cu126"


def test_volta_proven_stays_on_the_default_index():
    p = pins(run("V100", "535.104.05"))
    assert p["torch"].version == "2.10.0"  # the last default wheel with sm_70


def test_cpu_target():
    p = pins(run(cpu=True, extras=("bitsandbytes", "deepspeed")))
    assert p["torch"].version.endswith("+cpu") and p["torch"].index.endswith("/whl/cpu")
    assert Version(p["bitsandbytes"].version) >= Version("0.48")


def test_python_boundary_picks_releases_that_support_it():
    p = pins(run("A100", "535.104.05", python="3.10", policy="newest"))
    assert p["transformers"].version == "5.20.2"  # 5.22 needs Python 3.11
    assert p["trl"].version == "1.14.2"  # 1.15 needs Python 3.11
    assert p["torch"].version != "2.15.0"  # 2.15 has no cp310 wheels


def test_the_rules_judge_each_proposal():
    # DeepSpeed has no CUDA 13 family: with nvcc 13.0 the default cu132 wheel of 2.15 is refused by DSP902
    r = run("H100", "595.71.05", extras=("deepspeed",), policy="newest", nvcc="13.0.88")
    assert pins(r)["torch"].version == "2.15.0+cu130"
    assert any(x.constraint == "rules" and "DSP902" in x.why for x in r.ruled_out)


def test_torch_pin():
    assert pins(run("A100", "535.104.05", torch="2.6"))["torch"].version == "2.6.0"
    assert pins(run("A100", "535.104.05", torch=">=2.4,<2.6", policy="newest"))["torch"].version == "2.5.1"


def test_impossible_flash_attn_on_turing_says_what_would_work():
    r = run("T4", "535.104.05", extras=("flash-attn",))
    assert not r.ok
    assert r.suggestions[0].startswith("the blocking constraint is the extra flash-attn")
    assert any(s.startswith("dropping flash-attn would allow torch") for s in r.suggestions)


def test_impossible_python_suggests_another():
    r = run("A100", "580.95.05", python="3.9", torch="2.15")
    assert not r.ok
    assert any(s.startswith("another Python would work: 3.11") for s in r.suggestions)
    assert any("without the torch pin" in s for s in r.suggestions)


def test_driver_too_old_for_any_cuda13_wheel_of_a_pinned_torch():
    r = run("H100", "535.104.05", torch="2.15")
    assert not r.ok
    assert any(s.startswith("a newer NVIDIA driver (>= 580.65.06) would allow torch 2.15.0") for s in r.suggestions)


@pytest.mark.parametrize("text, spec", [("2.8", "==2.8.*"), ("2.8.0", "==2.8.0"), (">=2.6,<2.9", "<2.9,>=2.6")])
def test_torch_pin_spellings(text, spec):
    assert str(parse_pin(text)) == spec
