"""The schema's validation: every problem in one pass, with the key path; renamed and legacy keys mapped."""

from __future__ import annotations

from ftdoctor.findings import Severity
from ftdoctor.trainer.config.load import load_config


def issues(loaded, kind=None):
    return [i for i in loaded.issues if kind is None or i.kind == kind]


def test_a_clean_config_has_no_issues(write_config):
    loaded = load_config(write_config("""
        base_model: Qwen/Qwen2.5-0.5B
        datasets:
          - path: data.jsonl
            type: chat_template
        micro_batch_size: 2
        gradient_accumulation_steps: 4
        learning_rate: 2e-5
        bf16: auto
        adapter: lora
        lora_target_modules: [q_proj, v_proj]
        """))
    assert loaded.issues == ()
    c = loaded.config
    assert c.learning_rate == 2e-5  # YAML reads `2e-5` as a string; numeric strings are accepted as Axolotl does
    assert c.lora_target_modules == ("q_proj", "v_proj")
    assert c.datasets[0].type == "chat_template"


def test_every_error_is_reported_at_once_with_its_line(write_config):
    loaded = load_config(write_config("""
        base_model: m
        lerning_rate: 3e-4
        micro_batch_size: two
        bf16: maybe
        lora_r: 8.5
        lora_dropout: 1.5
        datasets:
          - path: d.jsonl
            feild_messages: conversations
            train_on_eos: sometimes
        """))
    found = {(i.kind, loaded.where(i.path).rsplit(":", 1)[1]) for i in loaded.issues}
    assert found == {("unknown", "2"), ("type", "3"), ("value", "4"), ("type", "5"), ("value", "6"),
                     ("unknown", "9"), ("value", "10"), ("required", "1")}
    unknown = {i.path: i.hint for i in issues(loaded, "unknown")}
    assert unknown[("lerning_rate",)] == "did you mean `learning_rate`?"
    assert unknown[("datasets", 0, "feild_messages")] == "did you mean `field_messages`?"
    assert [i.path for i in issues(loaded, "required")] == [("learning_rate",)]
    value = next(i for i in issues(loaded, "value") if i.path == ("bf16",))
    assert "true, false, auto" in value.message


def test_a_quoted_boolean_is_named_as_such(write_config):
    # `bf16: "true"` used to read "`bf16: true` is not allowed: expected true, false, auto"
    loaded = load_config(write_config("""
        base_model: m
        learning_rate: 1
        datasets: [{path: a}]
        bf16: "true"
        load_in_4bit: 'False'
        tf32: auto
        """))
    found = {i.path: (i.kind, i.message, i.hint) for i in loaded.issues}
    assert found == {
        ("bf16",): ("type", '`bf16: "true"` is a quoted string, not a boolean', "write `bf16: true` without quotes"),
        ("load_in_4bit",): ("type", '`load_in_4bit: "False"` is a quoted string, not a boolean',
                            "write `load_in_4bit: false` without quotes"),
    }
    assert loaded.config.tf32 == "auto" and loaded.config.bf16 is None


