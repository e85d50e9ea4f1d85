"""`ftdoctor demo DIR`: the tiny model built, trained through the guarded launch, reloaded and generating."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_demo_trains_reloads_and_answers(tmp_path, cli):
    folder = tmp_path / "demo"
    result = cli("demo", str(folder), "--steps", "30", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "ftdoctor: training finished: loss" in result.stdout and "30 steps" in result.stdout
    assert "the adapter reloaded onto the base model answers" in result.stdout
    answers = [line for line in result.stdout.splitlines() if line.startswith("  A: ")]
    assert len(answers) == 3 and all(len(a) > len("  A: ") for a in answers)
    record = json.loads((folder / "out" / "run" / "record.json").read_text())
    assert record["status"] == "finished"
    first, last = record["attempts"][0]["result"]["first_loss"], record["attempts"][0]["result"]["last_loss"]
    assert last < 0.7 * first
    assert (folder / "out" / "adapter_model.safetensors").is_file()

    again = cli("demo", str(folder))
    assert again.returncode == 3 and "refusing to overwrite" in again.stderr
