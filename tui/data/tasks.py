"""Probing as a set of tasks that run at once and report as they go.

A `ProbeTask` fills some sections of a facts snapshot (`driver`, `torch`, ...). `run_tasks` starts every
task whose prerequisites have finished, each on its own daemon thread, and reports each start, result and
failure as an event, so a screen can show what is still running and judge each section as it arrives.
Daemon threads, because a probe stuck in a slow subprocess must never keep the app from quitting.

Smoke tests (`check --verify`) are tasks too, one per smoke test, all adding to the one `verify` section: their
patches are `Merge`s, applied to the section as it is when each result arrives, and each names its own `parts`
so that a family waits only for the smoke test it judges.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ftdoctor.facts.model import Facts

Patch = Mapping[str, Any]  # Facts field name -> its new value, or a `Merge` into the value it has then


@dataclass(frozen=True)
class Merge:
    """A patch value for a section several tasks add to at once: `into(value the section has when the result
    arrives)` gives its new value, so that no task's result overwrites another's."""

    into: Callable[[Any], Any]


@dataclass(frozen=True)
class ProbeTask:
    name: str
    title: str  # what the user sees: "torch (imported in a subprocess)"
    sections: tuple[str, ...]  # the Facts fields this task fills, and no others
    run: Callable[[Facts], Patch]  # gets the facts as they are once its `needs` finished
    needs: tuple[str, ...] = ()  # names of tasks whose sections it reads
    parts: tuple[str, ...] = ()  # what families wait for while it runs, when not its sections ("torch smoke")
    kind: str = "probe"  # "probe" or "smoke test": how the status line counts it, and which key runs it again

    @property
    def awaited(self) -> tuple[str, ...]:
        return self.parts or self.sections


@dataclass(frozen=True)
class TaskStarted:
    task: ProbeTask


@dataclass(frozen=True)
class TaskFinished:
    task: ProbeTask
    patch: Patch
    elapsed_s: float


@dataclass(frozen=True)
class TaskFailed:
    task: ProbeTask
    error: str
    elapsed_s: float = 0.0


TaskEvent = TaskStarted | TaskFinished | TaskFailed


def apply_patch(facts: Facts, task: ProbeTask, patch: Patch) -> Facts:
    """The facts with the task's sections replaced; a task may not write a section it does not own."""
    foreign = sorted(set(patch) - set(task.sections))
    if foreign:
        raise ValueError(f"probe {task.name!r} returned sections it does not own: {', '.join(foreign)}")
    values = {name: v.into(getattr(facts, name)) if isinstance(v, Merge) else v for name, v in patch.items()}
    return dataclasses.replace(facts, **values)


def run_tasks(
    tasks: Iterable[ProbeTask],
    facts: Facts,
    emit: Callable[[TaskEvent], None],
    should_stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.05,
) -> Facts:
    """Run the tasks, prerequisites first and the rest at once; return the facts with every result applied.

    A task that raises becomes a `TaskFailed` event; a task whose prerequisite failed is not run and fails
    too, naming it. When `should_stop()` turns true no new task starts and the call returns at once.
    """
    pending = list(tasks)
    names = {task.name for task in pending}
    results: queue.Queue[tuple[ProbeTask, Patch | None, str | None, float]] = queue.Queue()
    done: set[str] = set()
    failed: set[str] = set()
    running = 0
    while (pending or running) and not should_stop():
        for task in _ready(pending, names, done | failed):
            pending.remove(task)
            blocked = [need for need in task.needs if need in failed]
            if blocked:
                failed.add(task.name)
                emit(TaskFailed(task, f"not run: it needs the {', '.join(blocked)} probe, which failed"))
                continue
            emit(TaskStarted(task))
            _start(task, facts, results)
            running += 1
        try:
            task, patch, error, elapsed = results.get(timeout=poll_s)
        except queue.Empty:
            continue
        running -= 1
        facts = _settle(task, patch, error, elapsed, facts, emit, done, failed)
    return facts


def _ready(pending: list[ProbeTask], names: set[str], settled: set[str]) -> list[ProbeTask]:
    return [task for task in pending if all(need in settled or need not in names for need in task.needs)]


def _start(task: ProbeTask, facts: Facts, results: queue.Queue) -> None:
    def body() -> None:
        started = time.monotonic()
        try:
            patch, error = task.run(facts), None
        except Exception as exc:  # noqa: BLE001 - a probe bug becomes an event, never a dead app
            patch, error = None, f"{type(exc).__name__}: {exc}"
        results.put((task, patch, error, round(time.monotonic() - started, 3)))

    threading.Thread(target=body, name=f"ftdoctor-probe-{task.name}", daemon=True).start()


def _settle(task, patch, error, elapsed, facts, emit, done, failed) -> Facts:
    if error is None:
        try:
            facts = apply_patch(facts, task, patch)
        except (ValueError, TypeError) as exc:
            error = str(exc)
    if error is not None:
        failed.add(task.name)
        emit(TaskFailed(task, error, elapsed))
        return facts
    done.add(task.name)
    emit(TaskFinished(task, patch, elapsed))
    return facts
