"""What a sample of records looks like: which of TRL's formats (text, messages, prompt/completion,
preference pairs, ...) and, for conversations, how well-formed the messages are."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ASSISTANT_ROLES = {"assistant", "gpt", "model", "bot", "chatgpt"}
KNOWN_ROLES = ASSISTANT_ROLES | {"system", "user", "human", "tool", "ipython", "function", "developer"}


def classify(columns: set[str], records: list[tuple[int, Any]]) -> str:
    """The format name: preference | unpaired_preference | prompt_completion | conversational | sharegpt |
    alpaca | text | prompt_only | stepwise | unknown."""
    if {"chosen", "rejected"} <= columns:
        return "preference"
    if {"prompt", "completions", "labels"} <= columns:
        return "stepwise"
    if {"prompt", "completion", "label"} <= columns:
        return "unpaired_preference"
    if {"prompt", "completion"} <= columns:
        return "prompt_completion"
    for name in ("messages", "conversations", "conversation"):
        if name in columns:
            return "sharegpt" if _sharegpt(records, name) else "conversational"
    if {"instruction", "output"} <= columns:
        return "alpaca"
    if "text" in columns:
        return "text"
    if "prompt" in columns:
        return "prompt_only"
    return "unknown"


def _sharegpt(records: list[tuple[int, Any]], column: str) -> bool:
    for _, record in records[:50]:
        turns = record.get(column) if isinstance(record, dict) else None
        if isinstance(turns, list) and turns and isinstance(turns[0], dict):
            return "from" in turns[0] and "role" not in turns[0]
    return False


@dataclass
class MessageStats:
    column: str
    role_key: str
    content_key: str
    checked: int = 0
    missing_column: list[int] = field(default_factory=list)  # line numbers (first few)
    not_a_list: list[int] = field(default_factory=list)
    bad_message: list[int] = field(default_factory=list)  # a turn without the role/content keys
    no_assistant: list[int] = field(default_factory=list)
    roles: Counter = field(default_factory=Counter)

    @property
    def unknown_roles(self) -> list[str]:
        return sorted(r for r in self.roles if str(r).lower() not in KNOWN_ROLES)


def message_stats(records: list[tuple[int, Any]], column: str, mappings: dict[str, str] | None,
                  roles: dict[str, Any] | None = None) -> MessageStats:
    mappings = mappings or {}
    stats = MessageStats(column, mappings.get("role", "role"), mappings.get("content", "content"))
    assistant_names = set(ASSISTANT_ROLES)
    for target, sources in (roles or {}).items():
        if target == "assistant" and isinstance(sources, list):
            assistant_names |= {str(s) for s in sources}
    for line, record in records:
        stats.checked += 1
        _check_record(stats, line, record, assistant_names)
    return stats


def _check_record(stats: MessageStats, line: int, record: Any, assistant_names: set[str]) -> None:
    turns = record.get(stats.column) if isinstance(record, dict) else None
    if turns is None:
        stats.missing_column.append(line)
        return
    if not isinstance(turns, list):
        stats.not_a_list.append(line)
        return
    found_assistant = False
    for turn in turns:
        if not isinstance(turn, dict) or stats.role_key not in turn or stats.content_key not in turn:
            stats.bad_message.append(line)
            return
        role = turn[stats.role_key]
        stats.roles[role] += 1
        found_assistant = found_assistant or str(role) in assistant_names
    if not found_assistant:
        stats.no_assistant.append(line)


def missing_columns(records: list[tuple[int, Any]], wanted: tuple[str, ...]) -> dict[str, list[int]]:
    """For each wanted column, the line numbers of records that lack it (empty when all have it)."""
    result: dict[str, list[int]] = {}
    for column in wanted:
        lines = [line for line, record in records if not isinstance(record, dict) or column not in record]
        if lines:
            result[column] = lines
    return result
