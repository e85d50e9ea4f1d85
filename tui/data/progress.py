"""Which probes are running, which answered, which failed: the status line's model."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ftdoctor.tui.data.tasks import ProbeTask, TaskEvent, TaskFailed, TaskFinished, TaskStarted


@dataclass(frozen=True)
class Progress:
    running: tuple[tuple[ProbeTask, float], ...] = ()  # (task, monotonic start)
    finished: tuple[str, ...] = ()  # task names, in the order they answered
    failed: tuple[tuple[str, str], ...] = ()  # (task name, why)

    def apply(self, event: TaskEvent, now: float) -> Progress:
        name = event.task.name
        others = tuple((t, s) for t, s in self.running if t.name != name)
        finished = tuple(n for n in self.finished if n != name)
        failed = tuple((n, why) for n, why in self.failed if n != name)
        match event:
            case TaskStarted(task=task):
                return Progress(others + ((task, now),), finished, failed)
            case TaskFinished():
                return Progress(others, finished + (name,), failed)
            case TaskFailed(error=error):
                return Progress(others, finished, failed + ((name, error),))
        raise TypeError(f"not a probe event: {event!r}")

    def restart(self) -> Progress:
        return replace(self, finished=(), failed=())

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def line(self, now: float) -> str:
        """"running: torch 4 s, driver 1 s · done: system, toolkit · failed: python" (elapsed whole seconds)."""
        parts = []
        if self.running:
            ages = ", ".join(f"{task.name} {int(now - start)} s" for task, start in self.running)
            parts.append(f"… running: {ages}")
        if self.failed:
            parts.append("✗ failed: " + ", ".join(name for name, _ in self.failed) + " (r: retry)")
        if self.finished and not self.running:
            parts.append(f"✓ {len(self.finished)} probe(s) answered")
        elif self.finished:
            parts.append("done: " + ", ".join(self.finished))
        return " · ".join(parts)
