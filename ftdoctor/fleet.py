"""Several machines' saved facts, named: the nodes of a cluster, for `compare` and `check --facts-dir`.

Snapshots are collected with the cluster's own launcher (see the README); ftdoctor runs no agent. A machine
is named by its snapshot's label (`check --label`), else by its file name; two machines never share a name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftdoctor.errors import InputFileError, UsageError
from ftdoctor.facts.model import Facts


@dataclass(frozen=True)
class Machine:
    name: str
    source: str  # the snapshot file
    facts: Facts


@dataclass(frozen=True)
class FleetContext:
    """What a fleet rule may read: every machine at once (rules see one machine through `Context`)."""

    machines: tuple[Machine, ...]
    matrix: Any = None
    settings: Any = None


def snapshot_files(directory: str) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        raise InputFileError("not a directory", where=directory, hint="give the folder that holds the *.json snapshots")
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    if not files:
        raise InputFileError(
            "no *.json facts snapshots in this directory", where=directory,
            hint="save one per node with `ftdoctor check --label NODE --save-facts DIR/NODE.json`",
        )
    return files


def load_machines(paths: list[str] | list[Path]) -> list[Machine]:
    from ftdoctor.facts import serialize

    if len(set(map(str, paths))) != len(paths):
        raise UsageError("the same snapshot is named twice", hint="give each node's facts file once")
    loaded = [(str(p), serialize.load(p)) for p in paths]
    names = unique_names([facts.label or Path(path).stem for path, facts in loaded])
    return [Machine(name, path, facts) for name, (path, facts) in zip(names, loaded)]


def unique_names(names: list[str]) -> list[str]:
    """'node1', 'node1' -> 'node1 (1)', 'node1 (2)': a report must never mix two machines up."""
    seen = Counter(names)
    counter: Counter[str] = Counter()
    result = []
    for name in names:
        if seen[name] > 1:
            counter[name] += 1
            result.append(f"{name} ({counter[name]})")
        else:
            result.append(name)
    return result


def judge_fleet(machines: list[Machine], settings: Any = None) -> list:
    """The CMP findings over these machines (the same engine: requires, settings, a crashing rule contained)."""
    from ftdoctor.matrix import load_matrix
    from ftdoctor.rules.engine import judge
    from ftdoctor.rules.fleet import RULES

    return judge(RULES, FleetContext(tuple(machines), load_matrix(), settings))  # type: ignore[arg-type]


def machine_line(machine: Machine) -> str:
    """One line per machine above a comparison: what it is, at a glance."""
    f = machine.facts
    gpus = Counter(g.name for g in f.driver.gpus)
    gpu_text = ", ".join(f"{n}× {name}" for name, n in sorted(gpus.items())) or "no GPU"
    driver = f.driver.driver_version.value or "no driver"
    torch = f.torch.version or "no torch"
    python = f.python.version or "?"
    return f"{machine.name}: {gpu_text}; driver {driver}; torch {torch}; Python {python} ({machine.source})"
