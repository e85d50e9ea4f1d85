"""TRL CLI configs (`trl sft --config cfg.yaml`, the alignment-handbook and open-r1 recipes): flat
TrainingArguments / ModelConfig / ScriptArguments keys. They are translated to the Axolotl names of the
schema so that one set of rules judges both, and every key the installed TRL would drop is reported."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ftdoctor.findings import Severity
from ftdoctor.trainer.config.source import KeyPath, Source
from ftdoctor.trainer.config.trl_vocabulary import COMMANDS, trl_vocabulary

SAME = (
    "trust_remote_code", "attn_implementation", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
    "lora_modules_to_save", "load_in_4bit", "load_in_8bit", "gradient_accumulation_steps", "learning_rate",
    "max_steps", "warmup_ratio", "weight_decay", "max_grad_norm", "seed", "bf16", "fp16", "tf32",
    "gradient_checkpointing", "gradient_checkpointing_kwargs", "deepspeed", "output_dir", "save_steps",
    "save_strategy", "save_total_limit", "logging_steps", "eval_strategy", "eval_steps", "resume_from_checkpoint",
    "remove_unused_columns", "lr_scheduler_kwargs", "fsdp",
)
RENAMED = {
    "model_name_or_path": "base_model", "max_length": "sequence_len", "packing": "sample_packing",
    "per_device_train_batch_size": "micro_batch_size", "per_device_eval_batch_size": "eval_batch_size",
    "num_train_epochs": "num_epochs", "optim": "optimizer", "lr_scheduler_type": "lr_scheduler",
    "use_dora": "peft_use_dora", "use_rslora": "peft_use_rslora", "beta": "rl_beta",
    "chat_template_path": "chat_template_jinja",
}
TRL_BLOCK = ("num_generations", "max_completion_length", "temperature", "use_vllm", "vllm_mode", "loss_type",
             "generation_batch_size", "reward_weights", "reward_funcs")
BNB = {"bnb_4bit_quant_type": "bnb_4bit_quant_type", "bnb_4bit_quant_storage": "bnb_4bit_quant_storage",
       "use_bnb_nested_quant": "bnb_4bit_use_double_quant"}
DTYPE_FLAGS = {"bfloat16": ("bf16", True), "float16": ("fp16", True), "float32": ("bf16", False)}
METHOD_HINTS = {  # keys that only one TRL command has
    "grpo": ("num_generations", "reward_funcs", "use_vllm", "max_completion_length"),
    "kto": ("desirable_weight", "undesirable_weight"),
    "dpo": ("beta", "precompute_ref_log_probs", "rpo_alpha", "max_prompt_length"),
    "reward": ("center_rewards_coefficient",),
}
RL_OF = {"dpo": "dpo", "grpo": "grpo", "kto": "kto", "orpo": "orpo"}


@dataclass(frozen=True)
class Translation:
    data: dict[str, Any]
    command: str
    command_reason: str
    untranslated: tuple[str, ...]  # TRL keys ftdoctor does not model (noted)
    not_trl: tuple[str, ...]  # keys the TRL CLI does not know (dropped silently by `trl <cmd> --config`)


def vocabulary_command(command: str) -> str:
    """ORPO has no `trl` command of its own (it lives in trl.experimental); its keys are DPO's."""
    return "dpo" if command == "orpo" else command


def is_trl_config(data: dict[str, Any]) -> bool:
    return "base_model" not in data and "model_name_or_path" in data


def translate(source: Source) -> Translation:
    data = source.data
    command, reason = infer_command(data, source.path)
    known = trl_vocabulary().commands[vocabulary_command(command)]
    out: dict[str, Any] = {}
    untranslated, not_trl = [], []
    for name, value in data.items():
        if not _translate_key(name, value, out, source):
            (untranslated if name in known else not_trl).append(name)
    if command in RL_OF:
        out.setdefault("rl", RL_OF[command])
    if command == "reward":
        out.setdefault("reward_model", True)
    return Translation(out, command, reason, tuple(untranslated), tuple(not_trl))


def infer_command(data: dict[str, Any], path: PurePath) -> tuple[str, str]:
    """The TRL command a config is for: keys only one command has, then the folder it lives in, then `beta`."""
    for command in ("grpo", "kto", "reward"):
        found = [k for k in METHOD_HINTS[command] if k in data]
        if found:
            return command, f"it sets {', '.join(found)}"
    for part in reversed(path.parts[:-1]):
        if part.lower() in (*COMMANDS, "orpo"):
            return part.lower(), f"it lives in a `{part}` folder"
    found = [k for k in METHOD_HINTS["dpo"] if k in data]
    if found:
        return "dpo", f"it sets {', '.join(found)}"
    return "sft", "no preference or RL keys"


UNSET_WHEN_NEGATIVE = ("max_steps", "save_total_limit", "eval_steps", "save_steps")


def _translate_key(name: str, value: Any, out: dict[str, Any], source: Source) -> bool:
    if name in UNSET_WHEN_NEGATIVE and isinstance(value, (int, float)) and value <= 0:
        return True  # TRL's "not set" (max_steps: -1)
    target = name if name in SAME else RENAMED.get(name)
    if name == "max_seq_length":
        target = "sequence_len"  # gone from TRL; the environment rules report it with the installed version
    if target:
        _put(out, (target,), value, source, (name,))
        return True
    if name in TRL_BLOCK:
        _put(out, ("trl", name), value, source, (name,))
        return True
    return _translate_special(name, value, out, source)