def test_unknown_key_far_from_any_name_has_no_suggestion(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\nzzqq_xyz: 1\n"))
    [issue] = issues(loaded, "unknown")
    assert "did you mean" not in issue.hint


def test_axolotl_keys_the_schema_does_not_model_are_accepted_with_a_note(write_config):
    loaded = load_config(write_config("""
        base_model: m
        learning_rate: 1e-4
        datasets: [{path: a.jsonl, type: alpaca, shards: 4}]
        loss_watchdog_threshold: 5.0
        liger_rms_norm: true
        """))
    notes = {i.path: i for i in issues(loaded, "axolotl")}
    assert set(notes) == {("loss_watchdog_threshold",), ("liger_rms_norm",), ("datasets", 0, "shards")}
    assert all(i.severity == Severity.INFO for i in notes.values())
    assert "liger" in notes[("liger_rms_norm",)].message
    assert loaded.config.extras == {"loss_watchdog_threshold": 5.0, "liger_rms_norm": True}


def test_renamed_keys_are_read_as_the_current_key_with_the_reason(write_config):
    loaded = load_config(write_config("""
        base_model: m
        learning_rate: 1e-4
        datasets: [{path: a.jsonl, type: alpaca}]
        max_seq_length: 2048
        per_device_train_batch_size: 4
        bnb_4bit_quant_type: nf4
        """))
    renamed = {i.path[0]: i for i in issues(loaded, "renamed")}
    assert set(renamed) == {"max_seq_length", "per_device_train_batch_size", "bnb_4bit_quant_type"}
    assert all(i.severity == Severity.WARNING for i in renamed.values())
    assert "Axolotl would ignore it silently" in renamed["max_seq_length"].message
    c = loaded.config
    assert (c.sequence_len, c.micro_batch_size) == (2048, 4)
    assert c.bnb_config_kwargs == {"bnb_4bit_quant_type": "nf4"}
    assert loaded.where(("sequence_len",)).endswith(":4")  # the renamed key's line


def test_legacy_spellings_are_noted_and_mapped(write_config):
    loaded = load_config(write_config("""
        base_model: m
        learning_rate: 1e-4
        flash_attention: true
        evaluation_strategy: steps
        datasets:
          - path: a.jsonl
            type: chat_template
            message_field_role: from
            message_field_content: value
        fsdp_config:
          fsdp_offload_params: true
        """))
    legacy = issues(loaded, "legacy")
    assert {i.path[-1] for i in legacy} == {"flash_attention", "evaluation_strategy", "message_field_role",
                                            "message_field_content", "fsdp_offload_params"}
    assert all(i.severity == Severity.INFO for i in legacy)
    c = loaded.config
    assert c.attn_implementation == "flash_attention_2" and c.eval_strategy == "steps"
    assert c.datasets[0].message_property_mappings == {"role": "from", "content": "value"}
    assert c.fsdp_config.offload_params is True


def test_legacy_flag_conflicting_with_the_new_key(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "attn_implementation: sdpa\nflash_attention: true\n"))
    [issue] = issues(loaded, "conflict")
    assert issue.path == ("flash_attention",) and loaded.where(issue.path).endswith(":5")


def test_removed_keys(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "max_packed_sequence_len: 2048\nrope_scaling:\n"))
    by_key = {i.path[0]: i.severity for i in issues(loaded, "removed")}
    assert by_key == {"max_packed_sequence_len": Severity.ERROR, "rope_scaling": Severity.INFO}


def test_short_attention_names_are_refused_with_the_canonical_one(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "attn_implementation: flash\n"))
    [issue] = issues(loaded, "value")
    assert "flash_attention_2" in issue.message


def test_hub_kernel_attention_and_fallback_templates_are_allowed(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "attn_implementation: kernels-community/flash-attn2\n"
                                      "chat_template: tokenizer_default_fallback_chatml\n"))
    assert issues(loaded, "value") == []


def test_wrong_type_of_a_whole_section(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: data.jsonl\n"))
    [issue] = issues(loaded, "type")
    assert issue.path == ("datasets",) and "list" in issue.message
    assert issues(loaded, "required") == []  # not reported twice


def test_list_items_of_the_wrong_type(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "lora_target_modules: [q_proj, 3]\n"))
    [issue] = issues(loaded, "type")
    assert issue.path == ("lora_target_modules", 1)  # the item, not the whole list


def test_booleans_are_not_numbers(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: true\ndatasets: [{path: a}]\n"))
    assert [i.path for i in issues(loaded, "type")] == [("learning_rate",)]


def test_legacy_gradient_checkpointing_values_are_read_as_axolotl_does(write_config):
    loaded = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: [{path: a}]\n"
                                      "gradient_checkpointing: offload_disk\n"))
    [issue] = issues(loaded, "legacy")
    assert issue.severity == Severity.INFO and "activation_offloading: disk" in issue.message
    assert (loaded.config.gradient_checkpointing, loaded.config.activation_offloading) == (True, "disk")


def test_a_wrong_item_in_a_list_is_named_with_its_index_and_line(write_config):
    loaded = load_config(write_config("""
        base_model: m
        learning_rate: 1
        datasets:
          - data/chat.jsonl
        lora_target_modules: [q_proj, 3]
        """))
    found = {i.path: (i.message, i.hint, loaded.where(i.path).rsplit(":", 1)[1]) for i in issues(loaded, "type")}
    assert found[("datasets", 0)] == ("`datasets[0]` must be a mapping of keys, not a string (data/chat.jsonl)",
                                      "write `- path: data/chat.jsonl`", "4")
    message, hint, line = found[("lora_target_modules", 1)]
    assert message == "`lora_target_modules[1]` must be a string, not a number (3)" and line == "5"
    assert hint.startswith("Module names (or regular expressions) that get LoRA, e.g. `[q_proj, v_proj]`")
    scalar = load_config(write_config("base_model: m\nlearning_rate: 1\ndatasets: d.jsonl\n", "b.yml"))
    [issue] = issues(scalar, "type")
    assert issue.hint == "write `datasets:` with `- path: d.jsonl` on the next line"
