"""Peak GPU memory of one training step, from first principles. docs/memory.md explains every term and its
assumptions; tests/trainer/test_memory*.py check the terms against hand computations and against the bytes
autograd really saves in CPU runs of small models.

Notation: P parameters, T = micro-batch × sequence_len tokens, h hidden size, i MLP width, V vocabulary,
B bytes per activation element (2 for bf16/fp16, 4 for fp32), N processes sharing the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ftdoctor.trainer.model.shape import ModelShape, module_dims
from ftdoctor.trainer.plan import Sharding

GIB = 1 << 30
CUDA_CONTEXT_BYTES = int(0.75 * GIB)  # CUDA context, cuBLAS/cuDNN workspaces, NCCL buffers (typical, see docs)
ALLOCATOR_RESERVE = 0.10  # the caching allocator's fragmentation and rounding, as a share of tensor bytes
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4 bits + double-quantized absmax (blocks of 64, then 256)
NF4_BYTES_SINGLE = 0.5 + 4 / 64  # 4 bits + an fp32 absmax per block of 64
SAVED_EMBEDDINGS = ("embed_tokens", "lm_head", "wte", "word_embeddings")  # vocab × hidden modules_to_save
LOGIT_BYTES = 12  # float32 log-probabilities kept for backward + the loss's gradient + the logits' gradient
PAIRED_METHODS = ("dpo", "ipo", "simpo", "orpo", "reward", "kto")  # chosen and rejected (KTO: + KL batch) at once
OPTIMIZER_STATES = {  # name prefix -> (states per parameter, bytes per state or None for the parameter's dtype)
    "adamw_torch_4bit": (2, 0.5), "adamw_torch_8bit": (2, 1), "ao_adamw_4bit": (2, 0.5), "ao_adamw_8bit": (2, 1),
    "ao_adamw_fp8": (2, 1), "paged_adamw_8bit": (2, 1), "adamw_bnb_8bit": (2, 1), "adamw_8bit": (2, 1),
    "ademamix_8bit": (3, 1), "paged_ademamix_8bit": (3, 1), "lion_8bit": (1, 1), "paged_lion_8bit": (1, 1),
    "rmsprop_bnb_8bit": (1, 1), "galore_adamw_8bit": (2, 1), "q_galore_adamw8bit": (2, 1),
    "paged_adamw_32bit": (2, 4), "paged_ademamix_32bit": (3, 4), "lion_32bit": (1, 4), "paged_lion_32bit": (1, 4),
    "ademamix": (3, None), "sgd": (0, None), "adagrad": (1, None), "rmsprop": (1, None), "lion": (1, None),
    "muon": (1, None), "flash_sgd": (0, None), "schedule_free_sgd": (1, None), "schedule_free": (2, None),
    "lomo": (0, None), "adalomo": (0, None), "adafactor": (0, None), "galore_adafactor": (0, None),
}


@dataclass(frozen=True)
class MemoryInputs:
    shape: ModelShape
    precision: str = "bf16"  # bf16 | fp16 | fp32: the dtype weights are loaded in and activations use
    quant_bits: int | None = None
    double_quant: bool = True
    method: str = "sft"
    adapter: str | None = None
    lora_r: int = 8
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ()
    modules_to_save: tuple[str, ...] = ()
    dora: bool = False
    adapter_fp32: bool = True  # PEFT keeps adapters in float32 (TRL casts them to bf16 on a quantized base)
    optimizer: str = "adamw_torch_fused"
    micro_batch: int = 1
    sequence_len: int = 512
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    attention: str = "sdpa"
    sharding: Sharding = field(default_factory=Sharding)
    processes: int = 1
    reference_model: bool = False
    vllm_colocate_share: float | None = None  # GRPO with vLLM in the training process: its memory share
    gpu: bool = True  # False: a CPU run (no CUDA context)


@dataclass(frozen=True)
class Part:
    name: str
    bytes: int
    detail: str = ""


@dataclass(frozen=True)
class Estimate:
    parts: tuple[Part, ...]  # on each GPU, at the peak
    peak_bytes: int
    phase: str  # when the peak happens
    cpu_bytes: int  # moved to CPU memory by offloading
    total_params: int
    trainable_params: int
    notes: tuple[str, ...] = ()
    saved_activations: int = 0  # kept for the backward pass at the end of the forward pass, whichever phase peaks

    def part(self, name: str) -> int:
        return sum(p.bytes for p in self.parts if p.name == name)


def estimate(x: MemoryInputs) -> Estimate:
    s = x.shape
    act = 4 if x.precision == "fp32" else 2
    groups = _trainable(x)
    trainable = sum(count for count, _ in groups)
    weights, weights_cpu = _weights(x)
    adapters = _adapter_weights(x, groups)
    grads = int(sum(count * dtype for count, dtype in groups) / _shard(x, grads=True))
    optimizer, optimizer_cpu = _optimizer(x, groups)
    saved, layer_now = _activations(x, act)
    logits = _logits(x, act)
    grads_during_forward = grads if x.grad_accum > 1 else 0
    at_loss = weights + adapters + optimizer + grads_during_forward + saved + logits
    at_backward = weights + adapters + optimizer + grads + (layer_now if x.gradient_checkpointing else 0)
    phase = "at the loss (end of the forward pass)" if at_loss >= at_backward else "at the end of the backward pass"
    parts = [
        Part("weights", weights, _weights_detail(x)),
        *([Part("adapter weights", adapters, _adapter_detail(x, groups))] if x.adapter else []),
        Part("gradients", grads if at_loss < at_backward else grads_during_forward,
             _gradients_detail(groups) + _sharded_note(x, grads=True)),
        Part("optimizer states", optimizer, _optimizer_detail(x)),
    ]
    if at_loss >= at_backward:
        parts.append(Part("activations", saved, _activation_detail(x, act)))
        parts.append(Part("logits and loss", logits, f"{_tokens(x)} tokens × vocabulary {s.vocab_size:,} × "
                          f"{LOGIT_BYTES} bytes" if logits else "no language-model head"))
    else:
        parts.append(Part("activations", layer_now if x.gradient_checkpointing else 0, "one recomputed layer"))
    parts.extend(_extras(x, s, act))
    tensors = sum(p.bytes for p in parts)
    if x.gpu:
        parts.append(Part("allocator reserve", int(tensors * ALLOCATOR_RESERVE), f"{ALLOCATOR_RESERVE:.0%} of the "
                          "tensors: the caching allocator's rounding and fragmentation"))
        parts.append(Part("CUDA context", CUDA_CONTEXT_BYTES, "context, kernels, cuBLAS workspaces"))
    return Estimate(tuple(parts), sum(p.bytes for p in parts), phase, weights_cpu + optimizer_cpu,
                    s.total_params, trainable, tuple(_notes(x)), saved)


def _trainable(x: MemoryInputs) -> list[tuple[int, int]]:
    """(trainable parameters, bytes each) per group: the adapters (float32, PEFT's default, unless TRL casts them
    to 16-bit on a quantized base), and the copies PEFT makes of `modules_to_save` (in the weights' dtype)."""
    s = x.shape
    dtype = 4 if x.precision == "fp32" else 2
    if not x.adapter:
        return [(s.total_params, 4 if x.precision == "fp32" and not x.quant_bits else 2)]
    count = 0
    for name in x.lora_targets:
        dims = module_dims(s, name)
        if dims:
            fan_in, fan_out, copies = dims
            count += s.num_hidden_layers * copies * (x.lora_r * (fan_in + fan_out) + (fan_out if x.dora else 0))
    return [(count, 4 if x.adapter_fp32 else dtype), (_saved_copies(x), dtype)]


def _adapter_weights(x: MemoryInputs, groups: list[tuple[int, int]]) -> int:
    """The trained parameters beside a frozen base: LoRA's matrices and the copies of modules_to_save (the frozen
    originals stay in `weights`). Sharded like the weights under ZeRO-3 / FSDP full shard."""
    if not x.adapter:
        return 0
    shards = x.processes if x.sharding.stage == 3 and x.processes > 1 else 1
    return int(sum(count * dtype for count, dtype in groups) / shards)


def _saved_copies(x: MemoryInputs) -> int:
    """Parameters of the trainable copies of `modules_to_save` (the embeddings and the head are vocab × hidden)."""
    s = x.shape
    return sum(s.vocab_size * s.hidden_size for m in x.modules_to_save if m in SAVED_EMBEDDINGS)


def _weights(x: MemoryInputs) -> tuple[int, int]:
    s = x.shape
    dtype = 4 if x.precision == "fp32" else 2
    if x.quant_bits == 4:
        per = NF4_BYTES if x.double_quant else NF4_BYTES_SINGLE
        total = s.linear_params * per + (s.total_params - s.linear_params) * dtype
    elif x.quant_bits == 8:
        total = s.linear_params * 1 + (s.total_params - s.linear_params) * dtype
    else:
        total = s.total_params * dtype
    total *= 2 if x.reference_model else 1
    working = 2 * s.layer_params() * dtype  # the layers gathered for compute (and the next one, prefetched)
    shards = x.processes if x.sharding.stage == 3 and x.processes > 1 else 1
    if x.sharding.offload_params and x.sharding.stage == 3:
        return int(working), int(total / shards)  # CPU memory per process
    if shards > 1:
        return int(total / shards + working), 0
    return int(total), 0


def _shard(x: MemoryInputs, *, grads: bool = False, optimizer: bool = False) -> int:
    stage, n = x.sharding.stage, x.processes
    if x.sharding.kind == "none" or n <= 1:
        return 1
    if grads:
        return n if stage >= 2 else 1
    return n if (stage >= 1 if x.sharding.kind == "zero" else stage >= 2) else 1


def _optimizer(x: MemoryInputs, groups: list[tuple[int, int]]) -> tuple[int, int]:
    states, size = _states(x.optimizer)
    total = 0.0
    for trainable, dtype in groups:
        per = states * (size if size is not None else dtype)
        if x.sharding.kind == "zero" and x.precision != "fp32":
            per = 12  # DeepSpeed mixed precision: fp32 master copy + two fp32 Adam moments (ZeRO paper, K = 12)
        total += trainable * per
    total /= _shard(x, optimizer=True)
    if x.sharding.offload_optimizer:
        return 0, int(total)
    return int(total), 0


def _states(optimizer: str) -> tuple[int, float | None]:
    for prefix in sorted(OPTIMIZER_STATES, key=len, reverse=True):
        if optimizer.startswith(prefix):
            return OPTIMIZER_STATES[prefix]
    return 2, None  # AdamW and its relatives: two moments in the parameter's dtype


def _activations(x: MemoryInputs, act: int) -> tuple[int, int]:
    """(bytes saved for backward at the loss, bytes of one layer's activations)."""
    s = x.shape
    tokens = _tokens(x)
    layer = _layer_activations(x, act, tokens)
    if x.gradient_checkpointing:
        saved = s.num_hidden_layers * tokens * s.hidden_size * act  # each layer keeps only its input
    else:
        saved = s.num_hidden_layers * layer
        saved += 2 * x.sequence_len * s.head_dim * act  # the rotary cos and sin, shared by the layers
    saved += _final_norm(x, act, tokens) + 8 * tokens  # the loss keeps the int64 labels
    if x.adapter and not x.gradient_checkpointing:
        saved -= tokens * s.hidden_size * 4 + 4 * tokens  # the first norm's input needs no gradient
    else:
        saved += 8 * tokens  # the embedding keeps the int64 token ids (its output needs a gradient)
    return int(saved), int(layer)


def _layer_activations(x: MemoryInputs, act: int, tokens: int) -> float:
    s = x.shape
    th = tokens * s.hidden_size
    full = not x.adapter
    targets = set(x.lora_targets) if not _casts_input(x, act) else set()  # cast copies replace shared inputs
    attn_inputs_trained = full or bool(targets & {"q_proj", "k_proj", "v_proj", "qkv_proj", "query_key_value",
                                                    "c_attn"})
    mlp_inputs_trained = full or bool(targets & {"gate_proj", "up_proj", "gate_up_proj", "fc1", "c_fc",
                                                   "dense_h_to_4h"})
    norms = _norm(th, tokens, act, full, attn_inputs_trained) + _norm(th, tokens, act, full, mlp_inputs_trained)
    return norms + _attention(x, act, tokens) + _mlp(x, act, tokens, full or bool(
        targets & {"down_proj", "fc2", "dense_4h_to_h", "c_proj"})) + _lora_extras(x, act, tokens)


def _casts_input(x: MemoryInputs, act: int) -> bool:
    """PEFT casts each adapted layer's input to the adapter's float32, and autocast casts it back: every
    target then keeps its own 16-bit copy of its input instead of sharing the layer's."""
    return bool(x.adapter) and act < 4 and x.adapter_fp32


def _norm(th: int, tokens: int, act: int, trainable: bool, output_saved: bool) -> float:
    """RMSNorm: a float32 view of the input (4 bytes), the normalized values for the weight's gradient (when
    trainable), and the output, kept by the projections that read it (when they are trained)."""
    return th * (4 + (act if trainable else 0) + (act if output_saved else 0)) + 4 * tokens


def _attention(x: MemoryInputs, act: int, tokens: int) -> float:
    s = x.shape
    q, kv = s.q_out, s.kv_out
    if x.attention == "eager":  # keys and values repeated to every head, the probabilities (float32 softmax)
        probs = _batch(x) * s.num_attention_heads * x.sequence_len ** 2 * (4 + (act if act < 4 else 0))
        return tokens * (3 * q + q) * act + probs
    lse = _batch(x) * s.num_attention_heads * x.sequence_len * 4  # flash / SDPA: output and log-sum-exp only
    return tokens * (q + 2 * kv + q) * act + lse


def _mlp(x: MemoryInputs, act: int, tokens: int, down_trained: bool) -> float:
    s = x.shape
    if s.num_experts:
        k, width = s.num_experts_per_tok or 1, s.moe_intermediate_size or s.intermediate_size
        routed = tokens * k * ((3 + down_trained) * width + 2 * s.hidden_size) * act
        return routed + tokens * s.num_experts * 4
    if s.gated_mlp:  # gate and up outputs, the activation, and the product fed to down_proj
        return tokens * s.intermediate_size * (3 + down_trained) * act
    return tokens * s.intermediate_size * (1 + down_trained) * act


def _lora_extras(x: MemoryInputs, act: int, tokens: int) -> float:
    if not x.adapter:
        return 0
    total = 0.0
    for name in x.lora_targets:
        dims = module_dims(x.shape, name)
        if not dims:
            continue
        total += tokens * x.lora_r * act  # lora_A's output, kept by lora_B
        if x.lora_dropout > 0:
            total += tokens * dims[0] * (act + 1)  # the dropped-out copy of the input and its mask
        elif _casts_input(x, act):
            total += tokens * dims[0] * act  # the input's cast copy
    return total


def _final_norm(x: MemoryInputs, act: int, tokens: int) -> int:
    head_trained = not x.adapter or "lm_head" in x.modules_to_save
    return int(_norm(tokens * x.shape.hidden_size, tokens, act, not x.adapter, head_trained))


def _logits(x: MemoryInputs, act: int) -> int:
    """At the start of the backward pass: the float32 log-probabilities, the loss's gradient with respect to them
    and to the logits (the logits themselves are released once the loss is computed)."""
    if x.method in ("reward", "prm"):
        return 0
    return _tokens(x) * x.shape.vocab_size * LOGIT_BYTES


def _batch(x: MemoryInputs) -> int:
    return x.micro_batch * (2 if x.method in PAIRED_METHODS else 1)


def _tokens(x: MemoryInputs) -> int:
    return _batch(x) * x.sequence_len


def _extras(x: MemoryInputs, s: ModelShape, act: int) -> list[Part]:
    parts = []
    if x.method in ("grpo", "gdpo") and not x.vllm_colocate_share:
        cache = x.micro_batch * x.sequence_len * s.num_hidden_layers * 2 * s.kv_out * act
        parts.append(Part("generation cache", cache, "key/value cache while sampling completions"))
    return parts


def _notes(x: MemoryInputs) -> list[str]:
    notes = []
    if x.vllm_colocate_share:
        notes.append(f"vLLM in the same process reserves {x.vllm_colocate_share:.0%} of the GPU on top of this")
    if x.optimizer.startswith("paged_"):
        notes.append("paged optimizer states can spill to CPU memory under pressure (slower, but no OOM)")
    if x.dora:
        notes.append("DoRA also materializes each adapted weight once per step; that transient is not counted")
    return notes


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else (f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}")


def _weights_detail(x: MemoryInputs) -> str:
    s = x.shape
    if x.quant_bits:
        text = f"{_count(s.linear_params)} in {x.quant_bits}-bit + {_count(s.total_params - s.linear_params)} in " \
               f"{x.precision}"
    else:
        text = f"{_count(s.total_params)} parameters in {x.precision}"
    if x.reference_model:
        text += ", twice (the reference model)"
    return text + (f", sharded over {x.processes}" if x.sharding.stage == 3 and x.processes > 1 else "")


def _optimizer_detail(x: MemoryInputs) -> str:
    if x.sharding.kind == "zero" and x.precision != "fp32":
        text = "DeepSpeed: float32 master weights and two float32 moments (12 bytes per trainable parameter)"
    else:
        states, size = _states(x.optimizer)
        dtypes = "/".join(str(d) for d in dict.fromkeys(d for n, d in _trainable(x) if n))
        each = f"{size:g} byte{'s' if size != 1 else ''}" if size is not None else f"{dtypes or '2'} bytes, the trainable parameters' dtype"
        text = f"{x.optimizer}: {states} state(s) of {each} per trainable parameter"
    if x.sharding.offload_optimizer:
        return text + ", offloaded to CPU memory"
    return text + _sharded_note(x, optimizer=True)


def _adapter_detail(x: MemoryInputs, groups: list[tuple[int, int]]) -> str:
    (lora, lora_dtype), (copies, dtype) = groups
    text = f"LoRA r={x.lora_r}: {_count(lora)} parameters × {lora_dtype} bytes"
    if copies:
        text += f" + trained copies of {', '.join(m for m in x.modules_to_save if m in SAVED_EMBEDDINGS)}: " \
                f"{_count(copies)} × {dtype} bytes"
    return text


def _gradients_detail(groups: list[tuple[int, int]]) -> str:
    return " + ".join(f"{_count(n)} trainable parameters × {d} bytes" for n, d in groups if n) or "nothing trained"


def _sharded_note(x: MemoryInputs, grads: bool = False, optimizer: bool = False) -> str:
    n = _shard(x, grads=grads, optimizer=optimizer)
    return f", sharded over {n} processes" if n > 1 else ""


def _activation_detail(x: MemoryInputs, act: int) -> str:
    method = "gradient checkpointing: one hidden state per layer" if x.gradient_checkpointing else "all layers"
    return f"{_tokens(x)} tokens ({_batch(x)} × {x.sequence_len}), {x.attention} attention, {method}"


def with_changes(x: MemoryInputs, **changes) -> MemoryInputs:
    return replace(x, **changes)
