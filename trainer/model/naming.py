"""The module names of known transformers architectures, so LoRA `target_modules` can be checked without
building the model. `tests/trainer/test_naming.py` builds each family on the meta device and compares, so
this table cannot drift from transformers silently. For other architectures `meta_modules` builds the model
on the meta device in a subprocess (torch and transformers imported there, not here)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

LLAMA_LIKE = {
    "linear": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "embedding": "embed_tokens", "head": "lm_head",
    "other": ("input_layernorm", "post_attention_layernorm", "norm", "self_attn", "mlp", "layers", "model",
              "rotary_emb", "act_fn"),
}


@dataclass(frozen=True)
class Naming:
    linear: tuple[str, ...]  # per-layer linear modules (what `target_linear` / all-linear targets)
    embedding: str
    head: str
    other: tuple[str, ...] = ()
    expert_parameters: tuple[str, ...] = ()  # fused MoE expert weights: parameters, not modules

    @property
    def all(self) -> frozenset[str]:
        return frozenset((*self.linear, self.embedding, self.head, *self.other))

    def paths(self, model_type: str) -> frozenset[str]:
        """Full module paths of layer 0 (what a regular expression in target_modules is matched against)."""
        layer, embed_parent, attn, mlp = PATHS.get(model_type, ("model.layers.0", "model", "self_attn", "mlp"))
        result = {f"{embed_parent}.{self.embedding}", self.head, layer, f"{layer}.{attn}", f"{layer}.{mlp}"}
        for name in self.linear:
            parent = mlp if name in MLP_NAMES else attn
            result.add(f"{layer}.{parent}.{name}")
        return frozenset(result)


def _llama_like(*extra_other: str, linear: tuple[str, ...] | None = None) -> Naming:
    return Naming(linear or LLAMA_LIKE["linear"], LLAMA_LIKE["embedding"], LLAMA_LIKE["head"],
                  LLAMA_LIKE["other"] + extra_other)


NAMING: dict[str, Naming] = {
    "llama": _llama_like(),
    "mistral": _llama_like(),
    "qwen2": _llama_like(),
    "qwen3": _llama_like("q_norm", "k_norm"),
    "gemma": _llama_like(),
    "gemma2": _llama_like("pre_feedforward_layernorm", "post_feedforward_layernorm"),
    "gemma3_text": _llama_like("pre_feedforward_layernorm", "post_feedforward_layernorm", "q_norm", "k_norm"),
    "olmo2": Naming(LLAMA_LIKE["linear"], "embed_tokens", "lm_head",
                    ("post_attention_layernorm", "post_feedforward_layernorm", "q_norm", "k_norm", "norm", "self_attn",
                     "mlp", "layers", "model", "rotary_emb", "act_fn")),
    "phi3": Naming(("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), "embed_tokens", "lm_head",
                   ("input_layernorm", "post_attention_layernorm", "norm", "self_attn", "mlp", "layers", "model",
                    "rotary_emb", "activation_fn", "resid_attn_dropout", "resid_mlp_dropout")),
    "phi": Naming(("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"), "embed_tokens", "lm_head",
                  ("input_layernorm", "final_layernorm", "self_attn", "mlp", "layers", "model", "rotary_emb",
                   "resid_dropout", "embed_dropout", "activation_fn")),
    "falcon": Naming(("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"), "word_embeddings",
                     "lm_head", ("input_layernorm", "ln_f", "self_attention", "mlp", "h", "transformer",
                                 "rotary_emb", "attention_dropout", "act")),
    "gpt2": Naming(("c_attn", "c_proj", "c_fc"), "wte", "lm_head",
                   ("wpe", "ln_1", "ln_2", "ln_f", "attn", "mlp", "h", "transformer", "act", "attn_dropout",
                    "resid_dropout", "dropout", "drop")),
}
MOE_OTHER = ("input_layernorm", "post_attention_layernorm", "norm", "self_attn", "mlp", "layers", "model",
             "rotary_emb", "experts", "act_fn")
for _moe, _extra in (("mixtral", ()), ("qwen3_moe", ("q_norm", "k_norm"))):
    NAMING[_moe] = Naming(("q_proj", "k_proj", "v_proj", "o_proj"), "embed_tokens", "lm_head",
                          MOE_OTHER + ("gate",) + _extra, expert_parameters=("gate_up_proj", "down_proj"))


MLP_NAMES = {"gate_proj", "up_proj", "down_proj", "gate_up_proj", "fc1", "fc2", "c_fc", "dense_h_to_4h",
             "dense_4h_to_h", "gate"}
PATHS = {  # model_type -> (layer 0, embedding's parent, attention module, MLP module)
    "falcon": ("transformer.h.0", "transformer", "self_attention", "mlp"),
    "gpt2": ("transformer.h.0", "transformer", "attn", "mlp"),
}


def naming_for(model_type: str) -> Naming | None:
    return NAMING.get(model_type)


def meta_modules(config_dir: str, *, timeout_s: float = 90.0, python: str | None = None) -> tuple[list[str], str]:
    """Module names of the model in `config_dir`, built on the meta device in a subprocess.

    Returns (names, "") or ([], why it could not tell)."""
    from ftdoctor.probes import isolated

    result = isolated.run([python or sys.executable, "-m", "ftdoctor.trainer.model.meta_child", config_dir],
                          timeout_s=timeout_s)
    if not result.ok or not result.stdout.strip():
        tail = (result.stderr or "").strip().splitlines()[-1:] or [result.describe()]
        return [], f"building the model on the meta device {result.describe()}: {tail[0]}"
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]), ""
    except json.JSONDecodeError:
        return [], "the meta-device build printed no module list"

