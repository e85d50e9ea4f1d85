"""The trained adapter merged into a fresh, unquantized copy of the base model (`merge_lora: true`).

A QLoRA adapter is merged into the base reloaded in 16/32-bit, never into the 4-bit weights it trained on
(Axolotl's merge does the same): the merged model is meant for inference without bitsandbytes.
"""

from __future__ import annotations

from pathlib import Path


def load_base(model_path: str, tokenizer, *, dtype, task: str = "causal", trust_remote_code: bool = False):
    """The base model, unquantized, with its embeddings resized to the (possibly grown) tokenizer."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    cls = AutoModelForSequenceClassification if task == "reward" else AutoModelForCausalLM
    extra = {"num_labels": 1} if task == "reward" else {}
    model = cls.from_pretrained(model_path, dtype=dtype, trust_remote_code=trust_remote_code, **extra)
    if tokenizer is not None and model.get_input_embeddings().weight.shape[0] < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    return model


def merge_adapter(model_path: str, adapter_dir: str | Path, out_dir: str | Path, *, dtype, task: str = "causal",
                  trust_remote_code: bool = False) -> Path:
    from peft import PeftModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    base = load_base(model_path, tokenizer, dtype=dtype, task=task, trust_remote_code=trust_remote_code)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
