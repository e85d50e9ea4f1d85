"""One pass over a log: find the lines that match signatures and markers, with bounded memory.

Text arrives in chunks and is processed in blocks that end a few lines before the chunk's end, so a wrapped
message can be joined with the lines that follow it. One prefilter regex runs over each lower-cased block:
a trie of "triggers", for every keyword the slice that starts at the character rarest in this log (counted
on its first block), so that most positions fail on their first character. On the few lines it hits,
every trigger is found, overlapping ones included, and a trigger stands for the keywords of every trigger
that is a prefix of it (a regex reports the longest at a position), so one keyword's hit never hides
another's. Only those lines are checked for the keywords themselves and matched against the per-signature
regexes. Per entry, the first
and last few hits are kept, never all of them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from ftdoctor.explain.catalog import Catalog
from ftdoctor.explain.lines import ANSI, evidence_text, rank_of, strip_prefix
from ftdoctor.explain.model import Evidence

HALF_LINE = 4096  # a "line" is at most this many characters either side of a keyword hit
CARRY_MAX = 4 << 20  # text kept for the next block when the input has no line breaks
KEEP_FIRST, KEEP_LAST = 8, 4
MARKER_LINES_MAX = 50_000
RANK_LOOKAHEAD = 20
ERROR_TOKENS = ("Error", "ERROR", "error:", "Exception", "FAILED", "Killed", "fatal", "Traceback")


@dataclass(frozen=True)
class Hit:
    """One match: its first line, its named groups, and the lines it covered (cleaned only when asked for)."""

    line: int
    groups: dict[str, str]
    lines: tuple[tuple[int, str], ...]
    needle: str = ""

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return tuple(Evidence(number, evidence_text(text, self.needle)) for number, text in self.lines)


@dataclass
class HitLog:
    """The first and last hits of one entry, and how many there were."""

    first: list[Hit] = field(default_factory=list)
    last: deque = field(default_factory=lambda: deque(maxlen=KEEP_LAST))
    count: int = 0
    lines: list[int] = field(default_factory=list)  # every hit line, for markers (capped)

    def add(self, hit: Hit, marker: bool) -> None:
        self.count += 1
        if marker and len(self.lines) < MARKER_LINES_MAX:
            self.lines.append(hit.line)
        if len(self.first) < KEEP_FIRST:
            self.first.append(hit)
        else:
            self.last.append(hit)

    def hits(self) -> list[Hit]:
        return self.first + list(self.last)


@dataclass(frozen=True)
class Entry:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    span: int
    marker: bool


@dataclass(frozen=True)
class ScanResult:
    hits: dict[str, HitLog]
    lines: int
    ansi: bool
    last_error: Evidence | None


TRIGGER_LEN = 8
SAMPLE_CHARS = 256 * 1024


class Index:
    """The compiled catalog: entries by keyword, and prefilters built for a log's character statistics."""

    def __init__(self, catalog: Catalog) -> None:
        entries = [Entry(s.id, tuple(re.compile(p) for p in s.patterns), s.span, False) for s in catalog.signatures]
        entries += [Entry(m.id, tuple(re.compile(p) for p in m.patterns), 0, True) for m in catalog.markers]
        keywords = [(kw, e) for e, item in zip(entries, [*catalog.signatures, *catalog.markers]) for kw in item.keywords]
        self.by_keyword: dict[str, tuple[Entry, ...]] = {}
        for kw, entry in keywords:
            self.by_keyword[kw] = (*self.by_keyword.get(kw, ()), entry)
        self.max_span = max((e.span for e in entries), default=0)
        self._prefilters: dict[tuple[str, ...], Prefilter] = {}

    def prefilter(self, sample: str) -> Prefilter:
        """The prefilter for a log whose lower-cased text starts with `sample`."""
        chars = {c for kw in self.by_keyword for c in kw}
        counts = {c: sample.count(c) for c in chars}
        triggers: dict[str, tuple[str, ...]] = {}
        for kw in self.by_keyword:
            trigger = _trigger(kw, counts)
            triggers[trigger] = (*triggers.get(trigger, ()), kw)
        key = tuple(sorted(triggers))
        if key not in self._prefilters:
            self._prefilters[key] = Prefilter.for_triggers(triggers)
        return self._prefilters[key]


@dataclass(frozen=True)
class Prefilter:
    regex: re.Pattern[str]  # a trie of the triggers: fast, since most positions fail on their first character
    keywords: dict[str, tuple[str, ...]]  # trigger -> the keywords it stands for

    @classmethod
    def for_triggers(cls, triggers: dict[str, tuple[str, ...]]) -> Prefilter:
        keywords = {t: tuple(kw for p in sorted(triggers) if t.startswith(p) for kw in triggers[p]) for t in triggers}
        return cls(re.compile(trie_regex(triggers)), keywords)

    def keywords_in(self, line: str) -> set[str]:
        """The keywords a lower-cased line really contains: each trigger on it, overlapping ones too (searching
        again one character after each start), stands for its keywords and those of its prefixes."""
        found: set[str] = set()
        match = self.regex.search(line)
        while match is not None:
            found.update(kw for kw in self.keywords[match.group(0)] if kw in line)
            match = self.regex.search(line, match.start() + 1)
        return found


def _trigger(keyword: str, counts: dict[str, int]) -> str:
    """The slice of `keyword` starting at its rarest character (never a space)."""
    size = min(TRIGGER_LEN, len(keyword))
    starts = [i for i in range(len(keyword) - size + 1) if keyword[i] != " "] or [0]
    start = min(starts, key=lambda i: (counts.get(keyword[i], 0), i))
    return keyword[start:start + size]


