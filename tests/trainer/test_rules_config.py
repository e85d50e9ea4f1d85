"""CFG rules: each failing config gets its finding, with the line of the key to change."""

from __future__ import annotations

import pytest

from ftdoctor.findings import Severity
from preflight_helpers import BASE, codes, gpu_target, one, run_preflight


def check(tiny_project, extra: str, target=None):
    path = tiny_project / "config.yml"
    path.write_text(BASE.lstrip() + extra.strip() + "\n", encoding="utf-8")
    return run_preflight(path, target)


def line_of(finding) -> int:
    return int(finding.location.rsplit(":", 1)[1])


BASE_LINES = BASE.strip().count("\n") + 1  # the extra keys start on the next line


@pytest.mark.parametrize("extra, code, severity, line", [
    ("adapter: qlora\nlora_target_linear: true", "CFG120", Severity.ERROR, 1),
    ("adapter: qlora\nload_in_8bit: true\nlora_target_linear: true", "CFG120", Severity.ERROR, 2),
    ("load_in_4bit: true", "CFG121", Severity.ERROR, 1),
    ("load_in_4bit: true\nload_in_8bit: true\nadapter: lora", "CFG121", Severity.ERROR, 2),
    ("adapter: qlora\nload_in_4bit: true\nmerge_lora: true", "CFG122", Severity.WARNING, 3),
    ("batch_size: 16", "CFG123", Severity.ERROR, 1),
    ("rl: dpo\nsample_packing: true", "CFG124", Severity.ERROR, 2),
    ("warmup_steps: 10\nwarmup_ratio: 0.1", "CFG125", Severity.ERROR, 2),
    ("bf16: true\nfp16: true", "CFG125", Severity.ERROR, 2),
    ("eval_steps: 50", "CFG126", Severity.ERROR, 1),
    ("activation_offloading: true", "CFG127", Severity.ERROR, 1),
    ("chat_template: jinja", "CFG128", Severity.ERROR, 1),
    ("adapter: lora\nlora_target_modules: ['q_proj(']", "CFG129", Severity.ERROR, 2),
    ("adapter: lora\nlora_target_modules: [q_proj, lm_head]", "CFG130", Severity.ERROR, 2),
    ("rl: grpo\ntrl:\n  num_generations: 1\n  reward_funcs: [r.f]", "CFG132", Severity.ERROR, 2),
    ("rl: kto", "CFG133", Severity.ERROR, 1),
    ("resume_from_checkpoint: ./out/checkpoint-100", "CFG134", Severity.ERROR, 1),
    ("context_parallel_size: 2\nattn_implementation: sdpa", "CFG135", Severity.ERROR, 1),
    ("sample_packing: true\nattn_implementation: sdpa", "CFG136", Severity.WARNING, 1),
    ("max_memory: {0: 20GiB}\ngpu_memory_limit: 20GiB", "CFG125", Severity.ERROR, 2),
    ("val_set_size: 0.1\neval_strategy: epoch\neval_steps: 20", "CFG137", Severity.ERROR, 2),
    ("save_strategy: epoch\nsave_steps: 100", "CFG137", Severity.ERROR, 1),
    ("save_strategy: best", "CFG137", Severity.ERROR, 1),
    ("val_set_size: 0.1\nevals_per_epoch: 4\neval_strategy: epoch", "CFG137", Severity.ERROR, 3),
    ("streaming: true", "CFG138", Severity.ERROR, 1),
    ("streaming: true\nmax_steps: 10\nval_set_size: 0.05", "CFG138", Severity.ERROR, 3),
    ("adapter: lora\nload_in_8bit: true\nlora_target_linear: true\nlora_o_kernel: true", "CFG139", Severity.ERROR, 4),
    ("adapter: lora\nlora_target_linear: true\ntrust_remote_code: true\nlora_mlp_kernel: true", "CFG139",
     Severity.ERROR, 4),
    ("rl: dpo\ndpo_loss_weights: [1.0, 0.5]", "CFG147", Severity.ERROR, 2),
    ("rl: dpo\ndpo_loss_type: [sigmoid, sft]\ndpo_loss_weights: [1.0]", "CFG147", Severity.ERROR, 3),
    ("dpo_loss_type: [sigmoid]", "CFG147", Severity.ERROR, 1),
    ("flash_attention: true\nattn_implementation: flash_attention_2", "CFG111", Severity.ERROR, 1),
])
def test_combination_rules(tiny_project, extra, code, severity, line):
    _, findings = check(tiny_project, extra)
    finding = next(f for f in findings if f.code == code and f.severity == severity)
    assert line_of(finding) == BASE_LINES + line, finding


