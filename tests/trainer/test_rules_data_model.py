"""DAT and MDL rules on real files: the tiny model and datasets written by the test."""

from __future__ import annotations

import json

from ftdoctor.findings import Severity
from preflight_helpers import codes, one, run_preflight


def write(tiny_project, text: str):
    path = tiny_project / "config.yml"
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return run_preflight(path)


HEAD = "base_model: ./model\nmicro_batch_size: 2\ngradient_accumulation_steps: 2\nlearning_rate: 0.0002\n"


def test_the_tiny_project_is_clean(tiny_project):
    pre, findings = write(tiny_project, HEAD + "sequence_len: 128\ndatasets:\n  - path: data/chat.jsonl\n"
                                              "    type: chat_template\n")
    assert not {c for c in codes(findings) if c[:3] in ("DAT", "MDL")}
    summary = one(findings, "DAT510")
    assert "200 examples" in summary.message and "conversations" in summary.message
    assert pre.datasets[0].lengths.exact


def test_missing_dataset_is_an_error_at_its_line_not_a_hub_lookup(tiny_project):
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/nope.jsonl\n    type: chat_template\n")
    finding = one(findings, "DAT501")
    assert finding.location.endswith(":6") and "query the hub" in finding.message


def test_a_path_found_only_beside_the_config_is_noted_for_axolotl(tiny_project, monkeypatch):
    text = HEAD + "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n"
    monkeypatch.chdir(tiny_project)
    _, here = write(tiny_project, text)
    assert [f.severity for f in here if f.code == "DAT501"] == [Severity.OK]
    (tiny_project / "elsewhere").mkdir()
    monkeypatch.chdir(tiny_project / "elsewhere")
    _, elsewhere = write(tiny_project, text)
    note = one(elsewhere, "DAT501")
    assert note.severity == Severity.INFO and "Axolotl resolves relative paths against the folder" in note.message
    assert note.location.endswith(":6")


def test_hub_dataset_is_noted_once(tiny_project, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tiny_project / "no-cache"))
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: mlabonne/FineTome-100k\n    type: chat_template\n")
    assert one(findings, "DAT502").severity == Severity.INFO
    assert str(tiny_project / "no-cache") in one(findings, "DAT502").message
    assert [f.severity for f in findings if f.code == "DAT501"] == [Severity.OK]  # said once, by DAT502


def test_not_json_lines_names_the_data_file_line(tiny_project):
    (tiny_project / "data" / "bad.jsonl").write_text('{"messages": []}\n{"messages": [\n', encoding="utf-8")
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/bad.jsonl\n    type: chat_template\n")
    finding = next(f for f in findings if f.code == "DAT503" and f.severity == Severity.ERROR)
    assert finding.location == f"{tiny_project / 'data' / 'bad.jsonl'}:2"


def test_binary_dataset(tiny_project):
    (tiny_project / "data" / "model.bin").write_bytes(b"\x00\x01" * 1000)
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/model.bin\n    type: alpaca\n")
    assert "binary" in one(findings, "DAT503").message


def test_columns_do_not_match_the_type(tiny_project):
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/chat.jsonl\n    type: alpaca\n")
    finding = one(findings, "DAT504")
    assert "`instruction`" in finding.message and finding.location.endswith(":7")
    assert "type: chat_template" in finding.fixes[0].summary


def test_sharegpt_turns_need_property_mappings(tiny_project):
    rows = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}] * 5
    (tiny_project / "data" / "sg.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/sg.jsonl\n    type: chat_template\n"
                                              "    field_messages: conversations\n")
    finding = one(findings, "DAT505")
    assert "role" in finding.message and "message_property_mappings" in finding.fixes[0].summary
    assert finding.location == f"{tiny_project / 'data' / 'sg.jsonl'}:1"


def test_truncation_share_with_the_real_tokenizer(tiny_project):
    _, findings = write(tiny_project, HEAD + "sequence_len: 40\ndatasets:\n  - path: data/chat.jsonl\n"
                                              "    type: chat_template\n")
    finding = one(findings, "DAT506")
    assert finding.severity == Severity.ERROR and "200 of 200" in finding.message and "tokenized" in finding.message
    assert finding.location.endswith(":5")


def test_preference_data_for_sft_and_conversations_for_dpo(tiny_project):
    _, sft = write(tiny_project, HEAD + "datasets:\n  - path: data/pairs.jsonl\n    type: chat_template\n")
    assert one(sft, "DAT507").severity == Severity.WARNING
    _, dpo = write(tiny_project, HEAD + "rl: dpo\nadapter: lora\nlora_target_linear: true\ndatasets:\n"
                                        "  - path: data/chat.jsonl\n    type: chat_template.default\n")
    assert one(dpo, "DAT507").severity == Severity.ERROR
    assert "chosen" in one(dpo, "DAT504").message


