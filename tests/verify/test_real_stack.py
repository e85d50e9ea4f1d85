"""The real CPU stack of this environment, for real: torch, bitsandbytes and gloo smoke tests pass; flash-attn
and NCCL are not applicable, with the reason; DeepSpeed is reported for what it is (the CPU accelerator)."""

from __future__ import annotations

import pytest
from verify_helpers import assert_nothing_left, install_wheel

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.findings import Severity
from ftdoctor.probes.host import Host
from ftdoctor.verify import run_smokes

pytestmark = pytest.mark.slow


def by_code(findings):
    return {f.code: f for f in findings}


def test_gate_runs_exactly_the_chosen_smokes_for_real():
    outcome = run_smokes(Host.from_environment(), names=["torch", "bitsandbytes-4bit", "distributed"], world_size=2)
    smokes = {s.name: s for s in outcome.facts.verify.smokes}
    assert sorted(smokes) == ["bitsandbytes-4bit", "distributed", "torch"]
    assert all(s.status == SmokeStatus.OK for s in smokes.values()), {n: s.reason for n, s in smokes.items()}
    found = by_code(outcome.findings)
    for code in ("TOR380", "BNB850", "BNB851", "BNB852", "NET100", "NET104"):
        assert found[code].severity == Severity.OK, found[code]
    assert "NF4" in found["BNB852"].title and "on cpu" in found["BNB852"].message
    assert found["NET100"].message == "2 ranks all-reduced over gloo and got the right sum"
    assert found["NET101"].severity == Severity.SKIPPED and found["NET101"].message.startswith("no CUDA device")
    assert {f.family for f in outcome.findings} == {"verify-torch", "verify-bitsandbytes", "distributed"}


def test_check_verify_on_this_machine(cli):
    result = cli("check", "--verify", "--json", timeout=300)
    data = result.json()["data"]
    found = {f["code"]: f for f in data["findings"]}
    statuses = {s["name"]: s["status"] for s in data["verify"]["smokes"]}
    assert statuses == {"torch": "ok", "bitsandbytes-4bit": "ok", "flash-attn": "skipped", "distributed": "ok",
                        "deepspeed": "ok", "triton": "skipped"}
    assert (found["FLA750"]["severity"], found["FLA750"]["message"]) == ("skipped", "flash-attn is not installed")
    assert found["FLA751"]["severity"] == "skipped" and found["FLA751"]["message"].startswith("no NVIDIA GPU here")
    assert found["NET101"]["severity"] == "skipped" and "NCCL was not tried" in found["NET101"]["message"]
    assert found["DSP950"]["severity"] == "ok" and "accelerator cpu, communication backend gloo" in found["DSP950"]["message"]
    assert "async_io" in found["DSP950"]["message"]  # no libaio here: the one op that cannot be built
    assert found["DSP954"]["severity"] == "skipped" and "cpu accelerator" in found["DSP954"]["message"]
    assert "--verify-deepspeed-ops" in found["DSP955"]["message"]
    assert found["TOR381"]["message"].startswith("this torch is a CPU-only build")


def test_plain_check_does_not_list_smoke_rules(cli):
    result = cli("check", "--json", "--no-torch")
    codes = {f["code"] for f in result.json()["data"]["findings"]}
    assert "ABI100" in codes and "NET103" in codes  # static rules judge facts only
    assert not codes & {"TOR380", "BNB850", "FLA750", "NET100", "DSP950", "TRI100"}
    assert "verify" not in result.json()["data"]


def test_flash_attn_installed_without_its_extension(cli, fixture_env, flash_attn_stub_wheel, tmp_path):
    install_wheel(flash_attn_stub_wheel, fixture_env.site)
    result = cli("check", "--python", str(fixture_env.python), "--verify-only", "flash-attn", "--json", timeout=200)
    assert result.returncode == 2, result.stderr
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    fla = found["FLA750"]
    assert fla["severity"] == "error"
    assert "flash-attn 2.8.3.post2 is installed without its compiled extension flash_attn_2_cuda" in fla["message"]
    # this torch is CPU-only: no wheel fits, the fix says so and removes the stub
    assert "needs a CUDA build of torch" in fla["fixes"][0]["summary"]
    assert fla["fixes"][0]["commands"] == [f"{fixture_env.python} -m pip uninstall -y flash-attn"]
    assert found["FLA751"]["severity"] == "skipped"
    assert_nothing_left(tmp_path)


def test_deepspeed_op_that_cannot_be_built_here(cli):
    result = cli("check", "--verify-only", "deepspeed", "--verify-deepspeed-ops", "async_io", "--json", timeout=200)
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert found["DSP955"]["severity"] == "error"
    assert "async_io cannot be built here" in found["DSP955"]["message"] and "libaio" in found["DSP955"]["message"]


def test_deepspeed_builds_and_loads_cpu_adam_for_real(cli, request):
    """A real JIT compile (about 40-90 s the first time on two cores), cached in pytest's cache afterwards."""
    extensions = request.config.cache.mkdir("ftdoctor-torch-extensions")
    result = cli("check", "--verify-only", "deepspeed", "--verify-deepspeed-ops", "--json",
                 env={"TORCH_EXTENSIONS_DIR": str(extensions)}, timeout=900)
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert found["DSP955"]["severity"] == "ok", found["DSP955"]
    assert found["DSP955"]["message"].startswith("built and loaded cpu_adam (")
    assert (extensions / "cpu_adam" / "cpu_adam.so").exists()