def test_anchored_combinations_that_are_fine_pass(tiny_project):
    """The other side of CFG137-139/147: what Axolotl accepts is not reported."""
    fine = ("val_set_size: 0.1\neval_strategy: steps\neval_steps: 20\nsave_strategy: best\n"
            "metric_for_best_model: eval_loss\nstreaming: true\nmax_steps: 100\nadapter: lora\n"
            "lora_target_linear: true\nlora_mlp_kernel: true\n")
    _, findings = check(tiny_project, fine.replace("val_set_size: 0.1\n", "test_datasets:\n"
                                                   "  - path: data/chat.jsonl\n    type: chat_template\n"))
    assert not {"CFG137", "CFG138", "CFG139", "CFG147", "CFG111"} & codes(findings)
    _, multi = check(tiny_project, "adapter: lora\nlora_target_linear: true\nlora_qkv_kernel: true\nfsdp_version: 1\n"
                                   "fsdp_config:\n  sharding_strategy: FULL_SHARD", gpu_target(count=2))
    assert "not compatible with FSDP1" in one(multi, "CFG139").message
    _, single = check(tiny_project, "adapter: lora\nlora_target_linear: true\nlora_qkv_kernel: true\nfsdp_version: 1\n"
                                    "fsdp_config:\n  sharding_strategy: FULL_SHARD")
    assert "CFG139" not in codes(single)
    _, dpo = check(tiny_project, "rl: dpo\ndpo_loss_type: [sigmoid, sft]\ndpo_loss_weights: [1.0, 0.5]")
    assert "CFG147" not in codes(dpo)


def test_model_family_limits(tiny_project, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tiny_project / "no-cache"))
    _, falcon = check(tiny_project, "fsdp_version: 2\nfsdp_config:\n  reshard_after_forward: true", gpu_target(count=2))
    assert "CFG148" not in codes(falcon)  # the tiny model is a llama
    text = BASE.lstrip().replace("base_model: ./model", "base_model: tiiuae/falcon-7b")
    path = tiny_project / "falcon.yml"
    path.write_text(text + "fsdp_version: 2\nfsdp_config:\n  reshard_after_forward: true\n", encoding="utf-8")
    finding = one(run_preflight(path, gpu_target(count=2))[1], "CFG148")
    assert "not supported for falcon models" in finding.message and finding.location.endswith(f":{BASE_LINES + 2}")
    mpt = tiny_project / "mpt"
    mpt.mkdir()
    (mpt / "config.json").write_text('{"model_type": "mpt", "d_model": 64, "n_layers": 2}', encoding="utf-8")
    path.write_text(BASE.lstrip().replace("./model", "./mpt") + "gradient_checkpointing: true\n", encoding="utf-8")
    finding = one(run_preflight(path)[1], "CFG148")
    assert "MPT" in finding.message and finding.location.endswith(f":{BASE_LINES + 1}")


def test_grpo_batch_divisibility_and_rewards(tiny_project):
    _, findings = check(tiny_project, "rl: grpo\ntrl:\n  num_generations: 3")
    messages = [f.message for f in findings if f.code == "CFG132" and f.severity == Severity.ERROR]
    assert any("not divisible by num_generations (3)" in m for m in messages)
    assert any("reward_funcs" in m for m in messages)


