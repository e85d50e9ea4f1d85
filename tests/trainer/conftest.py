"""Fixtures of the preflight tests: a tiny local model (built once per session, no hub) and configs written
into tmp_path. Plain helpers are in preflight_helpers.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def write_config(tmp_path):
    def write(text: str, name: str = "config.yml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """config.json and tokenizer of the tiny Llama (no weights: no torch needed)."""
    from ftdoctor.trainer import tiny

    return tiny.build(tmp_path_factory.mktemp("tiny") / "model", weights=False)


@pytest.fixture
def tiny_project(tmp_path, tiny_model):
    """A folder with the tiny model, a chat dataset and a preference dataset, as a user would lay it out."""
    import shutil

    from ftdoctor.trainer import tiny

    shutil.copytree(tiny_model, tmp_path / "model")
    tiny.write_jsonl(tmp_path / "data" / "chat.jsonl", tiny.conversations(200))
    tiny.write_jsonl(tmp_path / "data" / "pairs.jsonl", tiny.preference_pairs(100))
    return tmp_path
