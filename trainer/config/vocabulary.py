"""What names a config may use besides the schema's own: Axolotl's whole key vocabulary (so that a valid
Axolotl key is never called unknown) and the history of renamed, legacy and removed keys."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class KeyChange:
    kind: str  # "legacy" | "renamed" | "removed" | "ignored"
    key: str
    source: str
    becomes: str | None = None
    value: Any = None  # what `becomes` gets when the old key is true (legacy attention flags)
    into: str | None = None  # a key inside the `becomes` mapping
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class AxolotlVocabulary:
    source: str
    sections: dict[str, frozenset[str]]  # "top", "datasets", "trl", "fsdp_config", "vllm"
    plugins: dict[str, str]  # key -> plugin name (the key exists only when the plugin is listed)

    def knows(self, section: str, name: str) -> bool:
        return name in self.sections.get(section, frozenset()) or (section == "top" and name in self.plugins)

    def names(self, section: str) -> frozenset[str]:
        extra = frozenset(self.plugins) if section == "top" else frozenset()
        return self.sections.get(section, frozenset()) | extra


def _read(name: str) -> dict[str, Any]:
    text = resources.files("ftdoctor.trainer.config").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def axolotl_vocabulary() -> AxolotlVocabulary:
    data = _read("axolotl_keys.toml")
    plugins = {key: plugin for plugin, keys in data["plugins"].items() for key in keys}
    sections = {name: frozenset(data[name]) for name in ("top", "datasets", "trl", "fsdp_config", "vllm")}
    top_only = {k: p for k, p in plugins.items() if k not in sections["top"]}
    return AxolotlVocabulary(source=data["source"], sections=sections, plugins=top_only)


@cache
def key_history() -> dict[str, KeyChange]:
    data = _read("key_history.toml")
    changes = {}
    for kind in ("legacy", "renamed", "removed", "ignored"):
        for row in data.get(kind, []):
            changes[row["key"]] = KeyChange(kind=kind, **row)
    return changes
