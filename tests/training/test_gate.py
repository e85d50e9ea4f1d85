"""The gate: requirements checked by a runner, judged with the preflight; error findings refuse the launch,
--force launches anyway with the warning recorded. Recorded machines (facts) keep these tests independent
of this machine, except the CLI test at the end, which is about this machine on purpose."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from ftdoctor.facts.model import Status
from ftdoctor.findings import Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.trainer.gate.decide import run_gate
from ftdoctor.trainer.gate.evidence import CheckStatus
from ftdoctor.trainer.gate.requirements import Requirement
from ftdoctor.trainer.gate.rules import Resuming
from ftdoctor.trainer.gate.runners import facts_runner, verify_runner
from ftdoctor.trainer.launch.plan import launch_plan
from ftdoctor.trainer.preflight import prepare
from ftdoctor.trainer.target import from_facts
from training_helpers import PAIRS, SFT, STACK, cpu_facts, gpu_facts


def gate(config, facts=None, processes=None, force=False, runner=facts_runner, **kw):
    facts = facts or cpu_facts()
    pre = prepare(config, from_facts(facts, "live"))
    return run_gate(pre, facts, launch_plan(pre.plan, facts, processes), runner=runner, matrix=load_matrix(),
                    force=force, **kw)


def problems(decision, severity=Severity.ERROR):
    return {f.code: f for f in decision.findings if f.severity == severity}


def test_a_lora_config_on_this_kind_of_cpu_machine_launches(project):
    decision = gate(project(SFT))
    assert decision.launch and not decision.forced and not decision.errors
    assert decision.checks_run == ("torch",)
    torch = next(f for f in decision.findings if f.code == "RUN910")
    assert torch.severity == Severity.OK and torch.evidence["tier"] == "probed"


def test_flash_attention_on_a_cpu_machine_is_refused_with_fixes(project):
    decision = gate(project(SFT, attn_implementation="flash_attention_2"))
    assert not decision.launch
    errors = problems(decision)
    assert {"RUN911", "RUN913", "CEN806"} <= set(errors)
    assert "CPU-only build" in errors["RUN911"].message and errors["RUN911"].fixes
    assert errors["RUN913"].fixes[0].commands == ("/venv/bin/python -m pip install flash-attn --no-build-isolation",)
    assert errors["RUN911"].location.endswith(":19")  # the attn_implementation line


def test_force_launches_past_errors_and_says_so(project):
    decision = gate(project(SFT, tf32="true"), force=True)
    assert decision.launch and decision.forced
    warning = decision.force_warning()
    assert "LAUNCHED WITH --force" in warning and "RUN911" in warning
    data = decision.as_data()
    assert data["forced"] and data["warning"] == warning and data["errors"] == len(decision.errors)


def test_more_processes_than_gpus_is_refused(project):
    decision = gate(project(SFT), facts=gpu_facts(2), processes=4)
    errors = problems(decision)
    assert "4 processes asked for, but torch sees 2 GPU(s)" in errors["RUN901"].message
    assert errors["RUN901"].fixes[0].commands[0].endswith("--processes 2")
    assert "RUN911" in errors  # CUDA on 4 devices fails too


def test_gpu_checks_pass_on_a_gpu_machine_and_stay_unverified_where_facts_cannot_tell(project):
    packages = {**STACK, "flash-attn": "2.8.3"}
    decision = gate(project(SFT, attn_implementation="flash_attention_2", bf16="true"),
                    facts=gpu_facts(2, packages=packages))
    by_code = {f.code: f for f in decision.findings}
    assert by_code["RUN911"].severity == Severity.OK and by_code["RUN912"].severity == Severity.OK
    assert by_code["RUN913"].severity == Severity.WARNING
    assert by_code["RUN913"].message.startswith("not verified: flash-attn 2.8.3 is installed")
    assert by_code["RUN916"].severity == Severity.WARNING and "NCCL 2.27.5" in by_code["RUN916"].message


def test_bf16_on_a_turing_gpu_and_nccl_missing_fail(project):
    decision = gate(project(SFT, bf16="true"), facts=gpu_facts(2, cc="7.5", nccl=None))
    errors = problems(decision)
    assert "compute capability 8.0" in errors["RUN912"].message
    assert "no NCCL" in errors["RUN916"].message


def test_bitsandbytes_missing_is_an_error_with_the_install_command(project):
    packages = {k: v for k, v in STACK.items() if k != "bitsandbytes"}
    decision = gate(project(SFT, adapter="qlora", load_in_4bit="true"), facts=cpu_facts(packages))
    assert problems(decision)["RUN914"].fixes[0].commands == ("/venv/bin/python -m pip install bitsandbytes",)


@pytest.mark.parametrize("changes, code, words", [
    ({"rl": "gdpo"}, "RUN920", "no TRL trainer"),
    ({"chat_template": "llama3"}, "RUN922", "does not ship"),
    ({"optimizer": "came_pytorch"}, "RUN923", "Axolotl optimizer"),
])
def test_what_the_bundled_trainer_cannot_run_is_refused(project, changes, code, words):
    errors = problems(gate(project(SFT, **changes)))
    assert code in errors and words in errors[code].message and errors[code].fixes


def test_chat_data_for_dpo_is_refused_before_launch(project):
    errors = problems(gate(project(SFT, rl="dpo")))
    assert "preference training reads chosen and rejected" in errors["RUN921"].message


def test_preference_pairs_fit_dpo(project):
    found = {f.code: f for f in gate(project(PAIRS)).findings}
    assert found["RUN921"].severity == Severity.OK and "preference" in found["RUN921"].message
    assert found["RUN920"].message.startswith("dpo: trl.DPOTrainer; TRL 1.16.0 offers sft, dpo, ipo, kto, ")


def test_the_gate_says_which_methods_the_installed_trl_offers(project):
    from ftdoctor.trainer.recipe import methods

    imported = [name for name, why in methods.offered().items() if not why and name in methods.BY_NAME]
    found = {f.code: f for f in gate(project(SFT)).findings}
    assert found["RUN920"].evidence["offered"] == imported  # read from TRL's files = what importing TRL finds
    assert f"TRL 1.16.0 offers {', '.join(imported)}" in found["RUN920"].message
    refused = problems(gate(project(SFT, rl="gdpo")))["RUN920"]
    assert "GDPO is an Axolotl method" in refused.message and ", ".join(imported) in refused.message


def test_grpo_needs_reward_functions_and_no_vllm(project):
    (project.root / "my_rewards.py").write_text("def short(completions, **kw):\n    return [0.0] * len(completions)\n")
    base = PAIRS.replace("rl: dpo", "rl: grpo")
    assert "without reward functions" in problems(gate(project(base)))["RUN924"].message
    ok = base + "trl:\n  num_generations: 2\n  reward_funcs: [my_rewards.short]\n"
    assert "RUN924" not in problems(gate(project(ok)))
    assert "not found" in problems(gate(project(ok.replace("my_rewards", "nowhere_rewards"))))["RUN924"].message
    vllm = ok + "  use_vllm: true\n"
    assert "RUN924" in problems(gate(project(vllm)))


def test_resuming_with_changed_data_warns(project):
    config = project(SFT)
    data = str((project.root / "data" / "chat.jsonl").resolve())
    resuming = Resuming(str(project.root / "out" / "checkpoint-10"), None, {data: "0" * 64})
    found = problems(gate(config, resuming=resuming, data_sha256={data: "1" * 64}), Severity.WARNING)
    assert "chat.jsonl changed since the run started" in found["RUN940"].message


def test_logging_the_config_asks_for_is_checked_not_dropped(project):
    packages = {**STACK, "tensorboard": "2.21.0"}
    found = {f.code: f for f in gate(project(SFT, use_tensorboard="true"), facts=cpu_facts(packages)).findings}
    assert found["RUN925"].severity == Severity.OK and "tensorboard 2.21.0" in found["RUN925"].message
    warned = [f for f in gate(project(SFT, use_tensorboard="true", wandb_project="llama-sft")).findings
              if f.code == "RUN925"]
    assert all(f.severity == Severity.WARNING for f in warned) and len(warned) == 2
    by_topic = {("wandb" if "Weights & Biases" in f.message else "tb"): f for f in warned}
    assert "tensorboard is not installed here" in by_topic["tb"].message
    assert by_topic["tb"].fixes[0].commands == ("/venv/bin/python -m pip install tensorboard",)
    assert by_topic["tb"].location.endswith(":19") and by_topic["wandb"].location.endswith(":20")
    assert "does not log to Weights & Biases" in by_topic["wandb"].message
    quiet = {f.code: f for f in gate(project(SFT, wandb_project="x", wandb_mode="disabled")).findings}
    assert quiet["RUN925"].severity == Severity.SKIPPED


def test_libraries_older_than_the_trainer_is_written_for_are_refused(project):
    from ftdoctor.trainer.gate.supported import supported_ranges

    assert {r.package: r.specifier for r in supported_ranges()}["transformers"] == ">=5.0"  # from the metadata
    found = {f.code: f for f in gate(project(SFT)).findings}
    assert found["RUN926"].severity == Severity.OK and "transformers 5.23.0" in found["RUN926"].message
    old = {**STACK, "transformers": "4.57.1", "trl": "0.19.1", "bitsandbytes": "0.42.0"}
    refused = problems(gate(project(SFT), facts=cpu_facts(old)))["RUN926"]
    assert "transformers 4.57.1 (needs >=5.0), trl 0.19.1 (needs >=1.0)" in refused.message
    assert "bitsandbytes" not in refused.message  # installed but not used by this config
    assert refused.fixes[0].commands == ('/venv/bin/python -m pip install "transformers>=5.0" "trl>=1.0"',)
    assert refused.fixes[1].commands == ("/venv/bin/python -m pip install --upgrade \"ftdoctor-cli[train]\"",)
    quantized = problems(gate(project(SFT, adapter="qlora", load_in_4bit="true"), facts=cpu_facts(old)))["RUN926"]
    assert "bitsandbytes 0.42.0 (needs >=0.45)" in quantized.message
    (project.root / "zero2.json").write_text('{"zero_optimization": {"stage": 2}}')
    sharded = gate(project(SFT, deepspeed="zero2.json"), facts=cpu_facts({**STACK, "deepspeed": "0.14.4"}),
                   processes=2)
    assert "deepspeed 0.14.4 (needs >=0.15)" in problems(sharded)["RUN926"].message
    assert problems(sharded)["RUN926"].fixes[1].commands == (
        "/venv/bin/python -m pip install --upgrade \"ftdoctor-cli[deepspeed]\"",)
    odd = {f.code: f for f in gate(project(SFT), facts=cpu_facts({**STACK, "trl": "main-snapshot"})).findings}
    assert odd["RUN926"].severity != Severity.OK and "not a PEP 440 version" in odd["RUN926"].message


def test_unknown_torch_is_never_ok(project):
    facts = replace(cpu_facts(), torch=replace(cpu_facts().torch, status=Status.UNKNOWN, source="", reason="timeout"))
    found = {f.code: f for f in gate(project(SFT), facts=facts).findings}
    assert found["RUN910"].severity == Severity.WARNING and "timeout" in found["RUN910"].message


# -------------------------------------------------------------------------- the verified-loading seam
def fake_smokes(results: dict[str, str], seen: list, gpus: int = 2):
    """Stands in for ftdoctor.verify.run_smokes (verified loading), recording how it was called."""

    def smoke(name):
        if name not in results:
            return None
        details = {"cuda_available": gpus > 0, "device_count": gpus, "torch": "2.13.0", "torch_cuda": "13.0"}
        return SimpleNamespace(name=name, status=SimpleNamespace(value=results[name]), reason="boom" if
                               results[name] != "ok" else "", details=details, stage="forward",
                               output_tail="RuntimeError: boom\n")

    def run_smokes(host, names, *, world_size, facts, notices=None, options=None):
        seen.append((list(names), world_size))
        return SimpleNamespace(facts=SimpleNamespace(verify=SimpleNamespace(smoke=smoke)), findings=[])
    return run_smokes


def test_the_verify_runner_runs_exactly_the_named_smokes():
    requirements = (Requirement("torch", "torch", "x"), Requirement("cuda", "torch", "x", count=2),
                    Requirement("bitsandbytes-4bit", "bitsandbytes-4bit", "x"),
                    Requirement("collective", "distributed", "x", count=2, detail="gloo"))
    seen: list = []
    evidence = verify_runner(requirements, cpu_facts(), fake_smokes(
        {"torch": "ok", "bitsandbytes-4bit": "crashed", "distributed": "skipped"}, seen))
    assert seen == [(["torch", "bitsandbytes-4bit", "distributed"], 2)]
    assert evidence.runner == "verify"
    status = {r.requirement: (r.status, r.tier) for r in evidence.results}
    assert status == {"torch": (CheckStatus.OK, "works"), "cuda": (CheckStatus.OK, "works"),
                      "bitsandbytes-4bit": (CheckStatus.FAILED, "works"),
                      "collective": (CheckStatus.UNKNOWN, "none")}
    failed = evidence.result("bitsandbytes-4bit")
    assert "crashed at forward: boom" in failed.message and failed.details["device_count"] == 2


def test_a_passing_torch_smoke_without_enough_gpus_fails_cuda():
    requirements = (Requirement("cuda", "torch", "4 process(es) on GPUs", count=4),)
    evidence = verify_runner(requirements, gpu_facts(2), fake_smokes({"torch": "ok"}, [], gpus=2))
    assert evidence.results[0].status == CheckStatus.FAILED
    assert "the `torch` smoke test found 2" in evidence.results[0].message


def test_a_skipped_smoke_of_a_missing_package_fails():
    packages = {k: v for k, v in STACK.items() if k != "deepspeed"}
    requirements = (Requirement("deepspeed", "deepspeed", "deepspeed: ZeRO-2"),)
    evidence = verify_runner(requirements, cpu_facts(packages), fake_smokes({"deepspeed": "skipped"}, []))
    assert evidence.results[0].status == CheckStatus.FAILED and "not installed" in evidence.results[0].message
    evidence = verify_runner(requirements, cpu_facts(), fake_smokes({"deepspeed": "skipped"}, []))
    assert evidence.results[0].status == CheckStatus.UNKNOWN and "skipped: boom" in evidence.results[0].message


def test_the_gate_uses_an_injected_runner(project):
    seen: list = []
    runner = lambda requirements, facts: verify_runner(requirements, facts, fake_smokes({"torch": "ok"}, seen))  # noqa: E731
    decision = gate(project(SFT), runner=runner)
    assert seen == [(["torch"], 2)] and decision.evidence.runner == "verify"
    assert next(f for f in decision.findings if f.code == "RUN910").evidence["tier"] == "works"


# -------------------------------------------------------------------------- this machine, for real
@pytest.mark.slow
def test_the_cli_refuses_flash_attention_here_and_prints_the_fix(project, cli):
    config = project(SFT, attn_implementation="flash_attention_2")
    result = cli("train", str(config), "--no-color", cwd=project.root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "✗ RUN913 flash-attn is needed by attn_implementation: flash_attention_2, and it is not installed" \
        in result.stdout
    assert "-m pip install flash-attn --no-build-isolation" in result.stdout
    assert "✗ RUN911 CUDA on 1 device(s) is needed by attn_implementation: flash_attention_2" in result.stdout
    assert "a CPU-only build" in result.stdout
    assert "launch refused" in result.stdout and "nothing was started or written" in result.stdout
    assert not (project.root / "out").exists()