def trie_regex(words) -> str:
    """A regex matching any of `words`, shaped as a trie so that most positions fail on the first character."""
    trie: dict = {}
    for word in sorted(words):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict) -> str:
    ends = "" in node
    alternatives = [re.escape(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if ends else body


class Scanner:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.logs: dict[str, HitLog] = {}
        self._carry = ""
        self._line = 1  # number of the first line of the next block
        self._ansi = False
        self._last_error: Evidence | None = None
        self._prefilter: Prefilter | None = None

    def feed(self, text: str) -> None:
        self._process(self._carry + text, final=False)

    def finish(self) -> ScanResult:
        self._process(self._carry, final=True)
        lines = self._line - 1 + (1 if self._tail_open else 0)
        return ScanResult(self.logs, lines, self._ansi, self._last_error)

    _tail_open = False

    def _process(self, block: str, final: bool) -> None:
        if not block:
            self._carry = ""
            return
        if "\x1b" in block:
            stripped = ANSI.sub("", block)
            self._ansi = self._ansi or len(stripped) != len(block)
            block = stripped
        end = len(block) if final else self._split_point(block)
        self._carry = block[end:]
        if end:
            self._scan(block, end)
            self._remember_last_error(block, end)
            self._line += block.count("\n", 0, end)
        if final:
            self._tail_open = not block.endswith("\n")

    def _split_point(self, block: str) -> int:
        """Where the processed part ends: before the last max_span complete lines and the unfinished one."""
        pos = len(block)
        for _ in range(self.index.max_span + 1):
            pos = block.rfind("\n", 0, pos)
            if pos == -1:
                break
        end = pos + 1 if pos != -1 else 0
        if len(block) - end > CARRY_MAX:  # no line breaks: process all but the last line's worth
            end = len(block) - HALF_LINE
        return end

    def _scan(self, block: str, end: int) -> None:
        region = block[:end]
        lowered = region.lower()
        if len(lowered) != len(region):  # a character whose lower case is longer (U+0130): ASCII only
            lowered = region.translate(_ASCII_LOWER)
        if self._prefilter is None:
            self._prefilter = self.index.prefilter(lowered[:SAMPLE_CHARS])
        counted_at, counted = 0, self._line
        stop = -1
        for match in self._prefilter.regex.finditer(lowered):
            pos = match.start()
            if pos < stop:  # the line already taken
                continue
            start = max(block.rfind("\n", 0, pos) + 1, pos - HALF_LINE)
            newline = block.find("\n", pos)
            stop = min(newline if newline != -1 else len(block), pos + HALF_LINE)
            counted += block.count("\n", counted_at, start)
            counted_at = start
            self._candidate(block, lowered, start, stop, counted)

    def _candidate(self, block: str, lowered: str, start: int, stop: int, line_no: int) -> None:
        """A line the prefilter hit: keep the keywords it really contains and evaluate their entries."""
        keywords = self._prefilter.keywords_in(lowered[start:stop])  # type: ignore[union-attr]
        if keywords:
            self._evaluate(block, start, stop, line_no, keywords)

    def _evaluate(self, block: str, start: int, stop: int, line_no: int, keywords: set[str]) -> None:
        line = block[start:stop].rstrip("\r")
        entries = {e.id: e for kw in keywords for e in self.index.by_keyword.get(kw, ())}
        for entry in sorted(entries.values(), key=lambda e: e.id):
            used = [(line_no, line)]
            if entry.span:
                used += self._continuation(block, stop, line_no, entry.span, rank_of(line))
                text = "\n".join(strip_prefix(text) for _, text in used)
            else:
                text = line
            for pattern in entry.patterns:
                match = pattern.search(text)
                if match:
                    self._record(entry, match, used)
                    break

    def _continuation(self, block: str, stop: int, line_no: int, span: int, rank: str | None) -> list:
        """The next `span` lines (of the same rank when ranks are tagged), with their numbers."""
        out, pos, number, looked = [], stop, line_no, 0
        while len(out) < span and looked < (RANK_LOOKAHEAD if rank else span) and pos < len(block):
            nxt = block.find("\n", pos + 1)
            text = block[pos + 1: nxt if nxt != -1 else len(block)].rstrip("\r")
            number += 1
            looked += 1
            if rank is None or rank_of(text) == rank:
                out.append((number, text))
            if nxt == -1:
                break
            pos = nxt
        return out

    def _record(self, entry: Entry, match: re.Match[str], used: list) -> None:
        groups = {k: v.strip()[:300] for k, v in match.groupdict().items() if v and v.strip()}
        covered = used
        if len(used) > 1:  # only the lines the match spans
            covered, offset = [], 0
            for number, text in used:
                length = len(strip_prefix(text))
                if offset <= match.end() and offset + length >= match.start():
                    covered.append((number, text))
                offset += length + 1
        log = self.logs.get(entry.id)
        if log is None:
            log = self.logs[entry.id] = HitLog()
        needle = match.group(0)[:40].split("\n")[0]
        log.add(Hit(used[0][0], groups, tuple(covered), needle), entry.marker)

    def _remember_last_error(self, block: str, end: int) -> None:
        pos = max(block.rfind(token, 0, end) for token in ERROR_TOKENS)
        if pos == -1:
            return
        start = block.rfind("\n", 0, pos) + 1
        stop = block.find("\n", pos)
        line_no = self._line + block.count("\n", 0, start)
        self._last_error = Evidence(line_no, evidence_text(block[max(start, pos - HALF_LINE):stop if stop != -1 else end]))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
