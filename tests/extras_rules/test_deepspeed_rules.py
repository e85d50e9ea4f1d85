"""DSP90x: DeepSpeed's toolkit, nvcc/torch CUDA agreement, C++ standard, ninja."""

from extras_machines import machine, outcome, severity

from ftdoctor.facts.model import Status
from ftdoctor.findings import Severity

DS = [("deepspeed", "0.19.8"), ("ninja", "1.13.2")]


def test_toolkit_unknown_absent_present():
    assert outcome(machine(packages=DS), "DSP901").message.startswith("unknown")
    facts = machine(packages=DS)
    from dataclasses import replace
    absent = replace(facts, toolkit=replace(facts.toolkit, status=Status.ABSENT))
    assert severity(absent, "DSP901") == Severity.WARNING
    assert severity(machine(packages=DS, nvcc="12.8.93"), "DSP901") == Severity.OK


def test_cuda_agreement():
    assert severity(machine(packages=DS, nvcc="12.4.131"), "DSP902") == Severity.OK  # same 12.x family
    bad = outcome(machine(torch="2.11.0", cuda="13.0", packages=DS, nvcc="13.2.51"), "DSP902")
    assert bad.severity == Severity.ERROR and "no compatibility family for CUDA 13" in bad.message
    assert "export CUDA_HOME=/usr/local/cuda-13.0" in bad.fixes[0].commands
    skipped = machine(torch="2.11.0", cuda="13.0", packages=DS, nvcc="13.2.51", env={"DS_SKIP_CUDA_CHECK": "1"})
    assert severity(skipped, "DSP902") == Severity.WARNING


def test_cxx_standard():
    assert severity(machine(torch="2.14.1", cuda="13.0", packages=DS), "DSP903") == Severity.OK
    old = outcome(machine(torch="2.14.1", cuda="13.0", packages=[("deepspeed", "0.18.9")]), "DSP903")
    assert old.severity == Severity.ERROR and "C++20" in old.message and ">=0.19.5" in old.fixes[0].commands[0]
    assert severity(machine(torch="2.12.1", cuda="13.0", packages=[("deepspeed", "0.18.9")]), "DSP903") == Severity.OK


def test_ninja():
    assert severity(machine(packages=DS), "DSP904") == Severity.OK
    missing = outcome(machine(packages=[("deepspeed", "0.19.8")]), "DSP904")
    assert missing.severity == Severity.WARNING and missing.fixes[0].commands[0].endswith("pip install ninja")


def test_cpu_torch_skips_toolkit_checks():
    facts = machine(gpu=None, torch="2.13.0+cpu", cuda=None, packages=DS)
    assert severity(facts, "DSP901") == Severity.SKIPPED
