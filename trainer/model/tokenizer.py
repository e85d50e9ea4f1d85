"""What the preflight needs to know about a local tokenizer, read from its files (tokenizer_config.json,
chat_template.jinja, tokenizer.json) without transformers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENERATION_MARKER = "{% generation %}"


@dataclass(frozen=True)
class TokenizerFacts:
    folder: Path
    chat_template: str | None = None
    template_source: str = ""  # the file the template came from
    eos_token: str | None = None
    pad_token: str | None = None
    bos_token: str | None = None
    tokenizer_class: str | None = None
    tokenizer_json: Path | None = None  # what the `tokenizers` library can load to count tokens
    vocab_size: int | None = None
    known_tokens: frozenset[str] = field(default_factory=frozenset)  # vocabulary + added tokens
    special_tokens: frozenset[str] = field(default_factory=frozenset)  # added tokens marked special
    problems: tuple[str, ...] = ()  # files that could not be read

    @property
    def has_generation_markers(self) -> bool:
        return bool(self.chat_template) and "generation" in self.chat_template and (
            GENERATION_MARKER in self.chat_template or "{%- generation %}" in self.chat_template
            or "{% generation -%}" in self.chat_template)

    def knows(self, token: str) -> bool | None:
        """True/False when the vocabulary was read; None when it could not be."""
        if not self.known_tokens:
            return None
        return token in self.known_tokens


def read_tokenizer(folder: Path) -> TokenizerFacts | None:
    """None when `folder` holds no tokenizer files at all."""
    config_file, json_file = folder / "tokenizer_config.json", folder / "tokenizer.json"
    if not config_file.is_file() and not json_file.is_file():
        return None
    problems: list[str] = []
    config = _json(config_file, problems) or {}
    template, source = _template(folder, config, problems)
    vocab, special = _vocabulary(json_file, problems)
    return TokenizerFacts(
        folder=folder, chat_template=template, template_source=source,
        eos_token=_token(config.get("eos_token")), pad_token=_token(config.get("pad_token")),
        bos_token=_token(config.get("bos_token")), tokenizer_class=config.get("tokenizer_class"),
        tokenizer_json=json_file if json_file.is_file() else None,
        vocab_size=len(vocab) or None, known_tokens=frozenset(vocab) | _added(config),
        special_tokens=frozenset(special), problems=tuple(problems),
    )


def _json(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None


def _template(folder: Path, config: dict[str, Any], problems: list[str]) -> tuple[str | None, str]:
    jinja = folder / "chat_template.jinja"  # transformers 5 writes the template here
    if jinja.is_file():
        try:
            return jinja.read_text(encoding="utf-8"), jinja.name
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{jinja.name}: {exc}")
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: [{name, template}, ...]
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    if isinstance(template, str):
        return template, "tokenizer_config.json"
    legacy = _json(folder / "chat_template.json", problems)
    if isinstance(legacy, dict) and isinstance(legacy.get("chat_template"), str):
        return legacy["chat_template"], "chat_template.json"
    return None, ""


def _vocabulary(path: Path, problems: list[str]) -> tuple[set[str], set[str]]:
    data = _json(path, problems)
    if not isinstance(data, dict):
        return set(), set()
    model = data.get("model") or {}
    vocab = model.get("vocab") or {}
    tokens = set(vocab) if isinstance(vocab, dict) else {v[0] for v in vocab if isinstance(v, list) and v}
    added = data.get("added_tokens") or []
    tokens |= {t.get("content") for t in added if isinstance(t, dict) and t.get("content")}
    special = {t.get("content") for t in added if isinstance(t, dict) and t.get("special")}
    return tokens, special


def _added(config: dict[str, Any]) -> frozenset[str]:
    decoder = config.get("added_tokens_decoder") or {}
    return frozenset(v.get("content") for v in decoder.values() if isinstance(v, dict) and v.get("content"))


def _token(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None
