"""The seam between the app and the rest of ftdoctor: everything the app does to a machine goes through a
`Runners` value given to the app factory. Tests pass their own; `live.py` builds the real ones.

A runner that is None is a feature this build of ftdoctor does not have: the app says so, in words, and
never shows a made-up result in its place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding, Fix
from ftdoctor.tui.data.smokes import SmokeRunner
from ftdoctor.tui.data.tasks import ProbeTask


@dataclass(frozen=True)
class PlanStep:
    command: str  # what runs, exactly as shown (by `/bin/sh -c`, unless `action` says how)
    why: str = ""
    action: Any = None  # for the runner that made the plan: how to run it (`ftdoctor fix`'s step with its rollback)


@dataclass(frozen=True)
class FixPlan:
    title: str
    steps: tuple[PlanStep, ...]
    notes: tuple[str, ...] = ()  # shown above the commands: what will change, what it will not touch


@dataclass(frozen=True)
class StepResult:
    command: str
    returncode: int | None
    elapsed_s: float
    signal: str | None = None
    cancelled: bool = False
    start_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.cancelled and self.start_error is None

    def describe(self) -> str:
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.cancelled:
            return "cancelled (its processes were stopped)"
        if self.signal:
            return f"killed by {self.signal}"
        return "succeeded" if self.returncode == 0 else f"failed with exit status {self.returncode}"


@dataclass(frozen=True)
class Report:
    """Findings that come from somewhere other than this machine's probes: a log's diagnosis, a config's
    preflight. `notes` are lines shown above them (the memory estimate, "no known cause")."""

    findings: tuple[Finding, ...]
    titles: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # more lines, in the detail pane of the tree's root (the memory breakdown)


@dataclass(frozen=True)
class Lockfile:
    name: str  # the file name ftdoctor would write
    text: str  # the lockfile, or (not ok) why nothing fits and what would
    command: str = ""  # the `ftdoctor lock` command that writes it
    ok: bool = True


OnOutput = Callable[[str], None]
ShouldStop = Callable[[], bool]


def plan_from_fix(facts: Facts, findings: Sequence[Finding], finding: Finding | None, fix: Fix | None) -> FixPlan:
    """A finding's fix as a plan: its commands, in order, exactly as the rule wrote them. For every problem
    (finding None): the first fix of each, in the order of the findings."""
    if finding is not None and fix is not None:
        return FixPlan(title=f"{finding.code}: {fix.summary}", steps=tuple(PlanStep(c) for c in fix.commands))
    chosen = [(f, f.fixes[0]) for f in findings if f.is_problem and f.fixes]
    steps = tuple(PlanStep(c, f.code) for f, first in chosen for c in first.commands)
    return FixPlan(title=f"the fixes of {len(chosen)} problem(s)", steps=steps)


@dataclass(frozen=True)
class Runners:
    judge: Callable[[Facts], Sequence[Finding]]
    titles: Mapping[str, str] = field(default_factory=dict)  # family -> title
    probes: tuple[ProbeTask, ...] = ()  # empty: a saved snapshot, nothing to probe again
    # (facts, every finding, the finding, its highlighted fix) -> what to run; finding None: every problem
    fix_plan: Callable[[Facts, Sequence[Finding], Finding | None, Fix | None], FixPlan] = plan_from_fix
    run_step: Callable[[PlanStep, OnOutput, ShouldStop], StepResult] | None = None
    verify: Callable[[], SmokeRunner] | None = None  # a new run of the smoke tests (`check --verify`) per call
    explain: Callable[[str, Facts | None], Report] | None = None  # a log's text -> diagnoses
    preflight: Callable[[Path, Facts], Report] | None = None  # a training config -> findings + estimate
    lockfile: Callable[[Facts, Origin], Lockfile] | None = None  # the lockfile `ftdoctor lock` would write


# What the app says for a runner this build lacks: the feature, and the command that brings it.
UNAVAILABLE: Mapping[str, str] = {
    "verify": "Smoke tests (`ftdoctor check --verify`) are not in this build of ftdoctor.",
    "explain": "Log diagnosis (`ftdoctor explain`) is not in this build of ftdoctor.",
    "preflight": "Config preflight (`ftdoctor train --dry-run`) is not in this build of ftdoctor.",
    "lockfile": "The lockfile view (`ftdoctor lock`) is not in this build of ftdoctor.",
    "run_step": "Running fixes is not available here: copy the commands with c and run them yourself.",
}


@dataclass(frozen=True)
class Origin:
    """What is being judged: this machine (probed live) or a saved snapshot of some machine."""

    live: bool
    label: str  # "this machine", "snapshot gpu-box.json (node-3)"
    path: str = ""  # the snapshot's file

    @classmethod
    def this_machine(cls) -> Origin:
        return cls(live=True, label="this machine")

    @classmethod
    def snapshot(cls, path: str | Path, facts: Facts) -> Origin:
        named = f" ({facts.label})" if facts.label else ""
        return cls(live=False, label=f"snapshot {Path(path).name}{named}", path=str(path))


@dataclass(frozen=True)
class AppInputs:
    """Everything the app starts from. With `facts` and no probes, the app judges them and probes nothing."""

    runners: Runners
    origin: Origin
    facts: Facts = field(default_factory=Facts)
    findings: tuple[Finding, ...] | None = None  # None: judge `facts` when the app starts
    verify: bool = False  # run the smoke tests from the start, beside the probes (`--verify`)
