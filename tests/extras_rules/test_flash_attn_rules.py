"""FLA70x: flash-attn judged from metadata: GPU floor, wheel key vs torch, buildability, wheel archs."""

from extras_machines import machine, outcome, severity

from ftdoctor.findings import Severity

URL = "https://github.com/Dao-AILab/flash-attention/releases/download/v{v}/{name}"


def wheel(version, key, py="cp312"):
    name = f"flash_attn-{version}+{key}-{py}-{py}-linux_x86_64.whl"
    return URL.format(v=version, name=name)


def test_not_installed_skips_the_family():
    facts = machine()
    assert severity(facts, "FLA700") == Severity.SKIPPED
    assert "requires FLA700" in outcome(facts, "FLA702").message


def test_gpu_floor_fa2_needs_sm80():
    ok = machine(packages=[("flash-attn", "2.8.3")])
    assert severity(ok, "FLA701") == Severity.OK
    t4 = machine(gpu=("T4", "7.5"), packages=[("flash-attn", "2.8.3")])
    found = outcome(t4, "FLA701")
    assert found.severity == Severity.ERROR and "7.5" in found.message and "sdpa" in " ".join(found.fixes[0].commands)
    a100 = machine(gpu=("A100", "8.0"), packages=[("flash-attn", "2.8.3")])
    assert severity(a100, "FLA701") == Severity.OK  # exactly the floor


def test_fa3_is_hopper_only():
    assert severity(machine(packages=[("flash-attn-3", "3.0.0")]), "FLA701") == Severity.OK
    b200 = machine(gpu=("B200", "10.0"), packages=[("flash-attn-3", "3.0.0")])
    assert severity(b200, "FLA701") == Severity.ERROR


def test_no_gpu_is_a_warning():
    assert severity(machine(gpu=None, cuda=None, torch="2.8.0+cpu", packages=[("flash-attn", "2.8.3")]), "FLA701") == Severity.WARNING


def test_wheel_key_matches_torch():
    url = wheel("2.8.3", "cu12torch2.8cxx11abiTRUE")
    facts = machine(packages=[("flash-attn", "2.8.3")], urls={"flash-attn": url})
    assert severity(facts, "FLA702") == Severity.OK


def test_wheel_key_for_another_torch_fails_with_the_right_wheel():
    url = wheel("2.8.3", "cu12torch2.7cxx11abiTRUE")
    facts = machine(packages=[("flash-attn", "2.8.3")], urls={"flash-attn": url})
    found = outcome(facts, "FLA702")
    assert found.severity == Severity.ERROR
    assert "cu12torch2.8cxx11abiTRUE" in found.message
    assert "cu12torch2.8cxx11abiTRUE-cp312-cp312" in found.fixes[0].commands[0]


def test_wheel_key_abi_mismatch():
    url = wheel("2.8.3", "cu12torch2.6cxx11abiTRUE")
    facts = machine(torch="2.6.0", cuda="12.4", abi=False, packages=[("flash-attn", "2.8.3")], urls={"flash-attn": url})
    found = outcome(facts, "FLA702")
    assert found.severity == Severity.ERROR and "cxx11abiFALSE" in found.message


def test_buildable_prebuilt_vs_source_vs_impossible():
    assert severity(machine(packages=[("flash-attn", "2.8.3")]), "FLA703") == Severity.OK
    source = outcome(machine(torch="2.12.1", cuda="13.0", packages=[("flash-attn", "2.8.3")]), "FLA703")
    assert source.severity == Severity.INFO and "cu12torch2.12" in source.message and "maps CUDA 13" in source.message
    impossible = outcome(machine(torch="2.14.1", cuda="13.0", packages=[("flash-attn", "2.8.3.post2")]), "FLA703")
    assert impossible.severity == Severity.ERROR and "C++20" in impossible.message


def test_wheel_without_blackwell_code():
    url = wheel("2.7.4.post1", "cu12torch2.6cxx11abiTRUE")
    facts = machine(gpu=("RTX 5090", "12.0"), driver="575.57.08", torch="2.6.0", cuda="12.6",
                    packages=[("flash-attn", "2.7.4.post1")], urls={"flash-attn": url})
    found = outcome(facts, "FLA704")
    assert found.severity == Severity.ERROR and "sm 8.0, 9.0" in found.message
    ok = machine(packages=[("flash-attn", "2.8.3")], urls={"flash-attn": wheel("2.8.3", "cu12torch2.8cxx11abiTRUE")})
    assert severity(ok, "FLA704") == Severity.OK
