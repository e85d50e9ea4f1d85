"""How long sampled examples are in tokens, and how many exceed sequence_len.

With a local tokenizer (tokenizer.json) the examples are rendered the way training renders them (the chat
template for conversations) and tokenized with the `tokenizers` library, imported here and nowhere else.
Without one the length is estimated from the text (about 4 characters per token for English BPE
tokenizers), and the result says it is an estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHARS_PER_TOKEN = 4.0
MAX_MEASURED = 1000


@dataclass(frozen=True)
class Lengths:
    method: str  # how the tokens were counted, in words
    exact: bool  # tokenized with the real tokenizer (False: estimated)
    measured: int
    over: int  # examples longer than the limit
    longest: int
    median: int
    p95: int
    limit: int
    rendering: str  # how examples became text

    @property
    def share_over(self) -> float:
        return self.over / self.measured if self.measured else 0.0


def measure(records: list[tuple[int, Any]], shape: str, columns: dict[str, str], limit: int,
            tokenizer_json: Path | None, template: str | None, special: dict[str, str | None]) -> Lengths | None:
    renderer = Renderer(template, special)
    texts = [t for _, r in records[:MAX_MEASURED] if (t := renderer.render(r, shape, columns)) is not None]
    if not texts:
        return None
    counts, method, exact = _count(texts, tokenizer_json)
    ordered = sorted(counts)
    over = sum(1 for c in counts if c > limit)
    return Lengths(method, exact, len(counts), over, ordered[-1], ordered[len(ordered) // 2],
                   ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], limit, renderer.description)


def _count(texts: list[str], tokenizer_json: Path | None) -> tuple[list[int], str, bool]:
    if tokenizer_json is not None:
        try:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer_json))
            encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
            return [len(e.ids) for e in encoded], f"tokenized with {tokenizer_json}", True
        except Exception as exc:  # noqa: BLE001 - any tokenizer failure falls back to the estimate
            note = f" (the tokenizer failed: {type(exc).__name__})"
        else:  # pragma: no cover
            note = ""
    else:
        note = " (no local tokenizer)"
    return [max(1, round(len(t) / CHARS_PER_TOKEN)) for t in texts], \
        f"estimated at {CHARS_PER_TOKEN:g} characters per token{note}", False


class Renderer:
    """Turns a record into the text training sees: the chat template when one renders, else joined fields."""

    def __init__(self, template: str | None, special: dict[str, str | None]) -> None:
        self.special = special
        self.compiled = _compile(template) if template else None
        self.failed = False
        self.description = "the tokenizer's chat template" if self.compiled else "the fields joined (no chat template)"

    def render(self, record: Any, shape: str, columns: dict[str, str]) -> str | None:
        if not isinstance(record, dict):
            return None
        if shape in ("conversational", "sharegpt"):
            return self.conversation(record.get(columns.get("messages", "messages")), columns)
        if shape == "preference":
            prompt = self._part(record.get(columns.get("prompt", "prompt")), columns)
            chosen = self._part(record.get(columns.get("chosen", "chosen")), columns)
            rejected = self._part(record.get(columns.get("rejected", "rejected")), columns)
            return prompt + max(chosen, rejected, key=len)
        fields = {"prompt_completion": ("prompt", "completion"), "unpaired_preference": ("prompt", "completion"),
                  "alpaca": ("instruction", "input", "output"), "text": ("text",), "prompt_only": ("prompt",),
                  "stepwise": ("prompt", "completions")}.get(shape)
        if fields is None:
            return None
        return "\n".join(self._part(record.get(columns.get(f, f)), columns) for f in fields)

    def _part(self, value: Any, columns: dict[str, str]) -> str:
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return self.conversation(value, columns) or ""
        if isinstance(value, dict):
            return self.conversation([value], columns) or ""
        return value if isinstance(value, str) else (json.dumps(value) if value is not None else "")

    def conversation(self, turns: Any, columns: dict[str, str]) -> str | None:
        if not isinstance(turns, list):
            return None
        role_key, content_key = columns.get("role", "role"), columns.get("content", "content")
        messages = [{"role": t.get(role_key), "content": t.get(content_key)} for t in turns if isinstance(t, dict)]
        if self.compiled is not None and not self.failed:
            try:
                return self.compiled.render(messages=messages, add_generation_prompt=False, **self.special)
            except Exception:  # noqa: BLE001 - a template that cannot render this data: fall back, say so
                self.failed = True
                self.description = "the fields joined (the chat template failed to render this data)"
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def _compile(template: str) -> Any:
    try:
        import jinja2
        from jinja2 import nodes
        from jinja2.ext import Extension
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        return None

    class Generation(Extension):  # `{% generation %}...{% endgeneration %}` marks assistant tokens; keep the text
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)  # the body, rendered as it is

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda value, **kw: json.dumps(value, ensure_ascii=False, **kw)
    env.globals.update(raise_exception=raise_exception, strftime_now=lambda fmt: "26 Jul 2024")
    try:
        return env.from_string(template)
    except jinja2.TemplateError:
        return None
