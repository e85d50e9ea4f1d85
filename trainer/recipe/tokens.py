"""The tokenizer as the run needs it: the chat template the config asks for, the tokens it adds, a pad token.

What changed is returned (and printed by the recipe), never decided silently: a tokenizer without a pad
token pads with its end-of-sequence token, as TRL would, and the run says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftdoctor.trainer.config.schema import TrainConfig

BUILT_IN_TEMPLATES = ("tokenizer_default", "chatml", "jinja")


@dataclass
class TokenChanges:
    added: list[str] = field(default_factory=list)  # tokens new to the vocabulary
    notes: list[str] = field(default_factory=list)


def template_text(config: TrainConfig, folder: Path) -> str | None:
    """The Jinja text the config's chat_template names; None keeps the tokenizer's own."""
    from ftdoctor.trainer.tiny import CHATML_TEMPLATE

    name = config.chat_template
    if name in (None, "tokenizer_default"):
        return None
    if name == "chatml":
        return CHATML_TEMPLATE
    if name == "jinja":
        value = config.chat_template_jinja or ""
        candidate = folder / value
        return candidate.read_text(encoding="utf-8") if value.endswith(".jinja") and candidate.is_file() else value
    raise ValueError(f"chat_template {name} is not bundled with ftdoctor's trainer")


def prepare_tokenizer(config: TrainConfig, path: str, folder: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=bool(config.trust_remote_code))
    changes = TokenChanges()
    template = template_text(config, folder)
    if template is not None:
        tokenizer.chat_template = template
        changes.notes.append(f"chat template: {config.chat_template}")
    _add_tokens(tokenizer, config, changes)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
        changes.notes.append(f"no pad token: padding with the end-of-sequence token {tokenizer.eos_token}")
    return tokenizer, changes


def _add_tokens(tokenizer, config: TrainConfig, changes: TokenChanges) -> None:
    before = set(tokenizer.get_vocab())
    special = config.special_tokens
    if special is not None:
        named = {k: v for k, v in (("bos_token", special.bos_token), ("eos_token", special.eos_token),
                                   ("pad_token", special.pad_token), ("unk_token", special.unk_token)) if v}
        if named:
            tokenizer.add_special_tokens(named)
        if special.additional_special_tokens:
            tokenizer.add_tokens(list(special.additional_special_tokens), special_tokens=True)
    if config.tokens:
        tokenizer.add_tokens(list(config.tokens))
    changes.added = [t for t in tokenizer.get_vocab() if t not in before]
    if changes.added:
        changes.notes.append(f"added {len(changes.added)} token(s): {', '.join(changes.added[:6])}")
