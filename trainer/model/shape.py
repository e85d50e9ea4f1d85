"""A causal LM's shape, read from its config.json (or the known-models table), and what follows from it:
parameter counts per part. No torch: the counts are the sums of the weight matrices' sizes."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class ModelShape:
    model_type: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int | None = None
    tie_word_embeddings: bool = False
    gated_mlp: bool = True  # SwiGLU / GeGLU: gate, up and down projections
    attention_bias: bool = False
    mlp_bias: bool = False
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int | None = None
    dtype: str | None = None  # the checkpoint's dtype (config.json `dtype` / `torch_dtype`)
    architectures: tuple[str, ...] = ()
    auto_map: bool = False  # needs trust_remote_code
    quantization: str | None = None  # quant_method of a pre-quantized checkpoint
    source: str = ""  # "config.json at PATH" | "known model NAME"

    @property
    def q_out(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_out(self) -> int:
        return self.num_key_value_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int, int]]:
        """Per-layer linear layers: name -> (in_features, out_features, count per layer), in HF naming
        for the llama family (other families map their names onto these roles, see naming.py)."""
        h, i = self.hidden_size, self.intermediate_size
        shapes = {"q_proj": (h, self.q_out, 1), "k_proj": (h, self.kv_out, 1), "v_proj": (h, self.kv_out, 1),
                  "o_proj": (self.q_out, h, 1)}
        if self.num_experts:
            mi = self.moe_intermediate_size or i
            shapes.update(gate_proj=(h, mi, self.num_experts), up_proj=(h, mi, self.num_experts),
                          down_proj=(mi, h, self.num_experts))
        elif self.gated_mlp:
            shapes.update(gate_proj=(h, i, 1), up_proj=(h, i, 1), down_proj=(i, h, 1))
        else:
            shapes.update(up_proj=(h, i, 1), down_proj=(i, h, 1))
        return shapes

    def layer_params(self) -> int:
        linear = sum(fan_in * fan_out * n for fan_in, fan_out, n in self.linear_shapes().values())
        bias = (self.q_out + 2 * self.kv_out) if self.attention_bias else 0
        if self.mlp_bias:
            bias += self.intermediate_size + self.hidden_size
        router = self.hidden_size * self.num_experts
        return linear + bias + router + 2 * self.hidden_size  # two norms

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def head_params(self) -> int:
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def total_params(self) -> int:
        return self.embedding_params + self.head_params + self.num_hidden_layers * self.layer_params() + self.hidden_size

    @property
    def linear_params(self) -> int:
        """Parameters in the decoder layers' linear weights: what 4/8-bit quantization applies to."""
        return self.num_hidden_layers * sum(a * b * n for a, b, n in self.linear_shapes().values())

    @property
    def active_params(self) -> int:
        """Parameters used per token (MoE: only the routed experts)."""
        if not self.num_experts:
            return self.total_params
        mi = self.moe_intermediate_size or self.intermediate_size
        idle = (self.num_experts - self.num_experts_per_tok) * 3 * self.hidden_size * mi * self.num_hidden_layers
        return self.total_params - idle


def from_config_json(path: Path) -> ModelShape:
    data = json.loads(path.read_text(encoding="utf-8"))
    return from_config_dict(data, source=f"config.json at {path.parent}")


