"""TRL CLI configs are read and judged against the installed TRL; the vendored vocabularies and the generated
docs page stay in step with their sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftdoctor.findings import Severity
from ftdoctor.trainer.config.load import load_config
from preflight_helpers import gpu_target, one, run_preflight

REPO = Path(__file__).resolve().parents[2]


def test_trl_config_is_translated(write_config):
    loaded = load_config(write_config("""
        model_name_or_path: Qwen/Qwen2.5-0.5B
        dataset_name: trl-lib/Capybara
        per_device_train_batch_size: 4
        num_train_epochs: 2
        max_length: 1024
        use_peft: true
        lora_r: 16
        warmup_steps: 0.1
        max_steps: -1
        optim: adamw_torch
        """))
    c = loaded.config
    assert loaded.dialect == "trl" and loaded.trl_command == "sft"
    assert (c.base_model, c.micro_batch_size, c.num_epochs, c.sequence_len, c.adapter, c.lora_r) == \
        ("Qwen/Qwen2.5-0.5B", 4, 2.0, 1024, "lora", 16)
    assert (c.warmup_ratio, c.max_steps, c.optimizer) == (0.1, None, "adamw_torch")
    assert c.datasets[0].path == "trl-lib/Capybara"
    assert loaded.where(("datasets", 0)).endswith(":2")
    assert not [i for i in loaded.issues if i.severity == Severity.ERROR]


def test_trl_method_is_inferred(write_config):
    dpo = load_config(write_config("model_name_or_path: m\nbeta: 0.1\ndataset_name: d\n"))
    grpo = load_config(write_config("model_name_or_path: m\nnum_generations: 8\ndataset_name: d\n", "g.yml"))
    assert (dpo.trl_command, dpo.config.rl) == ("dpo", "dpo")
    assert (grpo.trl_command, grpo.config.trl.num_generations) == ("grpo", 8)


def test_keys_the_installed_trl_dropped(write_config):
    path = write_config("model_name_or_path: Qwen/Qwen2.5-0.5B\ndataset_name: d\nmax_seq_length: 2048\n"
                        "warmup_ratio: 0.1\nevaluation_strategy: steps\ndataset_mixer: {a: 1.0}\n")
    _, findings = run_preflight(path, gpu_target())
    removed = {f.evidence.get("package"): f for f in findings if f.code == "CEN811" and f.severity == Severity.ERROR}
    assert {"trl", "transformers"} == set(removed)
    keys = sorted(f.message.split("`")[1] for f in findings if f.code == "CEN811" and f.severity == Severity.ERROR)
    assert keys == ["evaluation_strategy", "max_seq_length", "warmup_ratio"]
    unknown = one(findings, "CFG102")
    assert "dataset_mixer" in unknown.message and unknown.location.endswith(":6")
    _, old = run_preflight(path, gpu_target(packages={**gpu_target().packages, "trl": "0.15.2",
                                                      "transformers": "4.46.0"}))
    assert not [f for f in old if f.code == "CEN811" and f.severity == Severity.ERROR and "max_seq_length" in f.message]


def test_findings_on_a_trl_config_name_its_keys(tiny_project):
    """A TRL CLI config's reader must be told the keys to write in that file: `packing`, not sample_packing;
    and the fixes that make it fit use TRL's keys."""
    path = tiny_project / "trl.yml"
    path.write_text("model_name_or_path: ./model\ndataset_name: data/chat.jsonl\nmax_length: 512\npacking: true\n"
                    "per_device_train_batch_size: 2\n", encoding="utf-8")
    _, findings = run_preflight(path, gpu_target())
    packing = one(findings, "CFG136")
    assert packing.message.startswith("`packing` with sdpa") and "packing: false" in packing.fixes[0].summary
    context = one(findings, "MDL609")
    assert context.message.startswith("max_length 512") and context.fixes[0].summary.startswith("max_length: 256")
    assert not [f for f in findings if "sample_packing" in f.message + "".join(x.summary for x in f.fixes)]


def test_an_axolotl_key_in_a_trl_config_is_quoted_as_written(tiny_project):
    path = tiny_project / "mixed.yml"
    path.write_text("model_name_or_path: ./model\ndataset_name: data/chat.jsonl\nsequence_len: 512\n"
                    "per_device_train_batch_size: two\n", encoding="utf-8")
    _, findings = run_preflight(path, gpu_target())
    dropped = one(findings, "CFG102")
    assert dropped.message.startswith("`sequence_len` is not a key of `trl sft`")
    assert dropped.fixes[0].summary == "did you mean `max_length`?"
    assert one(findings, "CFG103").message.startswith("`per_device_train_batch_size` must be a whole number")


def test_in_trl_spelling_rewrites_only_key_names():
    from ftdoctor.trainer.config.trl_dialect import in_trl_spelling

    assert in_trl_spelling("micro_batch_size: 1 (and gradient_accumulation_steps: 8 to keep the batch)") == \
        "per_device_train_batch_size: 1 (and gradient_accumulation_steps: 8 to keep the batch)"
    assert in_trl_spelling("optimizer: adamw_bnb_8bit") == "optim: adamw_bnb_8bit"
    assert in_trl_spelling("optimizer states of 2 bytes") == "optimizer states of 2 bytes"
    assert in_trl_spelling("adapter: lora (with lora_target_linear: true)") == \
        "use_peft: true (with lora_target_modules: all-linear)"
    assert in_trl_spelling("a_sequence_len_b and cfg.sequence_len") == "a_sequence_len_b and cfg.sequence_len"


