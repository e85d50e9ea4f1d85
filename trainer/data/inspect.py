"""One report per `datasets:` entry: where it is, what the files hold, and how long the examples are.
Facts only; `ftdoctor.trainer.rules.data` judges them against the declared `type` and the method."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdoctor.trainer.config.schema import DatasetConfig
from ftdoctor.trainer.data.lengths import Lengths, measure
from ftdoctor.trainer.data.readers import EXACT_LIMIT_BYTES, FileSample, read_sample
from ftdoctor.trainer.data.shapes import MessageStats, classify, message_stats
from ftdoctor.trainer.locate import Located, locate
from ftdoctor.trainer.model.tokenizer import TokenizerFacts

DATA_SUFFIXES = (".jsonl", ".json", ".ndjson", ".parquet", ".csv", ".tsv", ".arrow", ".txt")
MAX_FILES = 64


@dataclass
class DatasetReport:
    section: str  # "datasets" | "test_datasets"
    index: int
    spec: DatasetConfig
    located: Located
    files: list[FileSample] = field(default_factory=list)
    note: str = ""  # e.g. "a `save_to_disk` folder: columns from dataset_info.json"
    columns: tuple[str, ...] = ()
    shape: str = "unknown"
    records: list[tuple[int, Any]] = field(default_factory=list)  # (line, record) of the first file sampled
    count: int | None = None
    count_exact: bool = True
    messages: MessageStats | None = None
    lengths: Lengths | None = None

    @property
    def path(self) -> tuple[str | int, ...]:
        return (self.section, self.index)

    @property
    def first_file(self) -> Path | None:
        return self.files[0].path if self.files else None


def inspect_dataset(section: str, index: int, spec: DatasetConfig, folder: Path, *, sequence_len: int,
                    tokenizer: TokenizerFacts | None, exact_limit: int = EXACT_LIMIT_BYTES) -> DatasetReport:
    located = locate(spec.path or "", folder, kind="datasets")
    report = DatasetReport(section, index, spec, located)
    if located.kind not in ("local", "cache") or located.path is None:
        return report
    for file in _data_files(located.path, spec, report)[:MAX_FILES]:
        report.files.append(read_sample(file, exact_limit=exact_limit))
    _summarize(report)
    if report.records:
        _judge_contents(report, sequence_len, tokenizer)
    return report


def _data_files(path: Path, spec: DatasetConfig, report: DatasetReport) -> list[Path]:
    if path.is_file():
        return [path]
    wanted = [spec.data_files] if isinstance(spec.data_files, str) else list(spec.data_files or ())
    if wanted:
        return [path / name for name in wanted if (path / name).is_file()]
    if (path / "dataset_info.json").is_file() and (path / "state.json").is_file():
        report.note = "a `save_to_disk` folder"
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                   and p.name not in ("dataset_info.json", "state.json", "dataset_dict.json"))
    split = spec.split or "train"
    preferred = [p for p in files if split in p.stem or split in p.parent.name]
    return preferred or files


def _summarize(report: DatasetReport) -> None:
    readable = [f for f in report.files if f.records or f.columns]
    if not readable:
        return
    report.records = readable[0].records
    report.columns = tuple(dict.fromkeys(c for f in readable for c in f.columns))
    counts = [f.count for f in report.files]
    if all(c is not None for c in counts):
        report.count = sum(counts)  # type: ignore[arg-type]
    report.count_exact = all(f.count_exact for f in report.files)


def _judge_contents(report: DatasetReport, sequence_len: int, tokenizer: TokenizerFacts | None) -> None:
    spec = report.spec
    report.shape = classify(set(report.columns), report.records)
    messages_column = spec.field_messages or next(
        (c for c in ("messages", "conversations", "conversation") if c in report.columns), "messages")
    if report.shape in ("conversational", "sharegpt") or spec.field_messages:
        mappings = dict(spec.message_property_mappings or {})  # what the trainer will read: judged as given
        report.messages = message_stats(report.records, messages_column, mappings, spec.roles)
    columns = {"messages": messages_column, "chosen": spec.field_chosen or "chosen",
               "rejected": spec.field_rejected or "rejected", "text": spec.field or "text"}
    if report.shape == "sharegpt" and not spec.message_property_mappings:
        columns.update(role="from", content="value")  # to measure lengths all the same
    elif report.messages is not None:
        columns.update(role=report.messages.role_key, content=report.messages.content_key)
    special = {"bos_token": tokenizer.bos_token if tokenizer else None,
               "eos_token": tokenizer.eos_token if tokenizer else None}
    report.lengths = measure(report.records, report.shape, columns, sequence_len,
                             tokenizer.tokenizer_json if tokenizer else None,
                             tokenizer.chat_template if tokenizer else None, special)
