"""How one log line is cleaned: ANSI colours, launcher prefixes, carriage-return progress bars.

Multi-process launchers prefix every line (`[rank1]:`, `[default0]:`, `[80746] [rank0]:`, journald's
`Oct 04 13:19:39 host unit[394]: `, vLLM's `ERROR 01-11 13:09:40 engine.py:366] `, quoted `> `); the
prefix is removed before a wrapped message is joined with its continuation lines, and a rank tag keeps the
continuation lines of one process together when ranks interleave.
"""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
PREFIX = re.compile(
    r"^(?:"
    r"\s*\[\d+\]\s*(?=\[)"  # a pid before a rank tag: "[80746] "
    r"|\s*\[(?:rank|default|RANK)\d+\]:\s?"  # torchrun / deepspeed rank tags
    r"|\s*rank\d+:\s"
    r"|\s*\(\w+ pid=\d+(?:, ip=[\d.]+)?\)\s"  # Ray actors
    r"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w./@-]+(?:\[\d+\])?: "  # journald
    r"|\d{4}-\d\d-\d\d[T ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?:?\s+"  # ISO timestamps
    r"|(?:ERROR|WARNING|INFO|DEBUG) \d\d-\d\d [\d:]+ [\w.]+:\d+\] "  # vLLM
    r"|>\s?"  # quoted in an issue
    r")+"
)
RANK = re.compile(r"\[(?:rank|default|RANK)(\d+)\]:")
MAX_EVIDENCE = 400


def strip_prefix(line: str) -> str:
    return PREFIX.sub("", line, count=1)


def rank_of(line: str) -> str | None:
    match = RANK.search(line, 0, 80)
    return match.group(1) if match else None


def evidence_text(line: str, needle: str = "") -> str:
    """The part of a line worth showing: the carriage-return segment holding the match, trimmed."""
    line = line.rstrip("\r\n")
    if "\r" in line:
        segments = [s for s in line.split("\r") if s.strip()]
        hits = [s for s in segments if needle and needle in s]
        line = (hits or segments or [""])[-1]
    line = line.strip()
    if len(line) > MAX_EVIDENCE:
        at = line.find(needle) if needle else -1
        start = max(0, min(at - 100, len(line) - MAX_EVIDENCE)) if at > 0 else 0
        line = ("…" if start else "") + line[start:start + MAX_EVIDENCE] + "…"
    return line
