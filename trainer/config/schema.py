"""The training config schema: Axolotl's key names, each documented once (the `key(...)` description).

`docs/config.md` is generated from this module (`python -m ftdoctor.trainer.config.docs`), and a test
keeps the two identical. Value vocabularies below are Axolotl v0.18's (src/axolotl/utils/schemas/enums.py
at axolotl-ai-cloud/axolotl@067b021) and transformers 5.23's (OptimizerNames, SchedulerType).

Cross-field rules (qlora without 4-bit, DeepSpeed with FSDP, ...) are not here: they are preflight rules
(`ftdoctor.trainer.rules`), so that each one has a code, a severity and a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftdoctor.trainer.config.fields import extras, key

ADAPTERS = ("lora", "qlora", "llama-adapter")
RL_METHODS = ("dpo", "ipo", "kto", "orpo", "simpo", "grpo", "gdpo", "ebft")
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention", "xformers", "sage", "fp8")
TRANSFORMERS_OPTIMIZERS = (
    "adamw_torch", "adamw_torch_fused", "adamw_torch_xla", "adamw_torch_npu_fused", "adafactor", "adamw_anyprecision",
    "adamw_torch_4bit", "adamw_torch_8bit", "ademamix", "sgd", "adagrad", "adamw_bnb_8bit", "adamw_8bit",
    "ademamix_8bit", "lion_8bit", "lion_32bit", "paged_adamw_32bit", "paged_adamw_8bit", "paged_ademamix_32bit",
    "paged_ademamix_8bit", "paged_lion_32bit", "paged_lion_8bit", "rmsprop", "rmsprop_bnb", "rmsprop_bnb_8bit",
    "rmsprop_bnb_32bit", "galore_adamw", "galore_adamw_8bit", "galore_adafactor", "galore_adamw_layerwise",
    "galore_adamw_8bit_layerwise", "galore_adafactor_layerwise", "lomo", "adalomo", "grokadamw",
    "schedule_free_radam", "schedule_free_adamw", "schedule_free_sgd", "apollo_adamw", "apollo_adamw_layerwise",
    "stable_adamw",
)
AXOLOTL_OPTIMIZERS = (
    "optimi_adamw", "ao_adamw_4bit", "ao_adamw_8bit", "ao_adamw_fp8", "adopt_adamw", "came_pytorch", "muon", "dion",
    "sinkgd", "flash_adamw", "flash_adam", "flash_sgd", "flash_sgdw", "flash_lion", "q_galore_adamw8bit",
)
SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
    "one_cycle", "rex",
)
CHAT_TEMPLATES = (
    "alpaca", "chatml", "mistral_v1", "mistral_v2v3", "mistral_v3_tekken", "mistral_v7_tekken", "gemma", "cohere",
    "llama3", "llama3_2_vision", "llama4", "phi_3", "phi_35", "deepseek_v2", "deepseek_v3", "jamba", "jinja",
    "qwen_25", "qwen3", "qwen3_5", "falcon_h1", "nemotron_h", "tokenizer_default", "exaone", "exaone4", "metharme",
    "pixtral", "llava", "qwen2_vl", "gemma3", "gemma3n", "gemma4", "gemma4_unified", "command_a",
    "command_a_tool_use", "command_a_rag", "aya",
)
TRAIN_ON_EOS = ("all", "turn", "last", "none")

MODEL, ADAPTER, QUANT, DATA, LENGTH, BATCH, OPTIM, PRECISION, ATTN, CKPT, DIST, RL, CHAT, EVAL, SAVE, TRACK = (
    "Model", "Adapter (LoRA / QLoRA)", "Quantized loading", "Datasets", "Sequence length and packing",
    "Batch and schedule", "Optimizer", "Precision", "Attention", "Gradient checkpointing",
    "Multi-GPU (DeepSpeed, FSDP, DDP)", "Preference and RL training", "Chat template and tokens", "Evaluation",
    "Output and checkpoints", "Experiment tracking",
)


@dataclass(frozen=True)
class DatasetConfig:
    """One entry of `datasets:` (or `test_datasets:`)."""

    path: str | None = key(None, "A local file or directory (resolved against this config file's folder), or a "
                           "hub dataset name. A local path that does not exist is an error, never a hub lookup.",
                           required=True)
    type: str | dict[str, Any] | None = key(
        None, "How examples are turned into text: `chat_template` (conversations), `alpaca` (instruction/input/"
        "output), `completion` (raw `text`), `chat_template.default` / `chatml.*` / `llama3.*` (preference pairs), "
        "`bradley_terry.chat_template` (reward model), `stepwise_supervised`, or a mapping of `field_*` names.")
    split: str | None = key(None, "Split to read (default `train`).")
    name: str | None = key(None, "The dataset's configuration name (hub datasets with several configurations).")
    data_files: str | tuple[str, ...] | None = key(None, "Files inside `path` to read, when `path` is a directory "
                                                   "or a hub dataset.")
    ds_type: str | None = key(None, "Force the file format: json, parquet, csv, text, arrow.",
                              choices=("json", "parquet", "csv", "text", "arrow"))
    field: str | None = key(None, "For `completion` data: the column holding the text (default `text`).")
    field_messages: str | None = key(None, "For `chat_template` data: the column holding the list of messages "
                                     "(default `messages`).")
    field_chosen: str | None = key(None, "Preference data: the column with the preferred answer (default `chosen`).")
    field_rejected: str | None = key(None, "Preference data: the column with the rejected answer "
                                     "(default `rejected`).")
    field_thinking: str | None = key(None, "The message key holding a reasoning trace.", trainer=False)
    template_thinking_key: str | None = key(None, "The key the chat template expects for the reasoning trace.",
                                            trainer=False)
    message_property_mappings: dict[str, str] | None = key(
        None, "Message keys to template keys, e.g. `{role: from, content: value}` for ShareGPT-style data "
        "(default `{role: role, content: content}`).")
    roles: dict[str, Any] | None = key(None, "Role names in the data mapped to template roles, e.g. "
                                       "`{user: [human], assistant: [gpt]}`.")
    roles_to_train: tuple[str, ...] | None = key(None, "Roles whose tokens carry loss (default: assistant).")
    train_on_eos: str | None = key(None, "Which end-of-sequence tokens carry loss.", choices=TRAIN_ON_EOS)
    train_on_eot: str | None = key(None, "Which end-of-turn tokens carry loss (default: as train_on_eos).",
                                   choices=TRAIN_ON_EOS)
    chat_template: str | None = key(None, "A chat template for this dataset only (see the top-level key).")
    chat_template_jinja: str | None = key(None, "A Jinja chat template (or a path to one) for this dataset.")
    drop_system_message: bool | None = key(None, "Drop system turns from this dataset.")
    revision: str | None = key(None, "Hub revision (commit, tag or branch) of a hub dataset.")
    trust_remote_code: bool | None = key(None, "Allow a hub dataset's loading script to run.")
    extras: dict[str, Any] = extras()


@dataclass(frozen=True)
class SpecialTokens:
    """`special_tokens:` tokens the tokenizer must have; new ones are added to the vocabulary."""

    bos_token: str | None = key(None, "Beginning-of-sequence token.")
    eos_token: str | None = key(None, "End-of-sequence token (also what ends a generated answer).")
    pad_token: str | None = key(None, "Padding token.")
    unk_token: str | None = key(None, "Unknown-token placeholder.")
    additional_special_tokens: tuple[str, ...] | None = key(None, "More special tokens to add.")


@dataclass(frozen=True)
class FsdpConfig:
    """`fsdp_config:` options of PyTorch FSDP (the `fsdp_` prefix Axolotl used to require is accepted)."""

    fsdp_version: int | None = key(None, "1 (FullyShardedDataParallel) or 2 (fully_shard).", choices=(1, 2))
    sharding_strategy: str | None = key(
        None, "FSDP1: FULL_SHARD (params, grads, optimizer), SHARD_GRAD_OP (grads, optimizer), NO_SHARD, "
        "HYBRID_SHARD.", choices=("FULL_SHARD", "SHARD_GRAD_OP", "NO_SHARD", "HYBRID_SHARD", "_HYBRID_SHARD_ZERO2"))
    reshard_after_forward: bool | None = key(None, "FSDP2: free gathered parameters after forward (FULL_SHARD); "
                                             "false keeps them (SHARD_GRAD_OP).")
    offload_params: bool | None = key(None, "Keep parameters (and their optimizer states) in CPU memory.")
    activation_checkpointing: bool | None = key(None, "FSDP's own activation checkpointing. Do not combine with "
                                                "`gradient_checkpointing`.")
    use_orig_params: bool | None = key(None, "FSDP1: keep the original parameters (needed to mix frozen and "
                                       "trainable parameters in one wrapped unit).")
    auto_wrap_policy: str | None = key(None, "How modules are wrapped.",
                                       choices=("TRANSFORMER_BASED_WRAP", "SIZE_BASED_WRAP", "NO_WRAP"))
    transformer_layer_cls_to_wrap: str | None = key(None, "The decoder layer class to wrap, e.g. "
                                                    "`LlamaDecoderLayer`.")
    min_num_params: int | None = key(None, "SIZE_BASED_WRAP: the smallest module to wrap.", minimum=1)
    state_dict_type: str | None = key(None, "How checkpoints are saved.",
                                      choices=("FULL_STATE_DICT", "LOCAL_STATE_DICT", "SHARDED_STATE_DICT"))
    final_state_dict_type: str | None = key(None, "How the final model is saved.",
                                            choices=("FULL_STATE_DICT", "LOCAL_STATE_DICT", "SHARDED_STATE_DICT"))
    cpu_ram_efficient_loading: bool | None = key(None, "Load weights on rank 0 only and broadcast them.")
    sync_module_states: bool | None = key(None, "Broadcast rank 0's module states at start.")
    cpu_offload_pin_memory: bool | None = key(None, "Pin offloaded CPU memory (FSDP2).")
    limit_all_gathers: bool | None = key(None, "FSDP1: rate-limit all-gathers to bound memory.")
    backward_prefetch: str | None = key(None, "FSDP1: BACKWARD_PRE or BACKWARD_POST.",
                                        choices=("BACKWARD_PRE", "BACKWARD_POST", "NO_PREFETCH"))
    mixed_precision_policy: str | None = key(None, "Mixed precision policy, e.g. `bf16`.")
    extras: dict[str, Any] = extras()


@dataclass(frozen=True)
class TrlOptions:
    """`trl:` options passed to the TRL trainer of the `rl` method (GRPO above all)."""

    beta: float | None = key(None, "KL / preference temperature (DPO 0.1; GRPO 0.0 = no reference model).",
                             minimum=0)
    loss_type: str | tuple[str, ...] | None = key(None, "The method's loss variant(s), e.g. `sigmoid` (DPO), "
                                                  "`dapo` (GRPO).")
    num_generations: int | None = key(None, "GRPO: completions sampled per prompt (at least 2).", minimum=1)
    max_completion_length: int | None = key(None, "GRPO: the longest completion generated.", minimum=1)
    reward_funcs: tuple[str, ...] | None = key(None, "GRPO: reward functions as `module.function` names.")
    reward_weights: tuple[float, ...] | None = key(None, "GRPO: a weight per reward function.")
    temperature: float | None = key(None, "Sampling temperature for generation.", minimum=0)
    use_vllm: bool | None = key(None, "Generate with vLLM (a server or colocated).")
    vllm_mode: str | None = key(None, "`server` or `colocate`.", choices=("server", "colocate"))
    generation_batch_size: int | None = key(None, "GRPO: prompts × generations per generation round.", minimum=1)
    extras: dict[str, Any] = extras()


@dataclass(frozen=True)
class TrainConfig:
    """A training config, as `ftdoctor train` and Axolotl read it."""

    # Model
    base_model: str | None = key(None, "The model to fine-tune: a local directory (resolved against this file's "
                                 "folder) with config.json and weights, or a hub name such as "
                                 "`Qwen/Qwen2.5-0.5B`, read from the local cache when present.",
                                 group=MODEL, required=True)
    base_model_config: str | None = key(None, "Where to read the model's config.json when not from base_model.",
                                        group=MODEL)
    model_type: str | None = key(None, "The transformers class that loads the model, e.g. "
                                 "`AutoModelForCausalLM`.", group=MODEL)
    tokenizer_type: str | None = key(None, "The tokenizer class, e.g. `AutoTokenizer`.", group=MODEL)
    tokenizer_config: str | None = key(None, "A directory or hub name to load the tokenizer from instead of "
                                       "base_model.", group=MODEL)
    trust_remote_code: bool | None = key(None, "Run the model repository's own Python code (needed by models "
                                         "whose config.json has an `auto_map`).", group=MODEL)
    model_config: dict[str, Any] | None = key(None, "Overrides applied to the model's config.json, e.g. "
                                              "`rope_scaling`.", group=MODEL)
    bfloat16: bool | None = key(None, "Load the weights in bfloat16 without mixed precision.", group=MODEL)
    float16: bool | None = key(None, "Load the weights in float16 without mixed precision.", group=MODEL)

    # Adapter
    adapter: str | None = key(None, "Train an adapter instead of all weights: `lora`, or `qlora` (LoRA on a "
                              "4-bit base). Unset means full fine-tuning.", group=ADAPTER, choices=ADAPTERS)
    lora_model_dir: str | None = key(None, "Start from an existing adapter in this directory.", group=ADAPTER)
    lora_r: int | None = key(None, "LoRA rank (the adapter matrices' inner size).", group=ADAPTER, minimum=1)
    lora_alpha: float | None = key(None, "LoRA scaling numerator (the update is scaled by alpha / r).",
                                   group=ADAPTER, minimum=0)
    lora_dropout: float | None = key(None, "Dropout on the LoRA input (0.0 when unset).", group=ADAPTER,
                                     minimum=0, maximum=1)
    lora_target_modules: str | tuple[str, ...] | None = key(
        None, "Module names (or regular expressions) that get LoRA, e.g. `[q_proj, v_proj]`; checked against the "
        "model's real module names.", group=ADAPTER)
    lora_target_linear: bool | None = key(None, "Put LoRA on every linear layer except the output head.",
                                          group=ADAPTER)
    lora_modules_to_save: tuple[str, ...] | None = key(
        None, "Modules trained in full and saved with the adapter, e.g. `[embed_tokens, lm_head]` when new tokens "
        "are added.", group=ADAPTER)
    peft_use_dora: bool | None = key(None, "DoRA: weight-decomposed LoRA.", group=ADAPTER)
    peft_use_rslora: bool | None = key(None, "rsLoRA: scale by alpha / sqrt(r).", group=ADAPTER)
    merge_lora: bool | None = key(None, "After training, merge the adapter into a 16-bit copy of the base model.",
                                  group=ADAPTER)

    # Quantized loading
    load_in_4bit: bool | None = key(None, "Load the base model in 4-bit with bitsandbytes (QLoRA).", group=QUANT)
    load_in_8bit: bool | None = key(None, "Load the base model in 8-bit with bitsandbytes.", group=QUANT)
    bnb_config_kwargs: dict[str, Any] | None = key(
        None, "bitsandbytes options, e.g. `{bnb_4bit_quant_type: nf4, bnb_4bit_use_double_quant: true, "
        "bnb_4bit_quant_storage: bfloat16}`.", group=QUANT)
    gptq: bool | None = key(None, "The base model is GPTQ-quantized.", group=QUANT)

    # Datasets
    datasets: tuple[DatasetConfig, ...] | None = key(None, "Training data: a list of datasets (see below).",
                                                     group=DATA)
    test_datasets: tuple[DatasetConfig, ...] | None = key(None, "Evaluation data, instead of a val_set_size "
                                                          "split.", group=DATA)
    pretraining_dataset: Any = key(None, "Streamed pretraining data (a dataset or a list of them).", group=DATA)
    val_set_size: float | None = key(None, "Hold out this share (below 1) or number of examples for evaluation "
                                     "(0.0 when unset).", group=DATA, minimum=0)
    dataset_prepared_path: str | None = key(None, "Where Axolotl caches tokenized data. Its cache key does not "
                                            "include the data files' contents.", group=DATA, trainer=False)
    streaming: bool | None = key(None, "Stream the datasets instead of preparing them first.", group=DATA)
    remove_unused_columns: bool | None = key(None, "Drop dataset columns the trainer does not use (must be "
                                             "false for KTO).", group=DATA)

    # Sequence length and packing
    sequence_len: int | None = key(None, "The longest tokenized example, in tokens (512 when unset).",
                                   group=LENGTH, minimum=1)
    excess_length_strategy: str | None = key(None, "What happens to longer examples: `drop` (the default), "
                                             "`truncate`, or `raise`.", group=LENGTH,
                                             choices=("drop", "truncate", "raise"))
    sample_packing: bool | None = key(None, "Pack several short examples into each sequence_len row.",
                                      group=LENGTH)
    eval_sample_packing: bool | None = key(None, "Pack evaluation examples too.", group=LENGTH)
    pad_to_sequence_len: bool | None = key(None, "Pad every batch to sequence_len (steady memory use).",
                                           group=LENGTH)
    train_on_inputs: bool | None = key(None, "Also compute loss on prompts / user turns (false when unset: "
                                       "loss on answers only).", group=LENGTH)
    group_by_length: bool | None = key(None, "Batch examples of similar length together.", group=LENGTH)

    # Batch and schedule
    micro_batch_size: int | None = key(None, "Examples per GPU per forward pass (1 when unset).", group=BATCH,
                                       minimum=1)
    gradient_accumulation_steps: int | None = key(None, "Forward passes per optimizer step (1 when unset).",
                                                  group=BATCH, minimum=1)
    batch_size: int | None = key(None, "Total examples per optimizer step per GPU; set this or "
                                 "gradient_accumulation_steps, not both.", group=BATCH, minimum=1)
    eval_batch_size: int | None = key(None, "Examples per GPU per evaluation pass (default micro_batch_size).",
                                      group=BATCH, minimum=1)
    num_epochs: float | None = key(None, "Passes over the training data (1.0 when unset).", group=BATCH,
                                   minimum=0)
    max_steps: int | None = key(None, "Stop after this many optimizer steps (overrides num_epochs).", group=BATCH,
                                minimum=1)
    learning_rate: float | None = key(None, "Peak learning rate.", group=BATCH, required=True, minimum=0)
    lr_scheduler: str | None = key(None, "Learning-rate schedule (`cosine` when unset).", group=BATCH,
                                   choices=SCHEDULERS)
    lr_scheduler_kwargs: dict[str, Any] | None = key(None, "Extra arguments of the schedule.", group=BATCH)
    cosine_min_lr_ratio: float | None = key(None, "Cosine schedule floor, as a share of learning_rate.",
                                            group=BATCH, minimum=0, maximum=1)
    warmup_steps: int | None = key(None, "Linear warm-up steps. Exclusive with warmup_ratio.", group=BATCH,
                                   minimum=0)
    warmup_ratio: float | None = key(None, "Warm-up as a share of all steps. Exclusive with warmup_steps.",
                                     group=BATCH, minimum=0, maximum=1)
    weight_decay: float | None = key(None, "Decoupled weight decay.", group=BATCH, minimum=0)
    max_grad_norm: float | None = key(None, "Gradient clipping norm.", group=BATCH, minimum=0)
    seed: int | None = key(None, "Random seed for data order and initialization.", group=BATCH)

    # Optimizer
    optimizer: str | None = key(None, "Optimizer (`adamw_torch_fused` when unset); `*_8bit` and `paged_*` "
                                "ones use bitsandbytes.", group=OPTIM,
                                choices=TRANSFORMERS_OPTIMIZERS + AXOLOTL_OPTIMIZERS)
    optim_args: Any = key(None, "Extra optimizer arguments.", group=OPTIM)
    adam_beta1: float | None = key(None, "Adam beta1.", group=OPTIM, minimum=0, maximum=1)
    adam_beta2: float | None = key(None, "Adam beta2.", group=OPTIM, minimum=0, maximum=1)
    adam_epsilon: float | None = key(None, "Adam epsilon.", group=OPTIM, minimum=0)

    # Precision
    bf16: bool | str | None = key(None, "bfloat16 mixed precision: true, false, or `auto` (the default: on when "
                                  "the GPU supports it).", group=PRECISION, choices=("auto",))
    fp16: bool | None = key(None, "float16 mixed precision (for GPUs without bfloat16).", group=PRECISION)
    tf32: bool | str | None = key(None, "Allow TF32 matmuls on Ampere and newer: true, false or `auto`.",
                                  group=PRECISION, choices=("auto",))
    fp8: bool | None = key(None, "FP8 training (Hopper / Ada and newer, with torchao).", group=PRECISION)

    # Attention
    attn_implementation: str | None = key(
        None, "Attention kernel: eager, sdpa, flash_attention_2, flash_attention_3, flex_attention, xformers, "
        "sage, fp8, or a hub kernel path containing `/`. Replaces the legacy `flash_attention: true` flags.",
        group=ATTN, choices=ATTENTION)

    # Gradient checkpointing
    gradient_checkpointing: bool | str | None = key(
        None, "Recompute activations in the backward pass to save memory: true, false, or `offload` / "
        "`offload_disk` (legacy spellings of activation_offloading).", group=CKPT,
        choices=("offload", "offload_disk"))
    gradient_checkpointing_kwargs: dict[str, Any] | None = key(
        None, "Options of gradient checkpointing, e.g. `{use_reentrant: false}`. Axolotl sets "
        "`use_reentrant: true` when this is unset for non-RL training.", group=CKPT)
    activation_offloading: bool | str | None = key(None, "Move checkpointed activations to CPU memory (or disk).",
                                                   group=CKPT, choices=("legacy", "disk", "hidden_states"))
    unfrozen_parameters: tuple[str, ...] | None = key(None, "Full fine-tuning of only the parameters matching "
                                                      "these regular expressions.", group=CKPT)

    # Multi-GPU
    deepspeed: str | dict[str, Any] | None = key(
        None, "A DeepSpeed JSON config (path relative to this file, or inline): ZeRO stage 1/2/3 and offload.",
        group=DIST)
    fsdp: str | tuple[str, ...] | None = key(None, "Legacy FSDP switch: e.g. `[full_shard, auto_wrap]` "
                                             "(prefer fsdp_config with fsdp_version).", group=DIST)
    fsdp_config: FsdpConfig | None = key(None, "FSDP options (see below).", group=DIST)
    fsdp_version: int | None = key(None, "FSDP version: 1 or 2.", group=DIST, choices=(1, 2))
    ddp_find_unused_parameters: bool | None = key(None, "DDP: look for parameters without gradients every step.",
                                                  group=DIST)
    context_parallel_size: int | None = key(None, "GPUs that split one sequence (ring attention; needs "
                                            "flash attention).", group=DIST, minimum=1)
    tensor_parallel_size: int | None = key(None, "GPUs that split each layer's weights.", group=DIST, minimum=1)

    # Preference and RL
    rl: str | None = key(None, "Preference / RL method: dpo, ipo, kto, orpo, simpo, grpo, gdpo, ebft. Unset: "
                         "supervised fine-tuning.", group=RL, choices=RL_METHODS)
    rl_beta: float | None = key(None, "The method's beta (DPO temperature, ORPO/KTO weight).", group=RL, minimum=0)
    trl: TrlOptions | None = key(None, "TRL trainer options (GRPO generation and rewards; see below).", group=RL)
    orpo_alpha: float | None = key(None, "ORPO: weight of the odds-ratio loss.", group=RL, minimum=0)
    kto_desirable_weight: float | None = key(None, "KTO: weight of desirable examples.", group=RL, minimum=0)
    kto_undesirable_weight: float | None = key(None, "KTO: weight of undesirable examples.", group=RL, minimum=0)
    reward_model: bool | None = key(None, "Train a reward model (sequence classification) on preference pairs.",
                                    group=RL)
    process_reward_model: bool | None = key(None, "Train a process reward model (token classification on "
                                            "reasoning steps).", group=RL)
    num_labels: int | None = key(None, "Classification labels of a (process) reward model.", group=RL, minimum=1)

    # Chat template and tokens
    chat_template: str | None = key(
        None, "The chat template for conversational data: `tokenizer_default` (the tokenizer's own), a named one "
        "(chatml, llama3, qwen3, gemma3, phi_3, ...), or `jinja` with chat_template_jinja.", group=CHAT,
        choices=CHAT_TEMPLATES)
    chat_template_jinja: str | None = key(None, "A Jinja chat template, or a path to a .jinja file.", group=CHAT)
    chat_template_kwargs: dict[str, Any] | None = key(None, "Variables passed to the chat template.", group=CHAT)
    default_system_message: str | None = key(None, "A system message added to conversations without one.",
                                             group=CHAT)
    eot_tokens: tuple[str, ...] | None = key(None, "End-of-turn tokens of the chat template.", group=CHAT)
    special_tokens: SpecialTokens | None = key(None, "bos/eos/pad/unk tokens (added when new).", group=CHAT)
    tokens: tuple[str, ...] | None = key(None, "New tokens to add to the vocabulary.", group=CHAT)

    # Evaluation
    eval_strategy: str | None = key(None, "When to evaluate: no, steps, epoch.", group=EVAL,
                                    choices=("no", "steps", "epoch"))
    eval_steps: float | None = key(None, "Evaluate every N steps (or a share of an epoch, below 1).", group=EVAL,
                                   minimum=0)
    evals_per_epoch: int | None = key(None, "Evaluations per epoch. Exclusive with eval_steps.", group=EVAL,
                                      minimum=0)

    # Output and checkpoints
    output_dir: str | None = key(None, "Where checkpoints and the result go (`./model-out` when unset).",
                                 group=SAVE)
    save_strategy: str | None = key(None, "When to save: no, steps, epoch, best.", group=SAVE,
                                    choices=("no", "steps", "epoch", "best"))
    save_steps: float | None = key(None, "Save every N steps (or a share of an epoch, below 1).", group=SAVE,
                                   minimum=0)
    saves_per_epoch: int | None = key(None, "Saves per epoch. Exclusive with save_steps.", group=SAVE, minimum=0)
    save_total_limit: int | None = key(None, "Keep at most this many checkpoints.", group=SAVE, minimum=1)
    save_safetensors: bool | None = key(None, "Save in safetensors format (false is not supported by "
                                        "transformers 5).", group=SAVE)
    resume_from_checkpoint: str | None = key(None, "Resume from this checkpoint directory.", group=SAVE)
    auto_resume_from_checkpoints: bool | None = key(None, "Resume from the newest checkpoint in output_dir.",
                                                    group=SAVE)
    logging_steps: int | None = key(None, "Log metrics every N steps.", group=SAVE, minimum=1)

    # Experiment tracking
    wandb_project: str | None = key(None, "Weights & Biases project (logging off when unset).", group=TRACK)
    wandb_entity: str | None = key(None, "Weights & Biases team or user.", group=TRACK)
    wandb_name: str | None = key(None, "Weights & Biases run name.", group=TRACK)
    wandb_watch: str | None = key(None, "Weights & Biases model watching: gradients, parameters, all, false.",
                                  group=TRACK)
    wandb_log_model: str | None = key(None, "Upload checkpoints to Weights & Biases: checkpoint, end, false.",
                                      group=TRACK)
    wandb_mode: str | None = key(None, "Weights & Biases mode: online, offline, disabled.", group=TRACK)
    use_tensorboard: bool | None = key(None, "Log to TensorBoard in output_dir.", group=TRACK)

    # Axolotl runtime
    plugins: tuple[str, ...] | None = key(None, "Axolotl plugins to load, e.g. "
                                          "`axolotl.integrations.liger.LigerPlugin`; their keys are read only when "
                                          "listed here.", group=MODEL, trainer=False)
    strict: bool | None = key(None, "Axolotl: only let command-line overrides set keys present in the file.",
                              group=MODEL, trainer=False)
    extras: dict[str, Any] = extras()
