"""BNB80x: the library bitsandbytes loads for torch's CUDA, its GPU code, feature floors, CPU support."""

from extras_machines import machine, outcome, severity

from ftdoctor.findings import Severity


def test_exact_library():
    assert severity(machine(packages=[("bitsandbytes", "0.49.2")]), "BNB801") == Severity.OK


def test_missing_library_names_a_release_that_has_it():
    found = outcome(machine(torch="2.15.0", cuda="13.2", python="3.12", packages=[("bitsandbytes", "0.49.2")]), "BNB801")
    assert found.severity == Severity.ERROR and "13.2" in found.message
    assert "bitsandbytes==0.50.2" in found.fixes[-1].commands[0]


def test_same_major_fallback_from_0_50():
    found = outcome(machine(torch="2.8.0", cuda="12.9", packages=[("bitsandbytes", "0.50.2")]), "BNB801")
    assert found.severity == Severity.OK and "falls back to 12.8" in found.message


def test_override_env():
    ok = machine(packages=[("bitsandbytes", "0.50.2")], env={"BNB_CUDA_VERSION": "128"})
    assert severity(ok, "BNB801") == Severity.OK
    within = machine(packages=[("bitsandbytes", "0.50.2")], env={"BNB_CUDA_VERSION": "126"})
    assert severity(within, "BNB801") == Severity.WARNING
    across = machine(packages=[("bitsandbytes", "0.50.2")], env={"BNB_CUDA_VERSION": "130"})
    found = outcome(across, "BNB801")
    assert found.severity == Severity.ERROR and found.fixes[0].commands == ("unset BNB_CUDA_VERSION",)
    absent = machine(packages=[("bitsandbytes", "0.50.2")], env={"BNB_CUDA_VERSION": "125"})
    assert severity(absent, "BNB801") == Severity.ERROR


def test_library_archs():
    # 0.47's CUDA 12.8 library has no sm_70: V100 on torch cu128 gets no kernel image
    v100 = machine(gpu=("V100", "7.0"), driver="570.124.06", packages=[("bitsandbytes", "0.47.0")])
    assert severity(v100, "BNB802") == Severity.ERROR
    fixed = machine(gpu=("V100", "7.0"), driver="570.124.06", packages=[("bitsandbytes", "0.48.2")])
    assert severity(fixed, "BNB802") == Severity.OK


def test_feature_floors():
    v100 = outcome(machine(gpu=("V100", "7.0"), packages=[("bitsandbytes", "0.49.2")]), "BNB803")
    assert v100.severity == Severity.WARNING and "LLM.int8" in v100.message  # only int8 is out
    p100 = outcome(machine(gpu=("GTX 1080", "6.1"), cuda="12.6", torch="2.8.0", packages=[("bitsandbytes", "0.49.2")]), "BNB803")
    assert p100.severity == Severity.WARNING
    maxwell = outcome(machine(gpu=("M40", "5.2"), cuda="12.6", packages=[("bitsandbytes", "0.49.2")]), "BNB803")
    assert maxwell.severity == Severity.ERROR and "NF4" in maxwell.message
    assert severity(machine(gpu=("M40", "5.2"), cuda="12.6", packages=[("bitsandbytes", "0.47.0")]), "BNB803") == Severity.WARNING


def test_cpu_support():
    cpu = dict(gpu=None, torch="2.13.0+cpu", cuda=None)
    assert severity(machine(**cpu, packages=[("bitsandbytes", "0.48.2")]), "BNB804") == Severity.OK
    old = outcome(machine(**cpu, packages=[("bitsandbytes", "0.45.5")]), "BNB804")
    assert old.severity == Severity.WARNING and "0.48.2" in old.message
    assert severity(machine(**cpu, packages=[("bitsandbytes", "0.48.2")]), "BNB801") == Severity.SKIPPED
