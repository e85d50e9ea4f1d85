"""Bytes of a log, in any encoding and any size, to text chunks with bounded memory.

A byte-order mark selects UTF-8/16/32; without one, a run of NUL bytes in every other position means
BOM-less UTF-16 (what some Windows tools write); everything else is read as UTF-8 with undecodable bytes
replaced. Control characters other than tab, newlines and ESC (kept for ANSI stripping) are dropped, so
binary junk cannot reach a terminal.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]+")
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])


@dataclass
class ReadState:
    """Filled in while reading: what the explanation reports about the input."""

    bytes: int = 0
    encoding: str = "utf-8"
    replaced: bool = False


def sniff(head: bytes) -> tuple[str, int]:
    """The encoding of a stream starting with `head`, and how many BOM bytes to skip."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be", 0
    return "utf-8", 0


def iter_text(stream: BinaryIO, state: ReadState, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Decoded, control-character-free text chunks of the stream."""
    head = stream.read(chunk_bytes)
    if not head:
        return
    state.encoding, skip = sniff(head)
    decoder = codecs.getincrementaldecoder(state.encoding)(errors="replace")
    # in UTF-8 a control byte is always that character, so it can go before decoding (fast, in C)
    byte_level = state.encoding == "utf-8"
    data: bytes = head[skip:]
    state.bytes += len(head)
    while True:
        text = decoder.decode(data.translate(None, CONTROL_BYTES) if byte_level else data)
        if text:
            yield _clean(text, state, byte_level)
        data = stream.read(chunk_bytes)
        if not data:
            break
        state.bytes += len(data)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield _clean(tail, state, byte_level)


def _clean(text: str, state: ReadState, byte_level: bool) -> str:
    if "\ufffd" in text:
        state.replaced = True
    if byte_level:
        return text
    return CONTROL.sub("", text) if CONTROL.search(text) else text
