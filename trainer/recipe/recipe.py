"""The guarded fine-tuning recipe: one readable class, `setup` → `train` → `cleanup`.

It runs only what ftdoctor's gate let through (the launcher writes the `Job`), in every process of the
run. Heavy libraries (torch, transformers, trl, peft, datasets, bitsandbytes) are imported inside.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from ftdoctor.trainer.config.load import load_config
from ftdoctor.trainer.recipe import arguments, callbacks, data, methods, tokens
from ftdoctor.trainer.recipe.job import Job


class RecipeError(RuntimeError):
    """The config asks for something this recipe cannot do; raised before any weight is loaded."""


class FineTuneRecipe:
    """Fine-tune a causal language model with TRL and PEFT from an Axolotl-style config.

    Features:
        - Methods: sft, dpo, ipo, kto, orpo, simpo, grpo and reward modelling, as the installed TRL offers
          them (`methods.offered()`); orpo and simpo come from `trl.experimental`.
        - LoRA, QLoRA (4-bit base + LoRA), an 8-bit base + LoRA, full fine-tuning, `unfrozen_parameters`.
        - Data: the files the launcher located (JSON lines, JSON, Parquet, CSV, save_to_disk folders, the
          local hub cache), Axolotl types mapped to TRL formats; loss on assistant turns / completions only
          unless `train_on_inputs`; packing when asked; a `val_set_size` split or `test_datasets`.
        - Chat template, pad token and added tokens set on the tokenizer; embeddings resized.
        - Progress bar and log lines (loss, grad norm, lr, tokens/s, memory), metrics.jsonl, TensorBoard when
          installed (the run says whether it logs there); checkpoints every save_steps (save_total_limit kept);
          resume from a checkpoint.
        - The adapter (or model) and tokenizer saved in output_dir; `merge_lora` writes output_dir/merged.
        - What actually ran (world size, distributed mode, model wrapper) is recorded; a world that does not
          match the launch stops the run.

    Raises:
        RecipeError: a method this TRL does not offer, a chat template that is not bundled, a reward function
            that cannot be imported.
        ftdoctor.trainer.recipe.formats.UnsupportedData: a dataset that cannot be mapped to the method's format.
        callbacks.WorldMismatch: the processes do not form the world the run was launched for.
    """

    def __init__(self, job: Job, *, extra_callbacks: tuple = (), stream: TextIO | None = None) -> None:
        self.job = job
        self.loaded = load_config(job.config_path)
        self.config = self.loaded.config
        self.method = methods.method_for(job.method)
        if self.method is None:
            raise RecipeError(f"method {job.method!r} is not one ftdoctor's trainer runs "
                              f"({methods.NOT_OFFERED.get(job.method, 'unknown method')})")
        self.stream = stream or sys.stderr
        self.extra_callbacks = tuple(extra_callbacks)
        self.trainer: Any = None
        self.token_changes: tokens.TokenChanges | None = None
        self.tensorboard: callbacks.TensorBoard | None = None
        self.outcome: dict[str, Any] = {}

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Tokenizer, data, model, adapter and trainer, in that order."""
        import os

        os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
        trainer_cls, config_cls = self._trainer_classes()
        # 1. tokenizer: template, added tokens, pad token
        tokenizer, self.token_changes = self._tokenizer()
        # 2. data in the method's TRL format, with the evaluation split
        splits = data.prepare_splits(self.config, self.job.data, self.method.data, arguments.seed_of(self.config))
        # 3. the model (quantized when asked), embeddings grown to the tokenizer
        model = self._model(tokenizer)
        # 4. the TRL config and the trainer
        self.tensorboard = callbacks.TensorBoard.choose(self.job, self.config.use_tensorboard)
        args = arguments.trainer_arguments(self.config, self.job, self.method, data_target=splits.target,
                                           has_eval=splits.eval is not None, tensorboard=self.tensorboard.on)
        self.trainer = self._trainer(trainer_cls, config_cls(**args), model, tokenizer, splits)

    def _trainer_classes(self) -> tuple[type, type]:
        try:
            return self.method.load()
        except (ImportError, AttributeError) as exc:
            raise RecipeError(f"the installed TRL does not offer {self.method.name} "
                              f"({self.method.module}.{self.method.trainer}: {exc})") from None

    def _tokenizer(self):
        try:
            return tokens.prepare_tokenizer(self.config, self.job.tokenizer_path, self.loaded.folder)
        except ValueError as exc:
            raise RecipeError(str(exc)) from None

    def _model(self, tokenizer):
        import torch

        dtype = model_dtype(self.config, self.job.device)
        options: dict[str, Any] = {"dtype": dtype, "trust_remote_code": bool(self.config.trust_remote_code),
                                   "attn_implementation": self.config.attn_implementation or "sdpa"}
        quantization = quantization_config(self.config, dtype)
        if quantization is not None:
            options.update(quantization_config=quantization, device_map={"": self._device_index()})
        model = _model_class(self.method.name).from_pretrained(self.job.model_path, **options,
                                                               **({"num_labels": 1} if self._reward else {}))
        if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
        if quantization is not None:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=self.config.gradient_checkpointing not in (None, False))
        if self.config.unfrozen_parameters and not self.config.adapter:
            _freeze_except(model, self.config.unfrozen_parameters)
        torch.manual_seed(arguments.seed_of(self.config))
        return self._with_existing_adapter(model)

    @property
    def _reward(self) -> bool:
        return self.method.name == "reward"

    def _device_index(self):
        if self.job.device != "cuda":
            return "cpu"
        import os

        return int(os.environ.get("LOCAL_RANK", "0"))

    def _with_existing_adapter(self, model):
        if not self.config.lora_model_dir:
            return model
        from peft import PeftModel

        folder = self.loaded.folder / self.config.lora_model_dir
        return PeftModel.from_pretrained(model, str(folder), is_trainable=True)

    def _trainer(self, trainer_cls, trl_config, model, tokenizer, splits):
        trainer_ref: list = []
        extra: dict[str, Any] = {}
        if self.method.name == "grpo":
            extra["reward_funcs"] = reward_functions(self.config, self.loaded.folder)
        peft = None if self.config.lora_model_dir else peft_config(self.config, self._reward)
        trainer = trainer_cls(model=model, args=trl_config, train_dataset=splits.train, eval_dataset=splits.eval,
                              processing_class=tokenizer, peft_config=peft, **extra)
        trainer_ref.append(trainer)
        self._install_callbacks(trainer, trainer_ref)
        return trainer

    def _install_callbacks(self, trainer, trainer_ref: list) -> None:
        from transformers.integrations import TensorBoardCallback
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        for replaced in (PrinterCallback, ProgressCallback):  # ours prints the progress and the log lines
            trainer.pop_callback(replaced)
        tensorboard = trainer.pop_callback(TensorBoardCallback)
        trainer.add_callback(callbacks.terminal_progress(self.job, self.stream))
        if tensorboard is not None:  # after ours, so that it logs tokens/s and memory too
            trainer.add_callback(tensorboard)
        trainer.add_callback(callbacks.runtime_check(self.job, trainer_ref))
        for callback in self.extra_callbacks:
            trainer.add_callback(callback)

    # ------------------------------------------------------------------ train
    def train(self) -> dict[str, Any]:
        """Train (from `job.resume_from` when resuming); returns the final metrics."""
        import time

        self._say_notes()
        cpu = time.process_time()
        result = self.trainer.train(resume_from_checkpoint=self.job.resume_from)
        metrics = {**result.metrics, "train_cpu_seconds": round(time.process_time() - cpu, 3)}
        if self.trainer.eval_dataset is not None:
            metrics.update(self.trainer.evaluate())
        losses = [h["loss"] for h in self.trainer.state.log_history if "loss" in h]
        self.outcome = {"metrics": metrics, "first_loss": losses[0] if losses else None,
                        "last_loss": losses[-1] if losses else None, "global_step": self.trainer.state.global_step,
                        "tensorboard": self.tensorboard.folder if self.tensorboard else None}
        return self.outcome

    def _say_notes(self) -> None:
        if not self.trainer.is_world_process_zero():
            return
        notes = [*(self.token_changes.notes if self.token_changes else ()),
                 *((self.tensorboard.note,) if self.tensorboard else ())]
        for note in notes:
            print(f"ftdoctor: {note}", file=self.stream)

    # ---------------------------------------------------------------- cleanup
    def cleanup(self) -> Path:
        """Save the adapter (or the model) and tokenizer into output_dir; merge when `merge_lora`."""
        out = Path(self.job.output_dir)
        self.trainer.save_model(str(out))  # every rank: DeepSpeed ZeRO-3 gathers the weights collectively
        if self.trainer.is_world_process_zero() and self.config.merge_lora and self.config.adapter:
            from ftdoctor.trainer.recipe.merge import merge_adapter

            merged = merge_adapter(self.job.model_path, out, out / "merged",
                                   dtype=model_dtype(self.config, self.job.device, merging=True),
                                   task="reward" if self._reward else "causal",
                                   trust_remote_code=bool(self.config.trust_remote_code))
            self.outcome["merged"] = str(merged)
        self.trainer.accelerator.wait_for_everyone()
        return out


