"""The memory estimate against real CPU runs of small random-init Llama models built in-process.

Activations are measured exactly: autograd's saved-tensor hooks see every tensor kept for the backward
pass; unique storages are summed, parameters left out. The logits term is measured as the peak resident
memory of a fresh process around one forward and backward pass of a model whose vocabulary dominates."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import pytest

from ftdoctor.trainer.memory.estimate import LOGIT_BYTES, MemoryInputs, _activations
from ftdoctor.trainer.model.shape import ModelShape

pytestmark = pytest.mark.slow
LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
H, LAYERS, HEADS, KV, INTER, VOCAB, BATCH, SEQ = 128, 2, 4, 2, 352, 1000, 2, 256

CASES = {
    "full fp32 sdpa": ({}, {}),
    "full fp32 eager": ({"attn": "eager"}, {"attention": "eager"}),
    "full bf16 sdpa": ({"bf16": True}, {"precision": "bf16"}),
    "full bf16 eager": ({"bf16": True, "attn": "eager"}, {"precision": "bf16", "attention": "eager"}),
    "full, 4 layers, batch 4": ({"layers": 4, "batch": 4}, {"layers": 4, "micro_batch": 4}),
    "lora fp32": ({"lora": True}, {"adapter": "lora"}),
    "lora fp32 q,v": ({"lora": True, "targets": ["q_proj", "v_proj"]}, {"adapter": "lora", "targets": ("q_proj", "v_proj")}),
    "lora fp32 dropout": ({"lora": True, "dropout": 0.1}, {"adapter": "lora", "lora_dropout": 0.1}),
    "lora bf16 (fp32 adapters)": ({"lora": True, "bf16": True}, {"adapter": "lora", "precision": "bf16"}),
    "full, checkpointing": ({"gc": True}, {"gradient_checkpointing": True}),
    "lora bf16, checkpointing": ({"lora": True, "bf16": True, "gc": True},
                                 {"adapter": "lora", "precision": "bf16", "gradient_checkpointing": True}),
}


def measure_saved(attn="sdpa", bf16=False, lora=False, targets=None, dropout=0.0, gc=False, layers=LAYERS,
                  batch=BATCH):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=H, intermediate_size=INTER, num_hidden_layers=layers, num_attention_heads=HEADS,
                         num_key_value_heads=KV, vocab_size=VOCAB, attn_implementation=attn, pad_token_id=None,
                         bos_token_id=None, eos_token_id=None)
    model = LlamaForCausalLM(config).to(torch.bfloat16 if bf16 else torch.float32)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=dropout,
                                                 target_modules=targets or "all-linear"))
    if gc:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if lora:
            model.enable_input_require_grads()
    model.train()
    ids = torch.randint(0, VOCAB, (batch, SEQ))
    seen: dict[tuple[int, int], int] = {}

    def keep(tensor):
        storage = tensor.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return tensor

    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()  # as the Trainer
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t), autocast:
        out = model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    out.loss.backward()
    return sum(n for (ptr, _), n in seen.items() if ptr not in params)


def estimated_saved(layers=LAYERS, targets=LINEAR, **changes):
    shape = ModelShape("llama", H, layers, HEADS, KV, H // HEADS, INTER, VOCAB)
    x = MemoryInputs(shape, precision=changes.pop("precision", "fp32"), sequence_len=SEQ, gpu=False,
                     lora_r=8, lora_targets=targets, **{"micro_batch": BATCH, **changes})
    act = 4 if x.precision == "fp32" else 2
    log_probs = x.micro_batch * SEQ * VOCAB * 4  # the float32 log-softmax, saved; part of "logits and loss"
    return _activations(x, act)[0] + log_probs


@pytest.mark.parametrize("name", CASES)
def test_saved_activations_match_the_estimate(name):
    pytest.importorskip("torch")
    run, est = CASES[name]
    measured = measure_saved(**run)
    estimated = estimated_saved(**est)
    assert estimated == pytest.approx(measured, rel=0.02), f"{name}: measured {measured:,}, estimated {estimated:,}"


PEAK_CHILD = r"""
import json, resource, sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
dtype, vocab, seq = getattr(torch, sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
                     num_key_value_heads=2, vocab_size=vocab, max_position_embeddings=seq, pad_token_id=None,
                     bos_token_id=None, eos_token_id=None)
model = LlamaForCausalLM(config).to(dtype)
for p in model.parameters():
    p.grad = torch.zeros_like(p)
ids = torch.randint(0, vocab, (1, seq))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model(input_ids=ids, labels=ids).loss.backward()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024))
"""


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_peak_memory_of_the_logits_and_loss(dtype):
    """Peak resident memory of a model that is almost all vocabulary: dominated by the logits term. The estimate
    counts the three float32 buffers alive together at the start of the backward pass (12 bytes a logit); the
    allocator may reuse one of them, so the measured peak lies between 10 and 12.7 bytes a logit here."""
    pytest.importorskip("torch")
    vocab, seq = 16000, 4096
    result = subprocess.run([sys.executable, "-c", PEAK_CHILD, dtype, str(vocab), str(seq)], capture_output=True,
                            text=True, timeout=300)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    estimated = seq * vocab * LOGIT_BYTES
    assert 0.8 <= measured / estimated <= 1.1, (measured, estimated)


def test_qlora_on_cpu_matches_within_five_percent(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("bitsandbytes")
    from peft import LoraConfig, get_peft_model
    from transformers import BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=H, intermediate_size=INTER, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                         num_key_value_heads=KV, vocab_size=VOCAB, pad_token_id=None, bos_token_id=None,
                         eos_token_id=None)
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(tmp_path)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4")
    model = LlamaForCausalLM.from_pretrained(tmp_path, quantization_config=quant, dtype=torch.bfloat16,
                                             device_map="cpu")
    model = get_peft_model(model, LoraConfig(r=8, target_modules="all-linear"))
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.to(torch.bfloat16)  # TRL casts adapters to bf16 on a quantized base
    model.train()
    seen = {}

    def keep(tensor):
        storage = tensor.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return tensor

    ids = torch.randint(0, VOCAB, (BATCH, SEQ))
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    measured = sum(n for (ptr, _), n in seen.items() if ptr not in params)
    estimated = estimated_saved(precision="bf16", adapter="qlora", quant_bits=4, adapter_fp32=False)
    assert estimated == pytest.approx(measured, rel=0.05)
