"""Smoke tests (`ftdoctor check --verify`) as probe tasks: one task per smoke test, so that each result is
judged the moment it arrives while the others still run.

A `SmokeRunner` runs them: `run(name)` blocks until that smoke test ended (its own bounded subprocess in the
real runner, tui/data/live.py) and gives its `SmokeResult`; `stop()` kills every smoke test still running
and all it started, after which `run` raises `Stopped` instead of giving a result. The app asks the factory
in `Runners.verify` for a new runner for each run, so a stopped run never affects the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from ftdoctor.facts.model import Facts, SmokeResult, Status, VerifyFacts
from ftdoctor.tui.data.state import CheckState, smoke_mark
from ftdoctor.tui.data.tasks import Merge, Patch, ProbeTask

KIND = "smoke test"


class Stopped(Exception):
    """The smoke test was stopped before it ended: there is no result to record."""


class SmokeRunner(Protocol):
    names: Sequence[str]  # the smoke tests of this run, in the catalog's order

    def run(self, name: str) -> SmokeResult: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class SmokeRun:
    """One run of the smoke tests in the app: its runner and its tasks."""

    runner: SmokeRunner
    tasks: tuple[ProbeTask, ...]

    @classmethod
    def of(cls, runner: SmokeRunner) -> SmokeRun:
        return cls(runner, smoke_tasks(runner))

    def pending(self, state: CheckState) -> tuple[ProbeTask, ...]:
        """The smoke tests of this run that have not answered yet."""
        return tuple(task for task in self.tasks if state.awaits(task))

    def outcome(self, state: CheckState) -> str:
        """How each ended: "torch ok, flash-attn failed, distributed could not run"."""
        def ended(name: str) -> str:
            if smoke_mark(name) in state.failed:
                return "could not run"
            result = state.facts.verify.smoke(name)
            return result.status.value if result else "no result"

        return ", ".join(f"{name} {ended(name)}" for name in self.runner.names)


def smoke_tasks(runner: SmokeRunner) -> tuple[ProbeTask, ...]:
    """One task per smoke test; each adds its result to `Facts.verify` and is waited for as "<name> smoke"."""
    return tuple(
        ProbeTask(smoke_mark(name), f"{name} smoke test", ("verify",), partial(_run, runner, name),
                  parts=(smoke_mark(name),), kind=KIND)
        for name in runner.names
    )


def _run(runner: SmokeRunner, name: str, facts: Facts) -> Patch:
    result = runner.run(name)
    if result.name != name:
        raise ValueError(f"the runner answered the {name} smoke test with the result of {result.name!r}")
    return {"verify": Merge(partial(with_result, result, order=tuple(runner.names)))}


def with_result(result: SmokeResult, verify: VerifyFacts, order: Sequence[str] = ()) -> VerifyFacts:
    """`verify` with this smoke test's result in place of any earlier one. Its time is the longest smoke test
    so far: they run at once, so that is how long the run has taken."""
    kept = [s for s in verify.smokes if s.name != result.name] + [result]
    rank = {name: i for i, name in enumerate(order)}
    smokes = tuple(sorted(kept, key=lambda s: rank.get(s.name, len(rank))))
    times = [s.elapsed_s for s in smokes if s.elapsed_s is not None]
    return VerifyFacts(status=Status.OK, reason="", smokes=smokes, elapsed_s=max(times) if times else None)
