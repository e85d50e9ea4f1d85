"""Plain YAML data → a `TrainConfig`, collecting every problem instead of stopping at the first.

Each problem is an `Issue` with the key path, so the preflight can point at `config.yml:LINE`. A key that
fails validation is left at its default, and validation goes on with the rest: one run shows them all.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from typing import Any

from ftdoctor.findings import Severity
from ftdoctor.trainer.config.fields import Spec, schema_fields, spec_of
from ftdoctor.trainer.config.schema import CHAT_TEMPLATES, DatasetConfig, FsdpConfig, TrainConfig, TrlOptions
from ftdoctor.trainer.config.source import KeyPath, Source
from ftdoctor.trainer.config.vocabulary import axolotl_vocabulary, key_history

SHORT_ATTENTION = {"flash": "flash_attention_2", "flex": "flex_attention", "sdp": "sdpa"}
SECTIONS = {DatasetConfig: "datasets", FsdpConfig: "fsdp_config", TrlOptions: "trl", TrainConfig: "top"}


@dataclass(frozen=True)
class Issue:
    """One problem with the config text. `kind` picks the rule that reports it (see rules/schema.py)."""

    kind: str  # unknown | type | value | required | renamed | legacy | removed | ignored | duplicate | axolotl | plugin | conflict
    path: KeyPath
    message: str
    severity: Severity = Severity.ERROR
    hint: str = ""


class Mismatch(Exception):
    """A value is not of the declared type; the text says what was expected."""


class ItemMismatch(Mismatch):
    """One item of a list is not of the declared type: reported at the item, with the item's value."""

    def __init__(self, expected: str, path: KeyPath, value: Any) -> None:
        super().__init__(expected)
        self.path = path
        self.value = value


def validate(source: Source, exempt: tuple[str, ...] = ()) -> tuple[TrainConfig, list[Issue]]:
    """Validate `source.data`. `exempt`: required keys that have a default in the config's dialect."""
    validator = Validator(source, exempt)
    data = validator.apply_history(dict(source.data))
    config = validator.build(TrainConfig, data, ())
    config = validator.legacy_values(config)
    validator.check_required_data(config)
    for dup in source.duplicates:
        validator.add("duplicate", dup.path, f"`{_dotted(dup.path)}` is set twice (lines {dup.first_line} and "
                      f"{dup.line}); YAML keeps the last one silently", Severity.WARNING,
                      hint="delete one of them")
    return config, validator.issues