def from_config_dict(data: dict[str, Any], source: str = "") -> ModelShape:
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else None
    top = data
    data = {**data, **text} if text else data  # multimodal: the language model's numbers
    heads = _int(data, "num_attention_heads", "n_head", "num_heads")
    hidden = _int(data, "hidden_size", "n_embd", "d_model")
    experts = _int(data, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    return ModelShape(
        model_type=str(top.get("model_type", "")),
        hidden_size=hidden,
        num_hidden_layers=_int(data, "num_hidden_layers", "n_layer", "num_layers"),
        num_attention_heads=heads,
        num_key_value_heads=_int(data, "num_key_value_heads", "num_kv_heads", default=heads),
        head_dim=_int(data, "head_dim", default=hidden // heads if heads else 0),
        intermediate_size=_int(data, "intermediate_size", "n_inner", "ffn_dim", default=4 * hidden),
        vocab_size=_int(data, "vocab_size"),
        max_position_embeddings=data.get("max_position_embeddings") or data.get("n_positions"),
        tie_word_embeddings=bool(top.get("tie_word_embeddings", data.get("tie_word_embeddings", True))),
        gated_mlp=str(data.get("hidden_act", data.get("hidden_activation", "silu"))) in GATED_ACTIVATIONS
        and str(top.get("model_type")) not in PLAIN_MLP_TYPES,
        attention_bias=bool(data.get("attention_bias", data.get("bias", False))),
        mlp_bias=bool(data.get("mlp_bias", False)),
        num_experts=experts,
        num_experts_per_tok=_int(data, "num_experts_per_tok", "num_experts_per_token", "moe_topk", default=0),
        moe_intermediate_size=data.get("moe_intermediate_size"),
        dtype=top.get("dtype") or top.get("torch_dtype") or data.get("dtype") or data.get("torch_dtype"),
        architectures=tuple(top.get("architectures") or ()),
        auto_map=bool(top.get("auto_map")),
        quantization=(top.get("quantization_config") or {}).get("quant_method"),
        source=source,
    )


GATED_ACTIVATIONS = {"silu", "swish", "gelu_pytorch_tanh", "gelu", "geglu", "swiglu"}
PLAIN_MLP_TYPES = {"phi", "gpt2", "gpt_neox", "falcon", "opt", "bloom", "gptj", "starcoder2", "mpt"}


def _int(data: dict[str, Any], *names: str, default: int | None = None) -> int:
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    if default is None:
        raise KeyError(names[0])
    return default


@dataclass(frozen=True)
class KnownModel:
    name: str
    shape: ModelShape


@cache
def known_models() -> dict[str, KnownModel]:
    text = resources.files("ftdoctor.trainer.model").joinpath("known_models.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    allowed = {f.name for f in fields(ModelShape)}
    result = {}
    for row in data["models"]:
        name = row.pop("name")
        row.pop("max_position_embeddings", None)  # litgpt's block_size is not always the model's context length
        shape = ModelShape(**{k: v for k, v in row.items() if k in allowed}, source=f"known model {name}")
        result[name.lower()] = KnownModel(name, shape)
    return result


def lookup_known(name: str) -> KnownModel | None:
    """A hub name in the table, or a mirror of one (`NousResearch/Meta-Llama-3-8B` → meta-llama's)."""
    table = known_models()
    wanted = name.strip().lower()
    if wanted in table:
        return table[wanted]
    repo = wanted.rsplit("/", 1)[-1]
    for key, model in table.items():
        if key.rsplit("/", 1)[-1] == repo:
            return KnownModel(model.name, replace(model.shape, source=f"known model {model.name} (same repository "
                                                  f"name as {name})"))
    return None


ROLE_DIMS = {  # module name -> (in, out) in terms of the shape; several families' names for the same roles
    "q_proj": ("h", "q"), "k_proj": ("h", "kv"), "v_proj": ("h", "kv"), "o_proj": ("q", "h"), "dense": ("q", "h"),
    "out_proj": ("q", "h"), "qkv_proj": ("h", "qkv"), "query_key_value": ("h", "qkv"), "c_attn": ("h", "qkv"),
    "gate_proj": ("h", "i"), "up_proj": ("h", "i"), "fc1": ("h", "i"), "c_fc": ("h", "i"), "w1": ("h", "i"),
    "w3": ("h", "i"), "dense_h_to_4h": ("h", "i"), "gate_up_proj": ("h", "2i"), "down_proj": ("i", "h"),
    "fc2": ("i", "h"), "w2": ("i", "h"), "dense_4h_to_h": ("i", "h"), "c_proj": ("h", "h"), "gate": ("h", "e"),
}


def module_dims(shape: ModelShape, name: str) -> tuple[int, int, int] | None:
    """(in_features, out_features, copies per layer) of a per-layer linear module, or None when unknown."""
    role = ROLE_DIMS.get(name)
    if role is None:
        return None
    mi = shape.moe_intermediate_size or shape.intermediate_size
    experts = shape.num_experts if shape.num_experts and name in ("gate_proj", "up_proj", "down_proj", "w1",
                                                                  "w2", "w3") else 1
    size = {"h": shape.hidden_size, "q": shape.q_out, "kv": shape.kv_out, "qkv": shape.q_out + 2 * shape.kv_out,
            "i": mi if shape.num_experts else shape.intermediate_size, "2i": 2 * shape.intermediate_size,
            "e": shape.num_experts or 1}
    return size[role[0]], size[role[1]], experts
