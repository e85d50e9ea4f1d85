"""Read a sample of a data file and count its examples without loading it whole.

Files are read in chunks: a 2 GB JSON-lines file costs a bounded amount of memory. Up to
`EXACT_LIMIT_BYTES` every line is counted; above it the count is estimated from the sample's average line
length (and said to be an estimate). The file's last bytes are read too, because a download that stopped
half way or a preallocated file shows there (a truncated last line, a run of NUL bytes).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
SAMPLE = 1000  # records kept for column and length checks
SCAN_LIMIT_BYTES = 32 << 20  # parse every line up to here (reservoir sample); past it, the head only
EXACT_LIMIT_BYTES = 256 << 20  # count every line up to here; past it, estimate
TAIL_BYTES = 64 << 10


@dataclass
class Problem:
    kind: str  # not-jsonl | binary | empty | truncated | nul-tail | not-json | not-utf8 | unreadable | unchecked
    message: str
    line: int | None = None


@dataclass
class FileSample:
    path: Path
    format: str  # jsonl | json | parquet | csv | arrow | text | binary | empty
    size: int
    records: list[tuple[int, Any]] = field(default_factory=list)  # (line number or row index, record)
    count: int | None = None
    count_exact: bool = True
    columns: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    sampled_from: str = "all"  # "all" | "reservoir" | "head"


def sniff(path: Path, head: bytes) -> str:
    """The format from the bytes themselves (the extension only breaks ties)."""
    suffix = path.suffix.lower()
    if not head:
        return "empty"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or (suffix == ".arrow" and b"\x00" in head[:16]):
        return "arrow"
    if b"\x00" in head:
        return "binary"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in (".csv", ".tsv"):
        return "csv"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl" if _first_line_is_object(stripped) else "json"
    if suffix == ".txt":
        return "text"
    return "jsonl" if suffix in (".jsonl", ".json", ".ndjson") else "text"


def _first_line_is_object(data: bytes) -> bool:
    line = data.split(b"\n", 1)[0]
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, UnicodeDecodeError):
        return b"\n" not in data  # one long line that did not fit in the head: still JSON lines


def read_sample(path: Path, *, exact_limit: int = EXACT_LIMIT_BYTES, seed: int = 0) -> FileSample:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(64 << 10)
    except OSError as exc:
        return FileSample(path, "unreadable", 0, problems=[Problem("unreadable", f"cannot read: {exc.strerror}")])
    fmt = sniff(path, head)
    sample = FileSample(path, fmt, size)
    reader = {"jsonl": _jsonl, "json": _json, "csv": _csv, "parquet": _parquet}.get(fmt)
    if reader is not None:
        reader(sample, exact_limit, seed)
    if fmt == "jsonl" and sample.count == 1 and path.suffix.lower() == ".json" and _rows_in_object(
            sample.records[0][1] if sample.records else None):
        sample = FileSample(path, "json", size)  # one JSON document holding the list of examples
        _json(sample, exact_limit, seed)
    elif fmt == "binary":
        sample.problems.append(Problem("binary", "a binary file (NUL bytes in its first 64 KiB), not JSON lines, "
                                       "JSON, CSV or Parquet", line=head.count(b"\n", 0, head.index(b"\x00")) + 1))
    elif fmt == "empty":
        sample.problems.append(Problem("empty", "the file is empty"))
    if sample.records and not sample.columns:
        sample.columns = _columns(sample.records)
    return sample


def _jsonl(sample: FileSample, exact_limit: int, seed: int) -> None:
    scan_all = sample.size <= SCAN_LIMIT_BYTES
    rng = random.Random(seed)
    seen = bad_lines = 0
    last_bad, last_raw = False, b""  # the last line read was reported already (the tail check need not repeat it)
    for number, raw in _lines(sample.path, None if scan_all else 4 * SAMPLE):
        if not raw.strip():
            continue
        record = _parse_line(sample, number, raw)
        last_bad, last_raw = record is None, raw
        if record is None:
            bad_lines += 1
            if len(sample.problems) >= 20:
                break
            continue
        seen += 1
        if len(sample.records) < SAMPLE:
            sample.records.append((number, record))
        elif scan_all and (slot := rng.randrange(seen)) < SAMPLE:  # reservoir sampling over the whole file
            sample.records[slot] = (number, record)
    sample.sampled_from = "reservoir" if scan_all and seen > SAMPLE else ("all" if scan_all else "head")
    _count_lines(sample, exact_limit)
    if scan_all and last_bad and bad_lines == 1 and seen and _cut_off(last_raw):
        sample.problems.pop()  # only the last line is broken, and it stops mid-way: the tail check says so
        last_bad = False
    _check_tail(sample, last_reported=scan_all and last_bad and len(sample.problems) < 20)


def _parse_line(sample: FileSample, number: int, raw: bytes) -> Any:
    try:
        record = json.loads(raw)
    except UnicodeDecodeError:
        sample.problems.append(Problem("not-utf8", "not UTF-8 text", number))
        return None
    except ValueError as exc:
        if not sample.problems or sample.problems[-1].kind != "not-jsonl":
            sample.problems.append(Problem("not-jsonl", f"not a JSON object ({_short(exc)})", number))
        return None
    if not isinstance(record, dict):
        sample.problems.append(Problem("not-jsonl", f"a JSON {type(record).__name__}, not an object", number))
        return None
    return record


def _lines(path: Path, limit: int | None):
    """(line number, bytes) for each line, read in chunks; stops after `limit` non-empty lines."""
    number, taken, rest = 0, 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if b"\x00" in chunk:
                chunk = chunk[: chunk.index(b"\x00")]  # the tail check reports the NUL run
                lines = (rest + chunk).split(b"\n")
                for line in lines:
                    number += 1
                    yield number, line
                return
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                number += 1
                yield number, line
                taken += 1
                if limit is not None and taken >= limit:
                    return
        if rest:
            yield number + 1, rest


def _count_lines(sample: FileSample, exact_limit: int) -> None:
    if sample.size <= exact_limit:
        count, last = 0, b"\n"
        with sample.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        sample.count = count + (0 if last == b"\n" else 1)
        sample.count -= _blank_lines(sample)
        return
    lengths = [len(json.dumps(r)) + 1 for _, r in sample.records] or [1]
    sample.count = int(sample.size / (sum(lengths) / len(lengths)))
    sample.count_exact = False


def _blank_lines(sample: FileSample) -> int:
    if sample.size > SCAN_LIMIT_BYTES:
        return 0
    with sample.path.open("rb") as handle:
        return sum(1 for line in handle if not line.strip())


def _check_tail(sample: FileSample, last_reported: bool = False) -> None:
    if sample.size <= TAIL_BYTES:
        tail, offset = sample.path.read_bytes(), 0
    else:
        with sample.path.open("rb") as handle:
            offset = sample.size - TAIL_BYTES
            handle.seek(offset)
            tail = handle.read()
    if b"\x00" in tail:
        start = offset + tail.index(b"\x00")
        sample.problems.append(Problem(
            "nul-tail", f"the file ends in NUL bytes (from about byte {start:,} of "
            f"{sample.size:,}): a download that stopped or a preallocated file"))
        return
    last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if not last.strip() or last_reported:
        return
    if _cut_off(last):
        sample.problems.append(Problem("truncated", "the last line is not complete JSON: the file looks cut off (and "
                                       "loading it fails at that line)",
                                       line=sample.count))
        return
    try:
        json.loads(last)
    except ValueError as exc:
        sample.problems.append(Problem("not-jsonl", f"the last line is not a JSON object ({_short(exc)})",
                                       line=sample.count))


def _cut_off(line: bytes) -> bool:
    """A JSON object that stops before its end (the rest was never written), not a malformed one."""
    text = line.strip()
    if not text.startswith((b"{", b"[")):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(exc.doc.rstrip()) - 1
    except ValueError:  # not UTF-8
        return False
    return False


def _json(sample: FileSample, exact_limit: int, seed: int) -> None:
    if sample.size > SCAN_LIMIT_BYTES:
        _json_stream(sample)
        return
    try:
        data = json.loads(sample.path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        sample.problems.append(Problem("not-json", f"not valid JSON ({_short(exc)})", line))
        return
    rows = data if isinstance(data, list) else _rows_in_object(data)
    if rows is None:
        sample.problems.append(Problem("not-json", "a JSON object without a list of examples in it"))
        return
    dicts = [(i, r) for i, r in enumerate(rows) if isinstance(r, dict)]
    if len(dicts) < len(rows):
        sample.problems.append(Problem("not-json", f"{len(rows) - len(dicts)} of {len(rows)} items are not objects"))
    rng = random.Random(seed)
    sample.records = dicts if len(dicts) <= SAMPLE else sorted(rng.sample(dicts, SAMPLE), key=lambda t: t[0])
    sample.count = len(rows)


def _rows_in_object(data: Any) -> list | None:
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        return lists[0] if len(lists) == 1 else None
    return None


def _json_stream(sample: FileSample) -> None:
    """The first records of a large JSON array, decoded one by one from a bounded buffer."""
    decoder = json.JSONDecoder()
    with sample.path.open("rb") as handle:
        buffer = handle.read(8 * CHUNK).decode("utf-8", errors="replace")
    opening = buffer.find("[")
    if opening < 0:
        sample.problems.append(Problem("not-json", "a JSON document with no list of examples in its first 8 MiB"))
        return
    position = opening + 1
    while len(sample.records) < SAMPLE:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position >= len(buffer) or buffer[position] == "]":
            break
        try:
            record, position = decoder.raw_decode(buffer, position)
        except ValueError:
            break
        if isinstance(record, dict):
            sample.records.append((len(sample.records), record))
    lengths = [len(json.dumps(r)) + 2 for _, r in sample.records] or [1]
    sample.count = int(sample.size / (sum(lengths) / len(lengths)))
    sample.count_exact = False
    sample.sampled_from = "head"


def _csv(sample: FileSample, exact_limit: int, seed: int) -> None:
    with sample.path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        head = handle.read(1 << 16)
        handle.seek(0)
        dialect = _csv_dialect(head, sample.path)
        reader = csv.DictReader(handle, dialect=dialect)
        sample.columns = tuple(reader.fieldnames or ())
        for index, row in enumerate(reader):
            if index >= SAMPLE:
                break
            sample.records.append((index + 2, row))  # line 1 is the header
    sample.sampled_from = "head"
    _count_lines(sample, exact_limit)
    if sample.count is not None:
        sample.count = max(0, sample.count - 1)


def _csv_dialect(head: str, path: Path) -> Any:
    try:
        return csv.Sniffer().sniff(head, delimiters=",\t;")
    except csv.Error:
        return csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel


def _parquet(sample: FileSample, exact_limit: int, seed: int) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sample.problems.append(Problem("unchecked", "a Parquet file, but pyarrow is not installed: columns and "
                                       "count not checked"))
        return
    try:
        handle = pq.ParquetFile(sample.path)
        sample.count = handle.metadata.num_rows
        sample.columns = tuple(handle.schema_arrow.names)
        batch = next(handle.iter_batches(batch_size=SAMPLE), None)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        sample.problems.append(Problem("unreadable", f"not a readable Parquet file ({_short(exc)})"))
        return
    if batch is not None:
        sample.records = list(enumerate(batch.to_pylist()))
    sample.sampled_from = "head"


def _columns(records: list[tuple[int, Any]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _, record in records:
        if isinstance(record, dict):
            seen.update(dict.fromkeys(record))
    return tuple(seen)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 90 else text[:87] + "..."


def text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if value is not None else ""

