"""Where the run's data comes from: the files the preflight located (JSON lines, Parquet, CSV, a save_to_disk
folder, a dataset in the local hub cache), read with `datasets` and converted — never a download."""

from __future__ import annotations

import pytest

from ftdoctor.trainer.launch.guarded import data_sources
from ftdoctor.trainer.preflight import prepare
from ftdoctor.trainer.recipe.data import prepare_splits
from training_helpers import SFT, cpu_target

pytestmark = pytest.mark.slow  # imports datasets


def splits_for(config):
    pre = prepare(config, cpu_target())
    sources, hashes = data_sources(pre)
    return pre, sources, hashes, prepare_splits(pre.config, sources, "language_modeling", 0)


def test_parquet_and_csv_files(project):
    import pandas as pd

    from ftdoctor.trainer import tiny

    rows = tiny.prompt_completions(30)
    pd.DataFrame(rows).to_parquet(project.root / "data" / "pc.parquet")
    pd.DataFrame([{"text": f"{r['prompt']} {r['completion']}"} for r in rows]).to_csv(project.root / "data" / "t.csv",
                                                                                       index=False)
    body = SFT.replace("  - path: data/chat.jsonl\n    type: chat_template\n",
                       "  - path: data/pc.parquet\n")
    _, sources, hashes, splits = splits_for(project(body))
    assert sources[0].format == "parquet" and len(hashes) == 1
    assert splits.target == "prompt_completion" and len(splits.train) == 30
    body = SFT.replace("  - path: data/chat.jsonl\n    type: chat_template\n",
                       "  - path: data/t.csv\n    type: completion\n")
    _, sources, _, splits = splits_for(project(body))
    assert sources[0].format == "csv" and splits.target == "text" and splits.train[0]["text"].startswith("what")


def test_a_save_to_disk_folder(project):
    from datasets import Dataset

    from ftdoctor.trainer import tiny

    Dataset.from_list(tiny.conversations(25)).save_to_disk(str(project.root / "data" / "saved"))
    body = SFT.replace("data/chat.jsonl", "data/saved")
    _, sources, _, splits = splits_for(project(body))
    assert sources[0].kind == "disk" and splits.target == "messages" and len(splits.train) == 25


def test_a_dataset_from_the_local_hub_cache(project, monkeypatch):
    from ftdoctor.trainer import tiny

    cache = project.root / "hub"
    snapshot = cache / "datasets--acme--tiny-chat" / "snapshots" / "0123abcd"
    tiny.write_jsonl(snapshot / "data" / "train.jsonl", tiny.conversations(12))
    (cache / "datasets--acme--tiny-chat" / "refs").mkdir()
    (cache / "datasets--acme--tiny-chat" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    pre, sources, hashes, splits = splits_for(project(SFT.replace("data/chat.jsonl", "acme/tiny-chat")))
    assert pre.datasets[0].located.kind == "cache"
    assert sources[0].paths == (str((snapshot / "data" / "train.jsonl").resolve()),)
    assert len(splits.train) == 12 and list(hashes) == list(sources[0].paths)


def test_two_datasets_are_concatenated_and_test_datasets_evaluate(project):
    from ftdoctor.trainer import tiny

    tiny.write_jsonl(project.root / "data" / "more.jsonl", tiny.conversations(10, seed=3))
    tiny.write_jsonl(project.root / "data" / "eval.jsonl", tiny.conversations(5, seed=4))
    body = SFT.replace("    type: chat_template\n", "    type: chat_template\n  - path: data/more.jsonl\n"
                       "    type: chat_template\ntest_datasets:\n  - path: data/eval.jsonl\n    type: chat_template\n", 1)
    _, sources, _, splits = splits_for(project(body))
    assert [s.section for s in sources] == ["datasets", "datasets", "test_datasets"]
    assert len(splits.train) == 210 and len(splits.eval) == 5
