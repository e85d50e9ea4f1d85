"""The tiny local model (reused by `ftdoctor demo`) and token counting against transformers itself."""

from __future__ import annotations

import pytest

from ftdoctor.trainer import tiny
from ftdoctor.trainer.data.lengths import measure
from ftdoctor.trainer.model.shape import from_config_json
from ftdoctor.trainer.model.tokenizer import read_tokenizer


@pytest.mark.slow
def test_tiny_model_builds_and_its_parameter_count_is_the_shapes(tmp_path):
    pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny.build(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert sum(p.numel() for p in model.parameters()) == from_config_json(folder / "config.json").total_params
    tokenizer = AutoTokenizer.from_pretrained(folder)
    messages = tiny.conversations(1)[0]["messages"]
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_assistant_tokens_mask=True,
                                        return_dict=True)
    assistant = [t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tokenizer.decode(assistant) == messages[-1]["content"] + "<|im_end|>"


def test_token_counts_match_transformers_chat_template(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    facts = read_tokenizer(tiny_model)
    rows = tiny.conversations(50, seed=3)
    records = list(enumerate(rows, start=1))
    lengths = measure(records, "conversational", {"messages": "messages"}, 40, facts.tokenizer_json,
                      facts.chat_template, {"eos_token": facts.eos_token, "bos_token": None})
    expected = sorted(len(tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
                      for r in rows)
    assert lengths.exact and lengths.measured == 50
    assert lengths.longest == expected[-1] and lengths.median == expected[25]
    assert lengths.over == sum(1 for n in expected if n > 40)
    assert lengths.rendering == "the tokenizer's chat template"


def test_without_a_tokenizer_lengths_are_estimated_and_say_so():
    records = [(1, {"text": "x" * 400}), (2, {"text": "y" * 40})]
    lengths = measure(records, "text", {}, 50, None, None, {})
    assert not lengths.exact and "estimated" in lengths.method
    assert (lengths.longest, lengths.over) == (100, 1)