class Validator:
    def __init__(self, source: Source, exempt: tuple[str, ...] = ()) -> None:
        self.source = source
        self.exempt = exempt
        self.issues: list[Issue] = []

    def add(self, kind: str, path: KeyPath, message: str, severity: Severity = Severity.ERROR, hint: str = "") -> None:
        self.issues.append(Issue(kind, path, message, severity, hint))

    # 1. the history of key names (top level)
    def apply_history(self, data: dict[str, Any]) -> dict[str, Any]:
        history = key_history()
        for name in [k for k in data if k in history]:
            change = history[name]
            value = data.pop(name)
            getattr(self, f"_history_{change.kind}")(change, value, data)
        return data

    def _history_removed(self, change, value, data) -> None:
        if value in (None, False):
            self.add("removed", (change.key,), f"`{change.key}` {change.message}; it has no effect here",
                     Severity.INFO, hint="delete it")
            return
        self.add("removed", (change.key,), f"`{change.key}` {change.message}; Axolotl refuses the config",
                 hint=f"delete `{change.key}`")

    def _history_ignored(self, change, value, data) -> None:
        self.add("ignored", (change.key,), f"`{change.key}` {change.message}; Axolotl ignores it",
                 Severity.WARNING, hint=f"delete `{change.key}`")

    def _history_legacy(self, change, value, data) -> None:
        if change.value is not None:  # a legacy boolean flag standing for a value of the new key
            if value is not True:
                self.add("legacy", (change.key,), f"`{change.key}: {_yaml(value)}` is a legacy flag with no "
                         "effect", Severity.INFO, hint=f"delete it; use `{change.becomes}`")
                return
            value = change.value
            if change.becomes in self.source.data:
                self.add("conflict", (change.key,), f"`{change.key}: true` beside `{change.becomes}`: Axolotl refuses "
                         f"legacy flags next to the key that replaced them (\"{change.becomes}=... cannot be combined "
                         "with legacy attention flags\")", hint=f"delete `{change.key}`")
                return
        self._move(change, value, data, Severity.INFO,
                   f"legacy spelling, still accepted by Axolotl: read as `{change.becomes}: {_yaml(value)}`")

    def _history_renamed(self, change, value, data) -> None:
        self._move(change, value, data, Severity.WARNING,
                   f"not an Axolotl key: {change.reason}. Axolotl would ignore it silently; ftdoctor reads it as "
                   f"`{change.becomes}{'.' + change.into if change.into else ''}`")

    def _move(self, change, value, data, severity: Severity, message: str) -> None:
        old, new = (change.key,), (change.becomes,)
        if change.into:
            target = data.setdefault(change.becomes, {})
            if isinstance(target, dict):
                target.setdefault(change.into, value)
        elif change.becomes in data and data[change.becomes] != value:
            self.add("conflict", old, f"`{change.key}` (read as `{change.becomes}: {_yaml(value)}`) contradicts "
                     f"`{change.becomes}: {_yaml(data[change.becomes])}`", hint=f"keep only `{change.becomes}`")
            return
        else:
            data[change.becomes] = value
        self.source.lines.setdefault(new, self.source.lines.get(old, 0))
        kind = "legacy" if severity == Severity.INFO else "renamed"
        hint = f"rename it `{change.becomes}`" + (f" (inside it: `{change.into}`)" if change.into else "")
        self.add(kind, old, f"`{change.key}`: {message}", severity, hint=hint)

    # 2. dataclasses, key by key
    def build(self, cls: type, data: dict[str, Any], path: KeyPath) -> Any:
        declared = schema_fields(cls)
        hints = _hints(cls)
        section = SECTIONS.get(cls, "")
        values: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for name, raw in self._section_keys(cls, data, path).items():
            key_path = path + (name,)
            if name in declared:
                ok, value = self.field(declared[name], hints[name], raw, key_path)
                if ok:
                    values[name] = value
            elif axolotl_vocabulary().knows(section, name):
                extras[name] = raw
                self.note_axolotl_only(section, name, key_path)
            else:
                self.unknown(name, key_path, section, declared)
        for name, f in declared.items():
            if name in self.exempt and not path:
                continue
            if spec_of(f).required and values.get(name) is None and not self._failed(path + (name,)):
                self.add("required", path + (name,), f"`{_dotted(path + (name,))}` is required",
                         hint=f"add `{name}:` ({_first_sentence(spec_of(f).doc)})")
        if "extras" in {f.name for f in fields(cls)}:
            values["extras"] = extras
        return cls(**values)

    def _section_keys(self, cls: type, data: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        """Section-specific legacy spellings: `fsdp_` prefixes in fsdp_config, message_field_* in datasets."""
        if cls is FsdpConfig:
            return {self._unprefix(name, path): value for name, value in data.items()}
        if cls is DatasetConfig:
            return self._message_fields(dict(data), path)
        return data

    def _unprefix(self, name: str, path: KeyPath) -> str:
        if not name.startswith("fsdp_") or name == "fsdp_version":
            return name
        short = name.removeprefix("fsdp_")
        self.source.lines.setdefault(path + (short,), self.source.lines.get(path + (name,), 0))
        self.add("legacy", path + (name,), f"`{name}`: the `fsdp_` prefix inside fsdp_config is a legacy spelling, "
                 f"read as `{short}`", Severity.INFO, hint=f"write `{short}`")
        return short

    def _message_fields(self, data: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        for old, prop in (("message_field_role", "role"), ("message_field_content", "content")):
            if old in data:
                value = data.pop(old)
                mappings = data.setdefault("message_property_mappings", {})
                if isinstance(mappings, dict):
                    mappings.setdefault(prop, value)
                self.source.lines.setdefault(path + ("message_property_mappings",), self.source.lines.get(path + (old,), 0))
                self.add("legacy", path + (old,), f"`{old}` is a legacy spelling, read as "
                         f"`message_property_mappings: {{{prop}: {value}}}`", Severity.INFO,
                         hint="use message_property_mappings")
        return data

    def field(self, f, tp: Any, raw: Any, path: KeyPath) -> tuple[bool, Any]:
        spec: Spec = spec_of(f)
        if _quoted_boolean(tp, raw):
            self.add("type", path, f"`{_dotted(path)}: \"{raw}\"` is a quoted string, not a boolean",
                     hint=f"write `{path[-1]}: {str(raw).lower()}` without quotes")
            return False, None
        try:
            value = self.conform(tp, raw, path)
        except ItemMismatch as exc:
            hint = f"write `- path: {exc.value}`" if path[-1] in ("datasets", "test_datasets") and isinstance(
                exc.value, str) else _first_sentence(spec.doc)
            self.add("type", exc.path, f"`{_dotted(exc.path)}` must be {exc}, not {_describe(exc.value)}", hint=hint)
            return False, None
        except Mismatch as exc:
            hint = f"write `{path[-1]}:` with `- path: {raw}` on the next line" if path[-1] in (
                "datasets", "test_datasets") and isinstance(raw, str) else _first_sentence(spec.doc)
            self.add("type", path, f"`{_dotted(path)}` must be {exc}, not {_describe(raw)}", hint=hint)
            return False, None
        problem = _value_problem(spec, path[-1], value)
        if problem and bool in typing.get_args(tp):
            problem = problem.replace("expected ", "expected true, false, ", 1)
        if problem:
            self.add("value", path, f"`{_dotted(path)}: {_yaml(raw)}` {problem}")
            return False, None
        return True, value

    def conform(self, tp: Any, value: Any, path: KeyPath) -> Any:
        origin = typing.get_origin(tp)
        if tp is Any:
            return value
        if origin in (typing.Union, types.UnionType):
            return self._conform_union(typing.get_args(tp), value, path)
        if is_dataclass(tp):
            if not isinstance(value, dict):
                raise Mismatch("a mapping of keys")
            return self.build(tp, value, path)
        if origin is tuple:
            if not isinstance(value, list):
                raise Mismatch(_expected(tp))
            item = typing.get_args(tp)[0]
            items = []
            for i, v in enumerate(value):
                try:
                    items.append(self.conform(item, v, path + (i,)))
                except ItemMismatch:
                    raise
                except Mismatch as exc:
                    raise ItemMismatch(str(exc), path + (i,), v) from None
            return tuple(items)
        if origin is dict:
            if not isinstance(value, dict):
                raise Mismatch("a mapping")
            return value
        return _scalar(tp, value)

    def _conform_union(self, options: tuple[Any, ...], value: Any, path: KeyPath) -> Any:
        if value is None and type(None) in options:
            return None
        item_error = None
        for option in options:
            if option is type(None):
                continue
            try:
                return self.conform(option, value, path)
            except ItemMismatch as exc:  # the right container with a wrong item: say which item
                item_error = exc
            except Mismatch:
                continue
        if item_error is not None:
            raise item_error
        raise Mismatch(" or ".join(_expected(o) for o in options if o is not type(None)))

    def unknown(self, name: str, path: KeyPath, section: str, declared: dict[str, Any]) -> None:
        near = suggest(name, section, declared)
        where = "" if not path[:-1] else f" in `{_dotted(path[:-1])}`"
        hint = f"did you mean `{near}`?" if near else "delete it, or check the spelling against docs/config.md"
        self.add("unknown", path, f"unknown key `{name}`{where}: Axolotl would drop it silently", hint=hint)

    def note_axolotl_only(self, section: str, name: str, path: KeyPath) -> None:
        plugin = axolotl_vocabulary().plugins.get(name) if section == "top" else None
        what = f"an Axolotl key of the `{plugin}` plugin" if plugin else "an Axolotl key"
        self.add("axolotl", path, f"`{_dotted(path)}` is {what} that ftdoctor does not check and its own trainer "
                 "does not use", Severity.INFO)

    def legacy_values(self, config: TrainConfig) -> TrainConfig:
        """Values Axolotl still accepts but rewrites (with a deprecation warning): noted, and read its way."""
        from dataclasses import replace

        offload = {"offload": True, "offload_disk": "disk"}.get(str(config.gradient_checkpointing))
        if offload is None:
            return config
        self.add("legacy", ("gradient_checkpointing",), f"`gradient_checkpointing: {config.gradient_checkpointing}` "
                 f"is a legacy spelling, read as `gradient_checkpointing: true` with `activation_offloading: "
                 f"{_yaml(offload)}`", Severity.INFO, hint=f"write activation_offloading: {_yaml(offload)}")
        return replace(config, gradient_checkpointing=True, activation_offloading=config.activation_offloading or offload)

    def check_required_data(self, config: TrainConfig) -> None:
        if not config.datasets and config.pretraining_dataset is None and not self._failed(("datasets",)):
            self.add("required", ("datasets",), "no training data: set `datasets` (or `pretraining_dataset`)",
                     hint="add `datasets: [{path: data.jsonl, type: chat_template}]`")

    def _failed(self, path: KeyPath) -> bool:
        return any(issue.path[: len(path)] == path for issue in self.issues if issue.severity == Severity.ERROR)


def suggest(name: str, section: str, declared: dict[str, Any]) -> str | None:
    lowered = name.lower()
    candidates = list(declared) + sorted(axolotl_vocabulary().names(section))
    if section == "top":
        candidates += sorted(key_history())
    for pool, cutoff in ((list(declared), 0.75), (candidates, 0.8)):
        exact = [c for c in pool if c.lower() == lowered]
        if exact:
            return exact[0]
        near = difflib.get_close_matches(lowered, pool, n=1, cutoff=cutoff)
        if near:
            return near[0]
    return None


def _first_sentence(doc: str) -> str:
    """The key's description up to its first full stop (not the one of an "e.g."), as a hint."""
    return re.split(r"(?<!e\.g)(?<!i\.e)\.(?:\s|$)", doc, maxsplit=1)[0]


def _quoted_boolean(tp: Any, value: Any) -> bool:
    """`bf16: "true"`: YAML reads a string, which a boolean key (or one that also takes `auto`) must not get."""
    if not isinstance(value, str) or value.lower() not in ("true", "false"):
        return False
    return tp is bool or bool in typing.get_args(tp)


def _scalar(tp: Any, value: Any) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise Mismatch("true or false")
    if tp in (int, float):
        return _number(tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise Mismatch("a string")
    raise Mismatch(_expected(tp))


def _number(tp: type, value: Any) -> Any:
    if isinstance(value, bool):
        raise Mismatch(_expected(tp))
    if isinstance(value, str):  # YAML reads `2e-5` (no dot) as a string; Axolotl accepts numeric strings
        try:
            value = float(value)
        except ValueError:
            raise Mismatch(_expected(tp)) from None
    if isinstance(value, (int, float)):
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise Mismatch("a whole number")
            return int(value)
        return float(value)
    raise Mismatch(_expected(tp))


def _value_problem(spec: Spec, name: Any, value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            return f"is below the minimum {_num(spec.minimum)}"
        if spec.maximum is not None and value > spec.maximum:
            return f"is above the maximum {_num(spec.maximum)}"
    if not spec.choices or isinstance(value, (bool, dict, tuple)) or value is None:
        return None
    if type(value) is not type(spec.choices[0]) and not isinstance(value, str):
        return None
    return _choice_problem(spec.choices, str(name), value)


def _choice_problem(choices: tuple[Any, ...], name: str, value: Any) -> str | None:
    if value in choices:
        return None
    if name == "attn_implementation":
        if "/" in str(value):
            return None  # a hub kernel path
        if value in SHORT_ATTENTION:
            return f"is a short form Axolotl refuses; write `{SHORT_ATTENTION[value]}`"
    if name == "chat_template" and str(value).startswith("tokenizer_default_fallback_"):
        fallback = str(value).removeprefix("tokenizer_default_fallback_")
        return None if fallback in CHAT_TEMPLATES else f"falls back to an unknown template `{fallback}`"
    near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    shown = ", ".join(str(c) for c in choices) if len(choices) <= 12 else f"one of {len(choices)} names (docs/config.md)"
    return f"is not allowed: expected {shown}" + (f"; did you mean `{near[0]}`?" if near else "")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _expected(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"a list of {_expected(typing.get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict or is_dataclass(tp):
        return "a mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_expected(o) for o in typing.get_args(tp) if o is not type(None))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(tp, str(tp))


def _describe(value: Any) -> str:
    if value is None:
        return "empty (null)"
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return kind
    return f"{kind} ({_yaml(value)})"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