def _translate_special(name: str, value: Any, out: dict[str, Any], source: Source) -> bool:
    if name in BNB:
        _put(out, ("bnb_config_kwargs", BNB[name]), value, source, (name,))
    elif name in ("dtype", "torch_dtype") and value in DTYPE_FLAGS:
        flag, on = DTYPE_FLAGS[value]
        out.setdefault(flag, on)
        source.lines.setdefault((flag,), source.lines.get((name,), 0))
    elif name == "use_peft":
        if value is True:
            out.setdefault("adapter", "qlora" if source.data.get("load_in_4bit") else "lora")
            source.lines.setdefault(("adapter",), source.lines.get((name,), 0))
    elif name == "warmup_steps":
        key = "warmup_ratio" if isinstance(value, float) and 0 < value < 1 else "warmup_steps"
        _put(out, (key,), value, source, (name,))
    elif name in ("dataset_name", "datasets"):
        _translate_datasets(name, value, out, source)
    elif name in ("dataset_mixture", "dataset_mixer"):
        _translate_mixture(name, value, out, source)
        return False  # not a TRL CLI key: still reported, but its datasets are judged
    elif name in ("dataset_config", "dataset_train_split", "dataset_text_field"):
        return True  # folded into the dataset entry by _translate_datasets
    else:
        return False
    return True


def _translate_datasets(name: str, value: Any, out: dict[str, Any], source: Source) -> None:
    data = source.data
    if name == "dataset_name":
        entry = {"path": value, "split": data.get("dataset_train_split", "train")}
        if data.get("dataset_config"):
            entry["name"] = data["dataset_config"]
        if data.get("dataset_text_field"):
            entry["field"] = data["dataset_text_field"]
        out["datasets"] = [entry]
        source.lines.setdefault(("datasets", 0), source.lines.get((name,), 0))
        source.lines.setdefault(("datasets",), source.lines.get((name,), 0))
        return
    if isinstance(value, list):  # DatasetMixtureConfig entries: path, name, data_dir, data_files, split, columns
        out["datasets"] = [
            {k: v for k, v in item.items() if k in ("path", "name", "data_files", "split")} if isinstance(item, dict)
            else item for item in value
        ]
    else:
        out["datasets"] = value
    source.lines.setdefault(("datasets",), source.lines.get((name,), 0))


def _translate_mixture(name: str, value: Any, out: dict[str, Any], source: Source) -> None:
    """alignment-handbook / open-r1 scripts' own dataset keys: {datasets: [{id, split, ...}]} or {name: weight}."""
    if "datasets" in out:
        return
    if isinstance(value, dict) and isinstance(value.get("datasets"), list):
        entries = [{"path": d.get("id") or d.get("path"), "split": d.get("split", "train")}
                   for d in value["datasets"] if isinstance(d, dict) and (d.get("id") or d.get("path"))]
    elif isinstance(value, dict):
        entries = [{"path": str(k)} for k in value]
    else:
        return
    out["datasets"] = entries
    source.lines.setdefault(("datasets",), source.lines.get((name,), 0))
    for i in range(len(entries)):
        source.lines.setdefault(("datasets", i), source.lines.get((name,), 0))


def _put(out: dict[str, Any], path: KeyPath, value: Any, source: Source, origin: KeyPath) -> None:
    node = out
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    for end in range(1, len(path) + 1):
        source.lines.setdefault(path[:end], source.lines.get(origin, 0))
    for key_path, line in list(source.lines.items()):  # nested lines of the value follow it
        if key_path[: len(origin)] == origin and len(key_path) > len(origin):
            source.lines.setdefault(path + key_path[len(origin):], line)


# Axolotl names in findings, as a TRL CLI config writes them (the names TRL reads now: max_length, not
# max_seq_length). Only underscored names and `optimizer:` are rewritten: plain words stay English.
TRL_SPELLING = {
    "base_model": "model_name_or_path", "sequence_len": "max_length", "sample_packing": "packing",
    "micro_batch_size": "per_device_train_batch_size", "eval_batch_size": "per_device_eval_batch_size",
    "num_epochs": "num_train_epochs", "lr_scheduler": "lr_scheduler_type", "peft_use_dora": "use_dora",
    "peft_use_rslora": "use_rslora", "rl_beta": "beta", "chat_template_jinja": "chat_template_path",
}
_AXOLOTL_NAME = re.compile(r"(?<![\w.])(" + "|".join(TRL_SPELLING) + r"|optimizer(?=: ))(?![\w])")


TRL_PHRASES = {  # settings that are several keys apart in the two dialects
    "adapter: lora (with lora_target_linear: true)": "use_peft: true (with lora_target_modules: all-linear)",
    "adapter: qlora with load_in_4bit: true": "use_peft: true with load_in_4bit: true",
    "lora_target_linear: true": "lora_target_modules: all-linear",
}


def in_trl_spelling(text: str) -> str:
    """`text` with the Axolotl key names a TRL CLI config does not use replaced by TRL's."""
    for axolotl, trl in TRL_PHRASES.items():
        text = text.replace(axolotl, trl)
    return _AXOLOTL_NAME.sub(lambda m: TRL_SPELLING.get(m.group(1), "optim"), text)


def notes(translation: Translation) -> list[tuple[str, KeyPath, str, Severity, str]]:
    """(kind, path, message, severity, hint) for the validator's issue list."""
    vocab = trl_vocabulary()
    result = [("dialect", (), f"read as a TRL CLI config for `trl {translation.command}` "
               f"({translation.command_reason}); keys are judged against TRL {vocab.trl_version}",
               Severity.INFO, "")]
    for name in translation.untranslated:
        result.append(("trl-only", (name,), f"`{name}` is a TRL key that ftdoctor does not check and its own "
                       "trainer does not use", Severity.INFO, ""))
    return result
