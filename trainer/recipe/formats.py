"""Axolotl dataset `type`s mapped to the formats TRL trains on, one row at a time (pure; no library).

TRL reads: language modeling `{"text"}`, conversations `{"messages"}`, prompt-completion
`{"prompt", "completion"}`, preference `{"prompt", "chosen", "rejected"}` (prompt optional),
unpaired preference `{"prompt", "completion", "label"}` and prompt-only `{"prompt"}` (GRPO). A type this
module cannot map raises `UnsupportedData`, which the gate reports before anything is launched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ftdoctor.trainer.config.schema import DatasetConfig

Row = dict[str, Any]

# The Stanford Alpaca prompts, which Axolotl's `alpaca` type renders.
ALPACA = ("Below is an instruction that describes a task, paired with an input that provides further context. "
          "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
          "### Input:\n{input}\n\n### Response:\n")
ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                   "the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")
# Axolotl's default role names for `chat_template` data: each target role and the names that mean it.
DEFAULT_ROLES = {"user": ("user", "human"), "assistant": ("assistant", "gpt", "model", "bot"),
                 "system": ("system",), "tool": ("tool", "function", "ipython")}
MESSAGE_COLUMNS = ("messages", "conversations", "conversation")
SFT_TYPES = ("chat_template", "alpaca", "completion")
PREFERENCE_PROMPT_COLUMNS = {"intel": "question", "argilla": "instruction"}


class UnsupportedData(ValueError):
    """A dataset entry the trainer cannot turn into a TRL format; `fix` says what would work."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class Conversion:
    target: str  # messages | prompt_completion | text | preference | unpaired_preference | prompt_only
    convert: Callable[[Row], Row]
    keep_columns: bool = False  # GRPO: reward functions read the other columns

    def __call__(self, row: Row) -> Row:
        return self.convert(row)


def conversion(spec: DatasetConfig, data: str, columns: tuple[str, ...], *,
               default_system: str | None = None) -> Conversion:
    """How rows of this entry become the format `data` (a Method's data kind) needs."""
    kind = spec.type if isinstance(spec.type, str) or spec.type is None else "custom"
    match data:
        case "language_modeling":
            return _sft(spec, kind, columns, default_system)
        case "preference":
            return _preference(spec, kind, columns)
        case "unpaired_preference":
            return _require(columns, ("prompt", "completion", "label"), spec, "unpaired_preference",
                            "KTO reads prompt, completion and a boolean label per row")
        case "prompt_only":
            if "prompt" not in columns:
                raise UnsupportedData(f"GRPO reads a `prompt` column; `{spec.path}` has {_list(columns)}",
                                      "rename the column holding the prompts to `prompt`")
            return Conversion("prompt_only", lambda row: row, keep_columns=True)
    raise AssertionError(f"unknown data kind {data}")


def _sft(spec: DatasetConfig, kind: str | None, columns: tuple[str, ...], default_system: str | None) -> Conversion:
    base = (kind or "").split(".")[0]
    if kind == "custom":
        return Conversion("prompt_completion", _custom(spec.type))  # type: ignore[arg-type]
    if base == "alpaca" or (kind is None and {"instruction", "output"} <= set(columns)):
        return Conversion("prompt_completion", _alpaca)
    if base == "completion" or (kind is None and columns == ("text",)):
        field = spec.field or "text"
        return Conversion("text", lambda row: {"text": row[field]})
    if base == "chat_template" or (kind is None and _messages_column(spec, columns)):
        column = _messages_column(spec, columns)
        if column is None:
            raise UnsupportedData(f"`type: chat_template` reads a list of messages, but `{spec.path}` has no "
                                  f"{spec.field_messages or 'messages'} column (it has {_list(columns)})",
                                  "set field_messages to the column that holds the conversation")
        return Conversion("messages", _messages(spec, column, default_system))
    if kind is None and {"prompt", "completion"} <= set(columns):
        return Conversion("prompt_completion", lambda row: {"prompt": row["prompt"], "completion": row["completion"]})
    if kind is None and "text" in columns:
        return Conversion("text", lambda row: {"text": row["text"]})
    raise UnsupportedData(f"dataset type `{kind}` is not one ftdoctor's trainer maps to TRL's formats",
                          f"use one of {', '.join(SFT_TYPES)}, or a custom type with field_instruction/"
                          "field_output")


def _messages_column(spec: DatasetConfig, columns: tuple[str, ...]) -> str | None:
    if spec.field_messages:
        return spec.field_messages if spec.field_messages in columns else None
    return next((c for c in MESSAGE_COLUMNS if c in columns), None)


