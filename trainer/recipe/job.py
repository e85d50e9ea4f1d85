"""What one training run is asked to do, resolved by the launching process (paths made absolute, data files
listed and hashed, the DeepSpeed JSON read) and written to the run directory, so that every rank reads the
same thing and a resumed run trains on exactly what the record says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdoctor.typed_data import from_plain, to_plain

JOB_FILE = "job.json"


@dataclass(frozen=True)
class DataSource:
    """One `datasets:` (or `test_datasets:`) entry, located on disk."""

    section: str  # "datasets" | "test_datasets"
    index: int
    name: str  # `path` as written in the config
    kind: str  # "files" | "disk" (a save_to_disk folder)
    paths: tuple[str, ...]  # absolute
    format: str  # json | parquet | csv | text | arrow ("" for disk)
    shape: str = "unknown"  # what the preflight saw: conversational, prompt_completion, preference, ...
    split: str = "train"


@dataclass(frozen=True)
class Job:
    config_path: str  # absolute
    output_dir: str  # absolute; checkpoints, the adapter and the run record go here
    model_path: str  # a local directory
    tokenizer_path: str
    data: tuple[DataSource, ...]
    method: str  # sft | dpo | ipo | simpo | orpo | kto | grpo | reward
    device: str = "cpu"  # "cpu" | "cuda"
    processes: int = 1
    distributed: str = "none"  # none | ddp | deepspeed | fsdp
    deepspeed: dict[str, Any] | None = None  # the DeepSpeed JSON, as read
    resume_from: str | None = None  # a checkpoint directory
    forced: bool = False  # launched with --force past error-level findings
    env: dict[str, str] = field(default_factory=dict)  # recorded for the log; the launcher sets them

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / "run"


def save_job(job: Job, path: Path) -> Path:
    from ftdoctor import atomic

    return atomic.write_text(path, json.dumps(to_plain(job), indent=2) + "\n", overwrite=True)


def load_job(path: str | Path) -> Job:
    return from_plain(Job, json.loads(Path(path).read_text(encoding="utf-8")), "job")
