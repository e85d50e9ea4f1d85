"""Which probes and smoke tests are running (and for how long), which answered, which failed: the status
line's model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ftdoctor.tui.data.tasks import ProbeTask, TaskEvent, TaskFailed, TaskFinished, TaskStarted

SMOKE = "smoke test"
# kind -> (what a finished one did, the key that runs them again)
KINDS = {"probe": ("answered", "r"), SMOKE: ("finished", "v")}


@dataclass(frozen=True)
class Progress:
    running: tuple[tuple[ProbeTask, float], ...] = ()  # (task, monotonic start)
    done: tuple[ProbeTask, ...] = ()  # in the order they answered
    failures: tuple[tuple[ProbeTask, str], ...] = ()  # (task, why)

    def apply(self, event: TaskEvent, now: float) -> Progress:
        name = event.task.name
        others = tuple((t, s) for t, s in self.running if t.name != name)
        done = tuple(t for t in self.done if t.name != name)
        failures = tuple((t, why) for t, why in self.failures if t.name != name)
        match event:
            case TaskStarted(task=task):
                return Progress(others + ((task, now),), done, failures)
            case TaskFinished(task=task):
                return Progress(others, done + (task,), failures)
            case TaskFailed(task=task, error=error):
                return Progress(others, done, failures + ((task, error),))
        raise TypeError(f"not a probe event: {event!r}")

    def restart(self, kind: str = "probe") -> Progress:
        """Before a new run of this kind: forget what earlier runs of it answered or failed."""
        return Progress(self.running, tuple(t for t in self.done if t.kind != kind),
                        tuple((t, why) for t, why in self.failures if t.kind != kind))

    def without(self, tasks: Iterable[ProbeTask]) -> Progress:
        """Once these tasks were stopped: no longer running, neither answered nor failed."""
        names = {task.name for task in tasks}
        return Progress(tuple((t, s) for t, s in self.running if t.name not in names), self.done, self.failures)

    @property
    def failed(self) -> tuple[tuple[str, str], ...]:
        """(task name, why) of each task that failed."""
        return tuple((task.name, why) for task, why in self.failures)

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def running_of(self, kind: str) -> tuple[ProbeTask, ...]:
        return tuple(task for task, _ in self.running if task.kind == kind)

    def line(self, now: float) -> str:
        """"running: torch 4 s, driver 1 s · done: system, toolkit · failed: python" (elapsed whole seconds);
        smoke tests on their own, shorter: "smoke tests running: triton 3 s (5 of 6 finished)"."""
        probes = [(t, s) for t, s in self.running if t.kind != SMOKE]
        smokes = [(t, s) for t, s in self.running if t.kind == SMOKE]
        parts = []
        if probes:
            parts.append("… running: " + ", ".join(f"{task.name} {int(now - start)} s" for task, start in probes))
        if smokes:
            parts.append(self._smokes_line(smokes, now))
        if self.failures:
            keys = "/".join(dict.fromkeys(KINDS.get(task.kind, KINDS["probe"])[1] for task, _ in self.failures))
            parts.append("✗ failed: " + ", ".join(name for name, _ in self.failed) + f" ({keys}: retry)")
        done_probes = [t.name for t in self.done if t.kind != SMOKE]
        if self.done and not self.running:
            parts.append(", ".join(_count(kind, n) for kind, n in _kinds(self.done).items()))
        elif probes and done_probes:
            parts.append("done: " + ", ".join(done_probes))
        return " · ".join(parts)

    def _smokes_line(self, smokes: list[tuple[ProbeTask, float]], now: float) -> str:
        ages = ", ".join(f"{task.name.removesuffix(' smoke')} {int(now - start)} s" for task, start in smokes)
        done = sum(1 for t in self.done if t.kind == SMOKE)
        total = done + len(smokes) + sum(1 for t, _ in self.failures if t.kind == SMOKE)
        return f"… smoke tests running: {ages} ({done} of {total} finished)"


def _kinds(tasks: Iterable[ProbeTask]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.kind] = counts.get(task.kind, 0) + 1
    return counts


def _count(kind: str, n: int) -> str:
    verb = KINDS.get(kind, KINDS["probe"])[0]
    return f"✓ {n} {kind}(s) {verb}"
