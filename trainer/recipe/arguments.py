"""The config's Axolotl keys → keyword arguments of the TRL config class (SFTConfig, DPOConfig, ...).

Pure: no library is imported, so the mapping is tested key by key. Names follow the installed releases
(transformers 5 / TRL 1.x): `max_length` (not max_seq_length), `eval_strategy`, `activation_checkpointing`,
`warmup_steps` as a float for a ratio. A default that differs from the libraries' is chosen on purpose and
says why.
"""

from __future__ import annotations

from typing import Any

from ftdoctor.trainer.config.schema import TrainConfig
from ftdoctor.trainer.recipe.job import Job
from ftdoctor.trainer.recipe.methods import Method

DEFAULT_SEQUENCE_LEN = 512  # Axolotl's default, and what the preflight judged
DEFAULT_SEED = 42


def trainer_arguments(config: TrainConfig, job: Job, method: Method, *, data_target: str,
                      has_eval: bool, tensorboard: bool) -> dict[str, Any]:
    args: dict[str, Any] = {"output_dir": job.output_dir, **_batch(config, job), **_schedule(config),
                            **_precision(config, job), **_saving(config, has_eval), **_logging(config, tensorboard),
                            **_distributed(config, job), **method.settings}
    args.update(_method_arguments(config, method, data_target))
    if config.remove_unused_columns is not None:
        args["remove_unused_columns"] = config.remove_unused_columns
    return args


def seed_of(config: TrainConfig) -> int:
    return DEFAULT_SEED if config.seed is None else config.seed


