"""The memory estimate against figures computed by hand from first principles."""

from __future__ import annotations

import pytest

from ftdoctor.trainer.memory.estimate import (
    CUDA_CONTEXT_BYTES, LOGIT_BYTES, NF4_BYTES, MemoryInputs, estimate)
from ftdoctor.trainer.memory.fit import ways_to_fit
from ftdoctor.trainer.model.shape import ModelShape, lookup_known
from ftdoctor.trainer.plan import Sharding

TINY = ModelShape("llama", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                  head_dim=16, intermediate_size=128, vocab_size=400)
LLAMA2_7B = lookup_known("meta-llama/Llama-2-7b-hf").shape


def test_tiny_parameter_count_by_hand():
    per_layer = 4 * 64 * 64 + 3 * 64 * 128 + 2 * 64  # q,k,v,o + gate,up,down + two norms
    assert TINY.total_params == 400 * 64 * 2 + 2 * per_layer + 64  # embeddings + head + layers + final norm


def test_full_fine_tune_fp32_adamw_is_16_bytes_per_parameter():
    est = estimate(MemoryInputs(TINY, precision="fp32", gpu=False))
    p = TINY.total_params
    assert (est.part("weights"), est.part("optimizer states")) == (4 * p, 8 * p)
    assert est.trainable_params == p


def test_full_fine_tune_bf16_keeps_states_in_bf16():
    est = estimate(MemoryInputs(TINY, precision="bf16", gpu=False, grad_accum=2))
    p = TINY.total_params
    assert (est.part("weights"), est.part("gradients"), est.part("optimizer states")) == (2 * p, 2 * p, 4 * p)


def test_lora_trainable_parameters_llama2_7b_q_v_rank_8():
    # PEFT's well-known figure for Llama-2-7B with r=8 on q_proj and v_proj: 4,194,304 trainable parameters
    est = estimate(MemoryInputs(LLAMA2_7B, adapter="lora", lora_r=8, lora_targets=("q_proj", "v_proj")))
    assert est.trainable_params == 32 * 2 * 8 * (4096 + 4096) == 4_194_304
    assert est.part("optimizer states") == 4_194_304 * 8  # two float32 moments
    assert est.part("weights") == LLAMA2_7B.total_params * 2


def test_qlora_weights_4_bit_linear_layers_16_bit_rest():
    est = estimate(MemoryInputs(LLAMA2_7B, quant_bits=4, adapter="qlora", lora_targets=("q_proj",)))
    linear = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    assert LLAMA2_7B.linear_params == linear
    assert est.part("weights") == int(linear * NF4_BYTES + (LLAMA2_7B.total_params - linear) * 2)
    assert 3.5e9 < est.part("weights") < 3.9e9  # the familiar ~3.7 GB of a 4-bit 7B model


def test_modules_to_save_are_trained_copies_in_the_weights_dtype():
    """PEFT's ModulesToSaveWrapper keeps the frozen embedding and head and trains a copy of each, in the model's
    dtype (only lora_A/lora_B are upcast to float32): for Llama-2-7B in bf16, 2 × 32000 × 4096 = 262,144,000
    more parameters, each with 2 bytes of weights, 2 of gradients and 2 × 2 of AdamW moments."""
    base = MemoryInputs(LLAMA2_7B, adapter="lora", lora_r=8, lora_targets=("q_proj", "v_proj"), grad_accum=2)
    saved = MemoryInputs(LLAMA2_7B, adapter="lora", lora_r=8, lora_targets=("q_proj", "v_proj"), grad_accum=2,
                         modules_to_save=("embed_tokens", "lm_head"))
    a, b = estimate(base), estimate(saved)
    copies = 2 * 32000 * 4096
    assert b.trainable_params - a.trainable_params == copies == 262_144_000
    assert b.part("weights") == a.part("weights") == LLAMA2_7B.total_params * 2  # the frozen originals
    assert a.part("adapter weights") == 4_194_304 * 4  # LoRA's matrices, float32
    assert b.part("adapter weights") - a.part("adapter weights") == copies * 2
    assert b.part("gradients") - a.part("gradients") == copies * 2
    assert b.part("optimizer states") - a.part("optimizer states") == copies * 4
    assert a.part("gradients") == 4_194_304 * 4  # the adapters themselves stay float32