def model_dtype(config, device: str, *, merging: bool = False):
    """float32 on the CPU unless bf16 is asked for; on a GPU the mixed-precision dtype (Axolotl's choice)."""
    import torch

    if config.bf16 is True or config.bfloat16:
        return torch.bfloat16
    if device == "cpu":
        return torch.float32
    if config.fp16 or config.float16:
        return torch.float16 if config.adapter or merging else torch.float32
    return torch.bfloat16 if config.bf16 in (None, "auto") else torch.float32


def quantization_config(config, dtype):
    if not (config.load_in_4bit or config.load_in_8bit):
        return None
    from transformers import BitsAndBytesConfig

    if config.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    options = dict(config.bnb_config_kwargs or {})
    options.setdefault("bnb_4bit_quant_type", "nf4")
    options.setdefault("bnb_4bit_compute_dtype", dtype)
    return BitsAndBytesConfig(load_in_4bit=True, **options)


def peft_config(config, reward: bool = False):
    if not config.adapter:
        return None
    from peft import LoraConfig

    targets = "all-linear" if config.lora_target_linear else config.lora_target_modules
    options: dict[str, Any] = {"r": config.lora_r or 8, "lora_dropout": config.lora_dropout or 0.0,
                               "task_type": "SEQ_CLS" if reward else "CAUSAL_LM"}
    if config.lora_alpha is not None:
        options["lora_alpha"] = config.lora_alpha
    if targets is not None:
        options["target_modules"] = targets if isinstance(targets, str) else list(targets)
    if config.lora_modules_to_save:
        options["modules_to_save"] = list(config.lora_modules_to_save)
    options.update({k: True for k, on in (("use_dora", config.peft_use_dora), ("use_rslora", config.peft_use_rslora))
                    if on})
    return LoraConfig(**options)


def reward_functions(config, folder: Path) -> list:
    """GRPO's reward functions: `module.function` names, imported with the config's folder on the path, or
    the names of TRL's own (`trl.rewards`)."""
    import importlib

    names = list((config.trl.reward_funcs if config.trl else None) or ())
    if not names:
        raise RecipeError("GRPO needs reward functions: set trl.reward_funcs to `module.function` names")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    found = []
    for name in names:
        module, _, attribute = name.rpartition(".")
        try:
            found.append(getattr(importlib.import_module(module or "trl.rewards"), attribute))
        except (ImportError, AttributeError) as exc:
            raise RecipeError(f"reward function {name!r} cannot be imported ({exc})") from None
    return found


def _model_class(method: str):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    return AutoModelForSequenceClassification if method == "reward" else AutoModelForCausalLM


def _freeze_except(model, patterns) -> None:
    import re

    compiled = [re.compile(p) for p in patterns]
    for name, parameter in model.named_parameters():
        parameter.requires_grad = any(p.search(name) for p in compiled)
