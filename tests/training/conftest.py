"""Fixtures of the trainer tests: the tiny model WITH weights (built once per session, no hub) and projects laid
out as a user would (model, data, config in one folder). Plain helpers are in training_helpers.py."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from training_helpers import _set_key

@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """The tiny Llama with random weights and its tokenizer, saved once per session."""
    from ftdoctor.trainer import tiny

    return tiny.build(tmp_path_factory.mktemp("tiny-weights") / "model")


@pytest.fixture
def project(tmp_path, tiny_weights):
    """A folder with the tiny model, chat data, preference pairs and a config writer."""
    from ftdoctor.trainer import tiny

    shutil.copytree(tiny_weights, tmp_path / "model")
    tiny.write_jsonl(tmp_path / "data" / "chat.jsonl", tiny.conversations(200))
    tiny.write_jsonl(tmp_path / "data" / "pairs.jsonl", tiny.preference_pairs(64))

    def write(text: str, name: str = "config.yml", **changes: object) -> Path:
        body = textwrap.dedent(text).lstrip("\n")
        for key, value in changes.items():
            body = _set_key(body, key, value)
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        return path
    write.root = tmp_path
    return write