def _batch(config: TrainConfig, job: Job) -> dict[str, Any]:
    micro = config.micro_batch_size or 1
    accumulation = config.gradient_accumulation_steps
    if accumulation is None and config.batch_size:
        accumulation = max(1, config.batch_size // (micro * job.processes))
    return {"per_device_train_batch_size": micro, "per_device_eval_batch_size": config.eval_batch_size or micro,
            "gradient_accumulation_steps": accumulation or 1, "seed": seed_of(config), "data_seed": seed_of(config)}


def _schedule(config: TrainConfig) -> dict[str, Any]:
    args: dict[str, Any] = {"learning_rate": float(config.learning_rate or 2e-5),
                            "num_train_epochs": float(config.num_epochs or 1.0), "max_steps": config.max_steps or -1,
                            "lr_scheduler_type": config.lr_scheduler or "cosine"}
    kwargs = dict(config.lr_scheduler_kwargs or {})
    if config.cosine_min_lr_ratio is not None:
        args["lr_scheduler_type"] = "cosine_with_min_lr"
        kwargs["min_lr_rate"] = config.cosine_min_lr_ratio
    if kwargs:
        args["lr_scheduler_kwargs"] = kwargs
    if config.warmup_steps is not None:
        args["warmup_steps"] = config.warmup_steps
    elif config.warmup_ratio is not None:
        args["warmup_steps"] = float(config.warmup_ratio)  # transformers 5: a float below 1 is a ratio
    for key, name in (("weight_decay", "weight_decay"), ("max_grad_norm", "max_grad_norm"), ("optimizer", "optim"),
                      ("adam_beta1", "adam_beta1"), ("adam_beta2", "adam_beta2"), ("adam_epsilon", "adam_epsilon")):
        if getattr(config, key) is not None:
            args[name] = getattr(config, key)
    return args


def _precision(config: TrainConfig, job: Job) -> dict[str, Any]:
    cpu = job.device == "cpu"
    bf16 = config.bf16 is True or bool(config.bfloat16) or (config.bf16 in (None, "auto") and not cpu
                                                             and not config.fp16)
    args: dict[str, Any] = {"bf16": bf16, "fp16": bool(config.fp16 or config.float16) and not bf16, "use_cpu": cpu}
    if config.tf32 is True:
        args["tf32"] = True
    checkpointing = config.gradient_checkpointing not in (None, False)
    args["activation_checkpointing"] = checkpointing  # TRL's default is True; Axolotl's (and ours) is off
    if checkpointing:
        args["activation_checkpointing_kwargs"] = dict(config.gradient_checkpointing_kwargs or
                                                       {"use_reentrant": config.rl is None})
    return args


def _saving(config: TrainConfig, has_eval: bool) -> dict[str, Any]:
    epochs = float(config.num_epochs or 1.0)
    args: dict[str, Any] = {"save_strategy": config.save_strategy or "epoch"}
    if config.save_steps is not None:
        args.update(save_strategy=config.save_strategy or "steps", save_steps=config.save_steps)
    elif config.saves_per_epoch:
        args.update(save_strategy="steps", save_steps=1.0 / (config.saves_per_epoch * epochs))
    if config.save_total_limit is not None:
        args["save_total_limit"] = config.save_total_limit
    if has_eval:
        args["eval_strategy"] = config.eval_strategy or ("steps" if config.eval_steps or config.evals_per_epoch
                                                         else "epoch")
        if config.eval_steps is not None:
            args["eval_steps"] = config.eval_steps
        elif config.evals_per_epoch:
            args["eval_steps"] = 1.0 / (config.evals_per_epoch * epochs)
    return args


def _logging(config: TrainConfig, tensorboard: bool) -> dict[str, Any]:
    report = ["tensorboard"] if tensorboard and config.use_tensorboard is not False else []
    return {"logging_steps": config.logging_steps or 1, "logging_first_step": True, "report_to": report or "none",
            "include_num_input_tokens_seen": "non_padding",
            "disable_tqdm": True}  # ftdoctor's own progress bar replaces the Trainer's


def _distributed(config: TrainConfig, job: Job) -> dict[str, Any]:
    args: dict[str, Any] = {"dataloader_pin_memory": job.device == "cuda"}
    if config.ddp_find_unused_parameters is not None:
        args["ddp_find_unused_parameters"] = config.ddp_find_unused_parameters
    if job.distributed == "deepspeed" and job.deepspeed is not None:
        args["deepspeed"] = job.deepspeed
    if job.distributed == "fsdp":
        args.update(fsdp=fsdp_words(config), fsdp_config=fsdp_options(config))
    return args


def fsdp_words(config: TrainConfig) -> str:
    words = [config.fsdp] if isinstance(config.fsdp, str) else list(config.fsdp or ())
    if words:
        return " ".join(words)
    options = config.fsdp_config
    shard = "shard_grad_op" if options and (options.sharding_strategy == "SHARD_GRAD_OP" or
                                            options.reshard_after_forward is False) else "full_shard"
    return f"{shard} auto_wrap" + (" offload" if options and options.offload_params else "")


def fsdp_options(config: TrainConfig) -> dict[str, Any]:
    options = config.fsdp_config
    found = {}
    if options is not None:
        from dataclasses import fields

        found = {f.name.removeprefix("fsdp_"): getattr(options, f.name) for f in fields(options)
                 if f.name not in ("extras", "sharding_strategy") and getattr(options, f.name) is not None}
        found.update({k.removeprefix("fsdp_"): v for k, v in options.extras.items()})
    version = config.fsdp_version or found.pop("version", None)
    if version:
        found["version"] = version
    return found


def _method_arguments(config: TrainConfig, method: Method, data_target: str) -> dict[str, Any]:
    trl = config.trl
    length = config.sequence_len or DEFAULT_SEQUENCE_LEN
    beta = config.rl_beta if config.rl_beta is not None else (trl.beta if trl else None)
    match method.name:
        case "sft":
            return _sft(config, data_target, length)
        case "dpo" | "ipo" | "simpo" | "kto":
            args = {"max_length": length, **({"beta": beta} if beta is not None else {})}
            if method.name == "dpo" and trl and trl.loss_type:
                args["loss_type"] = [trl.loss_type] if isinstance(trl.loss_type, str) else list(trl.loss_type)
            if method.name == "kto":
                args.update({k: v for k, v in (("desirable_weight", config.kto_desirable_weight),
                                               ("undesirable_weight", config.kto_undesirable_weight)) if v is not None})
            return args
        case "orpo":
            weight = config.orpo_alpha if config.orpo_alpha is not None else beta
            return {"max_length": length, **({"beta": weight} if weight is not None else {})}
        case "grpo":
            return _grpo(config, beta)
        case "reward":
            return {"max_length": length}
    return {}


def _sft(config: TrainConfig, data_target: str, length: int) -> dict[str, Any]:
    args: dict[str, Any] = {"max_length": length, "packing": bool(config.sample_packing)}
    if config.eval_sample_packing is not None:
        args["eval_packing"] = config.eval_sample_packing
    on_answers = not config.train_on_inputs  # Axolotl's default: loss on the answers only
    if data_target == "messages":
        args["assistant_only_loss"] = on_answers
    elif data_target == "prompt_completion":
        args["completion_only_loss"] = on_answers
    return args


def _grpo(config: TrainConfig, beta: float | None) -> dict[str, Any]:
    trl = config.trl
    args: dict[str, Any] = {"max_completion_length": (trl.max_completion_length if trl else None) or 256}
    if beta is not None:
        args["beta"] = beta
    if trl is not None:
        args.update({k: v for k, v in (("num_generations", trl.num_generations), ("temperature", trl.temperature),
                                       ("generation_batch_size", trl.generation_batch_size),
                                       ("reward_weights", list(trl.reward_weights or ()) or None),
                                       ("loss_type", trl.loss_type if isinstance(trl.loss_type, str) else None))
                     if v is not None})
    return args