def _role_names(spec: DatasetConfig) -> dict[str, str]:
    names = {source: target for target, sources in DEFAULT_ROLES.items() for source in sources}
    for target, sources in (spec.roles or {}).items():
        for source in (sources if isinstance(sources, list) else [sources]):
            names[str(source)] = target
    return names


def _messages(spec: DatasetConfig, column: str, default_system: str | None) -> Callable[[Row], Row]:
    mapping = dict(spec.message_property_mappings or {})
    role_key, content_key = mapping.get("role", "role"), mapping.get("content", "content")
    if column in ("conversations", "conversation") and not mapping:
        role_key, content_key = "from", "value"  # ShareGPT's keys, which Axolotl maps the same way
    names = _role_names(spec)
    drop_system = bool(spec.drop_system_message)

    def convert(row: Row) -> Row:
        turns = [{"role": names.get(str(t.get(role_key, t.get("role"))), str(t.get(role_key, t.get("role")))),
                  "content": t.get(content_key, t.get("content"))} for t in row[column]]
        if drop_system:
            turns = [t for t in turns if t["role"] != "system"]
        elif default_system and (not turns or turns[0]["role"] != "system"):
            turns.insert(0, {"role": "system", "content": default_system})
        return {"messages": turns}
    return convert


def _alpaca(row: Row) -> Row:
    text_input = (row.get("input") or "").strip()
    template = ALPACA if text_input else ALPACA_NO_INPUT
    return {"prompt": template.format(instruction=row["instruction"], input=text_input),
            "completion": str(row["output"])}


def _custom(spec: dict[str, Any]) -> Callable[[Row], Row]:
    instruction = spec.get("field_instruction", "instruction")
    text_input = spec.get("field_input", "input")
    output = spec.get("field_output", "output")
    with_input = spec.get("format", "{instruction} {input} ")
    without_input = spec.get("no_input_format") or with_input.replace("{input}", "")

    def convert(row: Row) -> Row:
        value = row.get(text_input) or ""
        template = with_input if value else without_input
        return {"prompt": template.format(instruction=row[instruction], input=value), "completion": str(row[output])}
    return convert


def _preference(spec: DatasetConfig, kind: str | None, columns: tuple[str, ...]) -> Conversion:
    flavour = (kind or "").rsplit(".", 1)[-1]
    chosen = spec.field_chosen or ("chosen_response" if flavour == "argilla" else "chosen")
    rejected = spec.field_rejected or ("rejected_response" if flavour == "argilla" else "rejected")
    missing = [c for c in (chosen, rejected) if c not in columns]
    if missing:
        raise UnsupportedData(f"preference training reads {chosen} and {rejected}; `{spec.path}` lacks "
                              f"{_list(tuple(missing))} (it has {_list(columns)})",
                              "set field_chosen / field_rejected to the columns of the two answers")
    # chat_template.default reads the conversation so far from field_messages; a `prompt` column serves too
    prompt = (_messages_column(spec, columns) if flavour == "default" else None) or \
        PREFERENCE_PROMPT_COLUMNS.get(flavour, "prompt")
    return Conversion("preference", _pair(prompt if prompt in columns else None, chosen, rejected))


def _pair(prompt: str | None, chosen: str, rejected: str) -> Callable[[Row], Row]:
    """A preference row; the prompt is left out (implicit) when the data has none."""
    def convert(row: Row) -> Row:
        question = row[prompt] if prompt else None
        conversational = isinstance(question, list) or isinstance(row[chosen], (list, dict))
        out = {"chosen": _answer(row[chosen], conversational), "rejected": _answer(row[rejected], conversational)}
        if question is not None:
            out["prompt"] = question if isinstance(question, list) or not conversational else \
                [{"role": "user", "content": str(question)}]
        return out
    return convert


def _answer(value: Any, conversational: bool) -> Any:
    if isinstance(value, dict):
        return [value]
    if conversational and isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    return value


def _require(columns: tuple[str, ...], wanted: tuple[str, ...], spec: DatasetConfig, target: str,
             why: str) -> Conversion:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UnsupportedData(f"{why}; `{spec.path}` lacks {_list(tuple(missing))} (it has {_list(columns)})",
                              f"provide the columns {', '.join(wanted)}")
    return Conversion(target, lambda row: {c: row[c] for c in wanted})


def _list(columns: tuple[str, ...]) -> str:
    return ", ".join(columns) if columns else "no columns"
