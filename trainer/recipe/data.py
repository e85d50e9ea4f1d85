"""The run's datasets: the files the launcher located and hashed, read with `datasets`, converted to the
method's TRL format, concatenated, and split for evaluation (`val_set_size`). Never a hub lookup: a
source is local files or a `save_to_disk` folder (a hub dataset is read from its local cache files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftdoctor.trainer.config.schema import DatasetConfig, TrainConfig
from ftdoctor.trainer.recipe.formats import UnsupportedData, conversion
from ftdoctor.trainer.recipe.job import DataSource

SUFFIX_FORMATS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".parquet": "parquet", ".csv": "csv",
                  ".tsv": "csv", ".arrow": "arrow", ".txt": "text"}


@dataclass
class Splits:
    train: Any  # datasets.Dataset
    eval: Any | None
    target: str  # the TRL format of the rows


def file_format(path: str, forced: str | None = None) -> str:
    from pathlib import Path

    return forced or SUFFIX_FORMATS.get(Path(path).suffix.lower(), "json")


def read_source(source: DataSource):
    """One source as a `datasets.Dataset` (no conversion)."""
    import datasets

    if source.kind == "disk":
        loaded = datasets.load_from_disk(source.paths[0])
        return loaded[source.split] if isinstance(loaded, datasets.DatasetDict) else loaded
    options = {"delimiter": "\t"} if source.format == "csv" and source.paths[0].endswith(".tsv") else {}
    return datasets.load_dataset(source.format, data_files=list(source.paths), split="train", **options)


def prepare_splits(config: TrainConfig, sources: tuple[DataSource, ...], data_kind: str, seed: int) -> Splits:
    train_parts, eval_parts, targets = [], [], set()
    for source in sources:
        spec = _spec(config, source)
        converted, target = _converted(read_source(source), spec, data_kind, config.default_system_message)
        targets.add(target)
        (eval_parts if source.section == "test_datasets" else train_parts).append(converted)
    if len(targets) > 1:
        raise UnsupportedData(f"the datasets turn into different formats ({', '.join(sorted(targets))}), which "
                              "one run cannot mix", "train on datasets of one kind, or convert them first")
    train = _concatenate(train_parts)
    evaluation = _concatenate(eval_parts) if eval_parts else None
    size = config.val_set_size or 0
    if size and evaluation is None:
        parts = train.train_test_split(test_size=size if size < 1 else int(size), seed=seed)
        train, evaluation = parts["train"], parts["test"]
    return Splits(train, evaluation, targets.pop())


def _spec(config: TrainConfig, source: DataSource) -> DatasetConfig:
    entries = config.datasets if source.section == "datasets" else config.test_datasets
    return (entries or ())[source.index]


def _converted(dataset, spec: DatasetConfig, data_kind: str, default_system: str | None):
    convert = conversion(spec, data_kind, tuple(dataset.column_names), default_system=default_system)
    drop = [] if convert.keep_columns else list(dataset.column_names)
    mapped = dataset.map(convert, remove_columns=drop, desc=f"Formatting {spec.path}")
    return mapped, convert.target


def _concatenate(parts: list):
    import datasets

    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