@pytest.mark.parametrize("extra, code, severity", [
    ("deepspeed: ds.json\nfsdp_config:\n  fsdp_version: 2", "CFG140", Severity.ERROR),
    ("deepspeed: missing.json", "CFG141", Severity.ERROR),
    ("adapter: lora\nload_in_8bit: true\nfsdp_version: 2\nfsdp_config:\n  offload_params: false", "CFG142",
     Severity.ERROR),
    ("adapter: qlora\nload_in_4bit: true\nbnb_config_kwargs:\n  bnb_4bit_quant_storage: uint8\nfsdp_version: 2\n"
     "fsdp_config:\n  reshard_after_forward: true", "CFG142", Severity.ERROR),
    ("optimizer: adamw_bnb_8bit\nfsdp_version: 2\nfsdp_config:\n  reshard_after_forward: true", "CFG143",
     Severity.ERROR),
    ("unfrozen_parameters: ['^model.layers.1.*']\nfsdp: [full_shard, auto_wrap]\nfsdp_config:\n"
     "  fsdp_use_orig_params: false", "CFG144", Severity.ERROR),
    ("unfrozen_parameters: ['^model.layers.1.*']\ngradient_checkpointing: true\ngradient_checkpointing_kwargs:\n"
     "  use_reentrant: true", "CFG145", Severity.ERROR),
    ("fsdp_version: 2\nfsdp_config:\n  activation_checkpointing: true\ngradient_checkpointing: true", "CFG146",
     Severity.WARNING),
])
def test_distributed_rules(tiny_project, extra, code, severity):
    (tiny_project / "ds.json").write_text('{"zero_optimization": {"stage": 2}}')
    _, findings = check(tiny_project, extra, gpu_target(count=2))
    assert any(f.code == code and f.severity == severity for f in findings), \
        [(f.code, f.severity.value, f.message) for f in findings if f.code == code]


def test_deepspeed_and_fsdp_config_alone_is_caught(tiny_project):
    """Axolotl checks only the legacy `fsdp` key against deepspeed; FSDP from fsdp_config alone slips through."""
    (tiny_project / "ds.json").write_text('{"zero_optimization": {"stage": 3}}')
    _, findings = check(tiny_project, "deepspeed: ds.json\nfsdp_config:\n  reshard_after_forward: true",
                        gpu_target(count=2))
    finding = one(findings, "CFG140")
    assert "misses this" in finding.message and line_of(finding) == BASE_LINES + 2


def test_reentrant_checkpointing_with_ddp_lora_and_unused_parameter_search(tiny_project):
    _, findings = check(tiny_project, "adapter: lora\nlora_target_linear: true\ngradient_checkpointing: true\n"
                                      "ddp_find_unused_parameters: true", gpu_target(count=2))
    finding = one(findings, "CFG145")
    assert "mark a variable ready only once" in finding.message and "Axolotl sets use_reentrant" in finding.message


def test_lora_fsdp1_orig_params_depends_on_transformers(tiny_project):
    extra = "adapter: lora\nlora_target_linear: true\nfsdp: [full_shard, auto_wrap]\nfsdp_config:\n" \
            "  fsdp_use_orig_params: false"
    _, new = check(tiny_project, extra, gpu_target(count=2))
    old_stack = dict(gpu_target().packages, transformers="4.38.2")
    _, old = check(tiny_project, extra, gpu_target(count=2, packages=old_stack))
    assert one(new, "CFG144").severity == Severity.INFO
    assert one(old, "CFG144").severity == Severity.ERROR


def test_a_clean_config_has_no_config_problems(tiny_project):
    _, findings = check(tiny_project, "adapter: lora\nlora_r: 8\nlora_alpha: 16\nlora_target_linear: true\n"
                                      "val_set_size: 0.05\neval_steps: 20")
    assert not {c for c in codes(findings) if c.startswith("CFG")}


def test_schema_issues_become_findings_with_lines(tiny_project):
    _, findings = check(tiny_project, "lerning_rate: 3\nnum_train_epochs: 2\nflash_attention: false\nbf16: maybe\n"
                                      "liger_rms_norm: true\nmax_seq_length: 64")
    assert line_of(one(findings, "CFG101")) == BASE_LINES + 1
    assert one(findings, "CFG106").severity == Severity.WARNING
    assert one(findings, "CFG107").severity == Severity.INFO
    assert line_of(one(findings, "CFG104")) == BASE_LINES + 4
    assert line_of(one(findings, "CFG111")) == BASE_LINES + 6  # max_seq_length contradicts sequence_len
    plugin = one(findings, "CFG113")
    assert "liger" in plugin.message and plugin.severity == Severity.WARNING