def test_eight_bit_optimizer_states():
    est = estimate(MemoryInputs(TINY, precision="bf16", optimizer="adamw_bnb_8bit", gpu=False))
    assert est.part("optimizer states") == 2 * TINY.total_params


@pytest.mark.parametrize("stage, per_param", [(0, 16), (1, 4 + 12 / 64), (2, 2 + 14 / 64), (3, 16 / 64)])
def test_zero_stages_follow_the_zero_paper(stage, per_param):
    """ZeRO (Rajbhandari et al. 2019), mixed-precision Adam: 2Ψ weights + 2Ψ gradients + 12Ψ optimizer states,
    sharded by stage over N = 64 processes (their Figure 1: 7.5B parameters → 120, 31.4, 16.6, 1.9 GB)."""
    x = MemoryInputs(LLAMA2_7B, sharding=Sharding("zero", stage), processes=64, grad_accum=2)
    est = estimate(x)
    working = 2 * LLAMA2_7B.layer_params() * 2 if stage == 3 else 0
    states = est.part("weights") - working + est.part("gradients") + est.part("optimizer states")
    assert states == pytest.approx(per_param * LLAMA2_7B.total_params, rel=1e-6)


def test_fsdp_full_shard_and_offload():
    full = estimate(MemoryInputs(LLAMA2_7B, sharding=Sharding("fsdp", 3, version=2), processes=8))
    offload = estimate(MemoryInputs(LLAMA2_7B, sharding=Sharding("fsdp", 3, True, True, version=2), processes=8))
    assert full.part("optimizer states") == LLAMA2_7B.total_params * 4 // 8
    assert offload.part("optimizer states") == 0 and offload.cpu_bytes > 0


def test_logits_buffer():
    x = MemoryInputs(TINY, precision="bf16", micro_batch=3, sequence_len=100, gpu=False)
    assert estimate(x).part("logits and loss") == 3 * 100 * 400 * LOGIT_BYTES


def test_preference_training_doubles_the_batch_and_dpo_full_needs_a_reference_model():
    sft = estimate(MemoryInputs(LLAMA2_7B, sequence_len=1024))
    dpo = estimate(MemoryInputs(LLAMA2_7B, sequence_len=1024, method="dpo", reference_model=True))
    assert dpo.part("logits and loss") == 2 * sft.part("logits and loss")
    assert dpo.part("weights") == 2 * sft.part("weights")


def test_gradient_checkpointing_keeps_one_hidden_state_per_layer():
    x = MemoryInputs(LLAMA2_7B, micro_batch=1, sequence_len=2048)
    without, with_gc = estimate(x), estimate(MemoryInputs(LLAMA2_7B, micro_batch=1, sequence_len=2048,
                                                            gradient_checkpointing=True))
    assert with_gc.saved_activations < without.saved_activations / 10
    assert with_gc.saved_activations >= 32 * 2048 * 4096 * 2


def test_eager_attention_grows_with_the_square_of_the_length():
    def acts(s, attention):
        return estimate(MemoryInputs(TINY, sequence_len=s, attention=attention, gpu=False)).saved_activations
    grow_eager = acts(2048, "eager") - acts(1024, "eager")
    grow_sdpa = acts(2048, "sdpa") - acts(1024, "sdpa")
    assert grow_eager > 5 * grow_sdpa


def test_gpu_overheads():
    est = estimate(MemoryInputs(TINY))
    assert est.part("CUDA context") == CUDA_CONTEXT_BYTES
    tensors = est.peak_bytes - est.part("CUDA context") - est.part("allocator reserve")
    assert est.part("allocator reserve") == int(tensors * 0.10)


def test_ways_to_fit_a_7b_full_fine_tune_on_24_gib():
    x = MemoryInputs(LLAMA2_7B, micro_batch=4, sequence_len=2048)
    capacity = 24 * 2 ** 30
    assert estimate(x).peak_bytes > capacity
    changes = ways_to_fit(x, capacity)
    assert changes and all(c.estimate.peak_bytes <= capacity for c in changes)
    assert any("lora" in c.summary for c in changes)