def test_trl_style_pairs_under_chat_template_default(tiny_project):
    """prompt/chosen/rejected rows: Axolotl's chat_template.default reads the prompt from `messages`, so the fix is
    field_messages: prompt (not the type the config already has); once mapped, the prompt-only turns are fine."""
    dpo = HEAD + "rl: dpo\nadapter: lora\nlora_target_linear: true\ndatasets:\n  - path: data/pairs.jsonl\n" \
                 "    type: chat_template.default\n"
    _, unmapped = write(tiny_project, dpo)
    assert one(unmapped, "DAT504").fixes[0].summary == "use `type: chat_template.default` with `field_messages: prompt`"
    _, mapped = write(tiny_project, dpo + "    field_messages: prompt\n")
    assert not {"DAT504", "DAT505"} & codes(mapped)
    assert [f.severity for f in mapped if f.code == "DAT505"] == [Severity.OK]
    _, sft = write(tiny_project, HEAD + "datasets:\n  - path: data/pairs.jsonl\n    type: chat_template\n")
    assert "`rl: dpo` and `type: chat_template.default` with `field_messages: prompt`" in \
        one(sft, "DAT504").fixes[0].summary


def test_path_json_with_data_files_pitfall_and_sharegpt_type(tiny_project):
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: json\n    data_files: data/chat.jsonl\n"
                                              "    type: sharegpt\n")
    assert "RepositoryNotFoundError" in one(findings, "DAT508").message
    assert one(findings, "DAT509").location.endswith(":8")


def test_validation_split_larger_than_the_data(tiny_project):
    _, findings = write(tiny_project, HEAD + "val_set_size: 500\ndatasets:\n  - path: data/chat.jsonl\n"
                                              "    type: chat_template\n")
    assert "nothing left to train on" in one(findings, "DAT511").message


def test_missing_local_model(tiny_project):
    _, findings = write(tiny_project, HEAD.replace("./model", "./models/llama") +
                        "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    finding = one(findings, "MDL601")
    assert finding.location.endswith(":1")


def test_lora_targets_that_the_model_does_not_have(tiny_project):
    _, findings = write(tiny_project, HEAD + "adapter: lora\nlora_target_modules: [query_key_value, dense]\n"
                                              "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    finding = one(findings, "MDL603")
    assert finding.severity == Severity.ERROR and "q_proj" in finding.fixes[0].summary
    assert finding.location.endswith(":6")
    _, partial = write(tiny_project, HEAD + "adapter: lora\nlora_target_modules: [q_proj, c_attn]\n"
                                            "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    assert one(partial, "MDL603").severity == Severity.WARNING


def test_regex_targets_match_module_paths(tiny_project):
    pre, findings = write(tiny_project, HEAD + "adapter: lora\nlora_target_modules: '.*self_attn\\.(q|v)_proj'\n"
                                               "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    assert set(pre.plan.lora.names) == {"q_proj", "v_proj"} and "MDL603" not in codes(findings)


def test_template_without_generation_markers(tiny_project):
    template = tiny_project / "model" / "chat_template.jinja"
    template.write_text(template.read_text().replace("{% generation %}", "").replace("{% endgeneration %}", ""))
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    assert "generation" in one(findings, "MDL605").message


def test_no_chat_template_for_conversations(tiny_project):
    (tiny_project / "model" / "chat_template.jinja").unlink()
    _, findings = write(tiny_project, HEAD + "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")
    assert one(findings, "MDL604").severity == Severity.ERROR


def test_foreign_template_markers_and_new_tokens_without_embeddings(tiny_project):
    _, findings = write(tiny_project, HEAD + "adapter: lora\nlora_target_linear: true\nchat_template: llama3\n"
                                              "tokens: ['<|tool|>']\ndatasets:\n  - path: data/chat.jsonl\n"
                                              "    type: chat_template\n")
    assert "<|start_header_id|>" in one(findings, "MDL607").message
    finding = one(findings, "MDL608")
    assert "<|tool|>" in finding.message and finding.location.endswith(":8")


def test_context_length_and_remote_code(tiny_project):
    config = json.loads((tiny_project / "model" / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_x.X"}
    (tiny_project / "model" / "config.json").write_text(json.dumps(config))
    _, findings = write(tiny_project, HEAD + "sequence_len: 1024\ndatasets:\n  - path: data/chat.jsonl\n"
                                              "    type: chat_template\n")
    assert one(findings, "MDL609").location.endswith(":5")
    assert one(findings, "MDL602").severity == Severity.ERROR
