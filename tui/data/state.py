"""What the app knows at one moment: the facts, the findings judged from them, and which sections are
still being probed or could not be (for a smoke test: which smoke test is still running). Each probe event
gives a new state; nothing here is mutated."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from types import MappingProxyType

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding
from ftdoctor.tui.data.tasks import ProbeTask, TaskEvent, TaskFailed, TaskFinished, TaskStarted, apply_patch, run_tasks

Judge = Callable[[Facts], Sequence[Finding]]

# Which facts each rule family reads (directly or through `rules.facts_view`), so that a family's findings
# wait for the probes they need and "re-run this check" re-probes only those. Erring wide only delays a
# family; a family missing here waits for every probe.
FAMILY_SECTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "driver": ("driver", "system"),
    "architecture": ("driver", "torch", "python", "system", "env"),
    "torch": ("torch", "driver", "python", "system"),
    "toolkit": ("toolkit", "torch", "python", "env"),
    "system": ("system", "env", "python", "torch", "driver"),
    "packages": ("python", "torch", "driver", "system"),
    "flash_attn": ("python", "torch", "driver", "system"),
    "bitsandbytes": ("python", "torch", "driver", "system", "env"),
    "deepspeed": ("python", "torch", "toolkit", "driver", "env", "system"),
    "abi": ("abi", "python", "torch", "system"),
})


def smoke_mark(name: str) -> str:
    """What a family that judges smoke test `name` waits for while it runs ("torch smoke")."""
    return f"{name} smoke"


@cache
def smoke_families() -> Mapping[str, tuple[str, ...]]:
    """Family -> the smoke tests its rules judge (each rule's `smoke`), from the registry: such a family waits
    for those smoke tests, and for every probe (its rules read the machine's facts too)."""
    from ftdoctor.rules import all_rules
    from ftdoctor.rules.smoke import smoke_of

    found: dict[str, list[str]] = {}
    for rule in all_rules():
        if smoke_of(rule):
            found.setdefault(rule.family, []).append(smoke_of(rule))
    return MappingProxyType({family: tuple(dict.fromkeys(names)) for family, names in found.items()})


@dataclass(frozen=True)
class CheckState:
    facts: Facts
    findings: tuple[Finding, ...] = ()
    waiting: frozenset[str] = frozenset()  # sections a probe has still to answer
    failed: Mapping[str, str] = field(default_factory=dict)  # section -> why its probe failed

    @classmethod
    def judged(cls, facts: Facts, judge: Judge) -> CheckState:
        return cls(facts=facts, findings=tuple(judge(facts)))

    def begin(self, tasks: Iterable[ProbeTask]) -> CheckState:
        """The state while these tasks run: their sections wait, earlier failures of them are forgotten."""
        sections = {s for task in tasks for s in task.awaited}
        failed = {s: why for s, why in self.failed.items() if s not in sections}
        return replace(self, waiting=self.waiting | sections, failed=failed)

    def apply(self, event: TaskEvent, judge: Judge) -> CheckState:
        match event:
            case TaskStarted():
                return self
            case TaskFinished(task=task, patch=patch):
                facts = apply_patch(self.facts, task, patch)
                return replace(
                    self, facts=facts, findings=tuple(judge(facts)), waiting=self.waiting - set(task.awaited)
                )
            case TaskFailed(task=task, error=error):
                failed = {**self.failed, **{s: _failure(task, error) for s in task.awaited}}
                return replace(self, waiting=self.waiting - set(task.awaited), failed=failed)
        raise TypeError(f"not a probe event: {event!r}")

    def awaits(self, task: ProbeTask) -> bool:
        """Whether the task's answer is still expected: false once it answered, or was stopped."""
        return bool(set(task.awaited) & self.waiting)

    def stop(self, tasks: Iterable[ProbeTask]) -> CheckState:
        """The state once these tasks were stopped before answering: nothing waits for them, nothing failed."""
        return replace(self, waiting=self.waiting - {s for task in tasks for s in task.awaited})

    def waiting_smokes(self, family: str) -> frozenset[str]:
        """The smoke tests still running that this family judges (its findings appear when they answer)."""
        return frozenset(smoke_mark(name) for name in smoke_families().get(family, ())) & self.waiting

    @property
    def settled(self) -> tuple[Finding, ...]:
        """The findings of families whose probes have all answered: the ones shown and counted."""
        return tuple(f for f in self.findings if not self.sections_of(f.family) & self.waiting)

    def sections_of(self, family: str) -> frozenset[str]:
        smokes = smoke_families().get(family)
        if smokes:
            return frozenset(smoke_mark(name) for name in smokes) | _PROBED
        return frozenset(FAMILY_SECTIONS.get(family, ())) or self.all_sections

    @property
    def all_sections(self) -> frozenset[str]:
        return frozenset(self.waiting) | frozenset(self.failed) | _FACT_SECTIONS

    @property
    def probing(self) -> bool:
        return bool(self.waiting)


_FACT_SECTIONS = frozenset(f.name for f in fields(Facts)) - {"schema", "ftdoctor_version", "collected_at", "label"}
_PROBED = _FACT_SECTIONS - {"verify"}  # smoke tests fill `verify`, and families wait for them by name


def _failure(task: ProbeTask, error: str) -> str:
    if task.kind == "probe":
        return f"the {task.name} probe failed: {error}"
    return f"the {task.title} did not run to its end: {error}"


def tasks_for(family: str | None, tasks: Sequence[ProbeTask]) -> tuple[ProbeTask, ...]:
    """The tasks that feed a family's findings (every task for an unknown family or for None)."""
    wanted = set(FAMILY_SECTIONS.get(family, ())) if family else set()
    chosen = tuple(task for task in tasks if wanted & set(task.sections))
    return chosen or tuple(tasks)


def recheck(
    state: CheckState,
    tasks: Sequence[ProbeTask],
    judge: Judge,
    emit: Callable[[TaskEvent], None] = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> CheckState:
    """Probe again with `tasks` and judge: the state after a fix ran. Blocks; call it from a worker thread."""
    current = [state.begin(tasks)]

    def fold(event: TaskEvent) -> None:
        current[0] = current[0].apply(event, judge)
        emit(event)

    run_tasks(tasks, state.facts, fold, should_stop)
    if not tasks:
        return CheckState.judged(state.facts, judge)
    return current[0]
