"""The recorded machines load as saved snapshots do, round-trip, and match what recorded.py builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import recorded

from ftdoctor.facts import serialize

FILES = sorted(Path(__file__).resolve().parent.glob("*.json"))


def test_at_least_the_required_configurations_are_recorded():
    names = {f.stem for f in FILES}
    assert len(names) >= 10
    assert {"h100-driver580-cu130", "a100-driver535-cu124", "t4-driver525", "rtx4090-cu121", "rtx5090-cu126",
            "v100-cu130", "two-gpus-4090-1080ti", "container-no-userspace", "cpu-laptop", "wsl2-rtx3060"} <= names


def test_committed_files_match_the_builder():
    """A changed facts model or builder must be followed by `python tests/machines/recorded.py`."""
    stale = [name for name, text in recorded.built().items() if (FILES[0].parent / name).read_text() != text]
    assert not stale, f"regenerate with `python tests/machines/recorded.py`: {stale}"
    assert {f.name for f in FILES} == set(recorded.built())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_machine_loads_and_round_trips(path: Path):
    facts = serialize.load(path)
    assert facts.label == path.stem
    assert json.loads(serialize.dumps(facts)) == json.loads(path.read_text())


def test_the_readme_describes_every_machine():
    readme = (FILES[0].parent / "README.md").read_text()
    missing = [f.stem for f in FILES if f"`{f.stem}`" not in readme]
    assert not missing, f"tests/machines/README.md does not describe {missing}"
