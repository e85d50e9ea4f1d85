"""The base model read without loading weights: shape, parameter counts, module names, tokenizer, cache."""

from __future__ import annotations

import pytest

from ftdoctor.trainer.locate import cached_snapshot, locate
from ftdoctor.trainer.model.inspect import inspect_model
from ftdoctor.trainer.model.naming import NAMING
from ftdoctor.trainer.model.shape import from_config_dict, lookup_known

# Published parameter counts (the models' cards / papers), against ftdoctor's count from the shape alone.
PUBLISHED = {
    "meta-llama/Llama-3.2-1B": 1.24e9, "meta-llama/Meta-Llama-3.1-8B": 8.03e9, "Qwen/Qwen2.5-0.5B": 0.494e9,
    "mistralai/Mistral-7B-v0.1": 7.24e9, "google/gemma-2-9b": 9.24e9, "microsoft/phi-2": 2.78e9,
    "microsoft/Phi-3-mini-4k-instruct": 3.82e9, "mistralai/Mixtral-8x7B-v0.1": 46.7e9,
    "Qwen/Qwen3-30B-A3B": 30.5e9, "HuggingFaceTB/SmolLM2-135M": 0.135e9, "meta-llama/Llama-2-7b-hf": 6.74e9,
}


@pytest.mark.parametrize("name, published", PUBLISHED.items())
def test_parameter_counts_match_the_published_ones(name, published):
    shape = lookup_known(name).shape
    assert abs(shape.total_params - published) / published < 0.01


def test_active_parameters_of_moe_models():
    assert abs(lookup_known("mistralai/Mixtral-8x7B-v0.1").shape.active_params - 12.9e9) / 12.9e9 < 0.01
    assert abs(lookup_known("Qwen/Qwen3-30B-A3B").shape.active_params - 3.3e9) / 3.3e9 < 0.03


def test_mirrors_resolve_to_the_known_model():
    known = lookup_known("NousResearch/Meta-Llama-3-8B")
    assert known.name == "meta-llama/Meta-Llama-3-8B" and "same repository name" in known.shape.source


def test_tiny_model_shape_and_tokenizer(tiny_model, tmp_path):
    report = inspect_model(str(tiny_model), tmp_path)
    assert report.located.kind == "local"
    shape = report.shape
    assert (shape.model_type, shape.hidden_size, shape.num_hidden_layers, shape.tie_word_embeddings) == \
        ("llama", 64, 2, False)
    assert report.naming is NAMING["llama"] and "model.layers.0.self_attn.q_proj" in report.module_names
    tok = report.tokenizer
    assert tok.has_generation_markers and tok.eos_token == "<|im_end|>" and tok.pad_token == "<|pad|>"
    assert tok.knows("<|im_start|>") and tok.knows("<|eot_id|>") is False


def test_a_local_path_that_is_missing(tmp_path):
    report = inspect_model("./models/mine", tmp_path)
    assert report.located.kind == "missing" and report.shape is None


def test_hub_name_not_offline_is_judged_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    report = inspect_model("Qwen/Qwen2.5-0.5B", tmp_path)
    assert report.located.kind == "hub" and report.shape.model_type == "qwen2" and report.tokenizer is None
    report = inspect_model("someone/unknown-model", tmp_path)
    assert report.shape is None and "known models" in report.shape_note


def test_the_local_hub_cache_is_read(tmp_path, monkeypatch, tiny_model):
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for file in tiny_model.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (cache / "models--acme--tiny" / "refs").mkdir()
    (cache / "models--acme--tiny" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert cached_snapshot("acme/tiny") == snapshot
    report = inspect_model("acme/tiny", tmp_path)
    assert report.located.kind == "cache" and report.shape.hidden_size == 64 and report.tokenizer is not None


def test_paths_resolve_against_the_config_folder_first(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "data.jsonl").write_text("{}\n")
    (tmp_path / "elsewhere.jsonl").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    assert locate("data.jsonl", tmp_path / "cfg").path == tmp_path / "cfg" / "data.jsonl"
    found = locate("elsewhere.jsonl", tmp_path / "cfg")
    assert found.kind == "local" and "working directory" in found.note
    assert locate("missing.jsonl", tmp_path / "cfg").kind == "missing"


def test_multimodal_configs_use_the_text_model():
    shape = from_config_dict({"model_type": "gemma3", "text_config": {
        "hidden_size": 2560, "num_hidden_layers": 34, "num_attention_heads": 8, "num_key_value_heads": 4,
        "head_dim": 256, "intermediate_size": 10240, "vocab_size": 262208}})
    assert shape.hidden_size == 2560 and shape.model_type == "gemma3"


def test_remote_code_and_quantized_checkpoints_are_noticed():
    shape = from_config_dict({"model_type": "x", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                              "vocab_size": 10, "auto_map": {"AutoModel": "m.M"},
                              "quantization_config": {"quant_method": "gptq"}})
    assert shape.auto_map and shape.quantization == "gptq"


@pytest.mark.slow
def test_naming_table_matches_real_models_built_on_the_meta_device():
    """Every family in the naming table, built small on the meta device with the installed transformers."""
    torch = pytest.importorskip("torch")
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.pytorch_utils import Conv1D  # GPT-2's linear layers; PEFT counts them as linear

    small = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=128, head_dim=16, pad_token_id=None, eos_token_id=None,
                 bos_token_id=None)
    special = {"gpt2": dict(n_embd=64, n_layer=2, n_head=4, vocab_size=128),
               "falcon": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=128),
               "phi": {k: v for k, v in small.items() if k not in ("head_dim", "num_key_value_heads")},
               "mixtral": dict(small, num_local_experts=4, num_experts_per_tok=2),
               "qwen3_moe": dict(small, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32)}
    for model_type, naming in NAMING.items():
        config = AutoConfig.for_model(model_type, **special.get(model_type, small))
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        names = {n for n, _ in model.named_modules() if n}
        leaves = {n.rsplit(".", 1)[-1] for n in names} - {str(i) for i in range(4)}
        assert leaves == naming.all, (model_type, leaves ^ naming.all)
        assert naming.paths(model_type) <= names, (model_type, naming.paths(model_type) - names)
        linear = {n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                  if isinstance(m, (torch.nn.Linear, Conv1D)) and n.rsplit(".", 1)[-1] != "lm_head"}
        assert linear == set(naming.linear), model_type
        params = {n.rsplit(".", 1)[-1] for n, _ in model.named_parameters() if ".experts." in n}
        assert params == set(naming.expert_parameters), model_type


@pytest.mark.slow
def test_unknown_architectures_are_built_on_the_meta_device_in_a_subprocess(tmp_path):
    pytest.importorskip("torch")
    from transformers import AutoConfig

    AutoConfig.for_model("starcoder2", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=128).save_pretrained(tmp_path / "m")
    report = inspect_model(str(tmp_path / "m"), tmp_path)
    assert report.naming is None and "meta device" in report.naming_note
    assert {"c_fc", "c_proj", "q_proj"} <= report.module_names
    assert "model.layers.1.mlp.c_fc" in report.module_names


def test_a_broken_environment_for_the_meta_build_is_reported_not_raised(tmp_path):
    from ftdoctor.trainer.model.naming import meta_modules

    names, why = meta_modules(str(tmp_path), python=str(tmp_path / "no-python"))
    assert names == [] and "could not start" in why