def test_a_trl_config_without_dtype_loads_in_float32(write_config):
    """`trl sft` loads the model with ModelConfig.dtype, float32 by default; ftdoctor's estimate (16-bit weights)
    would then understate the peak: 1.5B parameters full fine-tuned take 8 bytes more each (4 + 4 + 8 against
    2 + 2 + 4 for weights, gradients and AdamW's two moments)."""
    head = "model_name_or_path: Qwen/Qwen2.5-1.5B\ndataset_name: d\nper_device_train_batch_size: 1\nbf16: true\n"
    pre, findings = run_preflight(write_config(head), gpu_target(name="RTX 4090", cc="8.9", gib=24))
    finding = one(findings, "MEM703")
    assert finding.severity == Severity.WARNING and "more than the GPU's 24.0 GiB" in finding.message
    extra = finding.evidence["fp32_peak_bytes"] - pre.estimate.peak_bytes
    params = pre.estimate.total_params
    assert extra == pytest.approx(1.1 * 8 * params, rel=0.01)  # + the allocator's 10 % on the extra bytes
    assert finding.fixes[0].summary == "add `dtype: bfloat16`"
    _, roomy = run_preflight(write_config(head, "b.yml"), gpu_target())
    assert one(roomy, "MEM703").severity == Severity.INFO
    _, declared = run_preflight(write_config(head + "dtype: bfloat16\n", "c.yml"), gpu_target())
    assert [f.severity for f in declared if f.code == "MEM703"] == [Severity.OK]
    from ftdoctor.facts.model import Facts
    from ftdoctor.matrix import load_matrix
    from ftdoctor.trainer.preflight import PreflightContext, judge_preflight, prepare

    gated = judge_preflight(prepare(write_config(head, "d.yml"), gpu_target(name="RTX 4090", cc="8.9", gib=24)),
                            PreflightContext(facts=Facts(), matrix=load_matrix(), launching=True))
    assert [f.severity for f in gated if f.code == "MEM703"] == [Severity.SKIPPED]  # ftdoctor train loads 16-bit


@pytest.mark.slow
def test_vendored_trl_vocabulary_matches_the_installed_trl():
    pytest.importorskip("trl")
    from ftdoctor.trainer.config.trl_vocabulary import installed_fields, render

    committed = (REPO / "trainer" / "config" / "trl_keys.toml").read_text(encoding="utf-8")
    assert committed == render(installed_fields()), \
        "regenerate: python -m ftdoctor.trainer.config.trl_vocabulary > trainer/config/trl_keys.toml"


def test_config_docs_are_generated_from_the_schema():
    from ftdoctor.trainer.config.docs import render

    committed = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate: python -m ftdoctor.trainer.config.docs > docs/config.md"


def test_every_schema_field_is_documented_once():
    import dataclasses

    from ftdoctor.trainer.config.fields import spec_of
    from ftdoctor.trainer.config.schema import DatasetConfig, FsdpConfig, SpecialTokens, TrainConfig, TrlOptions

    for cls in (TrainConfig, DatasetConfig, FsdpConfig, TrlOptions, SpecialTokens):
        for field in dataclasses.fields(cls):
            if field.name == "extras":
                continue
            spec = spec_of(field)
            assert spec is not None and len(spec.doc) >= 10, f"{cls.__name__}.{field.name} has no description"


def test_the_matrix_rows_load_and_compare_versions():
    from ftdoctor.matrix import load_matrix

    api = load_matrix().trainer_api
    row = api.key("max_seq_length")
    assert [row.state(v) for v in ("0.15.2", "0.16.0", "0.19.9", "0.20.0", "1.16.0")] == \
        ["ok", "deprecated", "deprecated", "removed", "removed"]
    grpo = api.needs("rl:grpo")[0]
    assert [grpo.allows(v) for v in ("0.13.9", "0.14.0", "0.14.0rc1", "1.16.0")] == [False, True, False, True]
    assert api.gpu_need("attn:flash_attention_3").allows((9, 0)) and not api.gpu_need(
        "attn:flash_attention_3").allows((10, 0))


def test_preflight_rules_page_is_generated_from_the_registry():
    from ftdoctor.trainer.rules.docs import render

    committed = (REPO / "docs" / "preflight.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate: python -m ftdoctor.trainer.rules.docs > docs/preflight.md"


def test_rule_codes_follow_their_bands():
    from ftdoctor.trainer.rules import preflight_rules

    bands = {"config": "CFG1", "config-combinations": "CFG1", "config-distributed": "CFG14", "dataset": "DAT5",
             "model": "MDL6", "memory": "MEM7", "config-environment": "CEN8"}
    for rule in preflight_rules():
        assert rule.code.startswith(bands[rule.family]), rule.code
        assert rule.__doc__ and rule.description().endswith(")") or rule.description().endswith(".")
