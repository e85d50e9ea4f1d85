"""The probe scheduler and the state folded from its events: order, concurrency, failures, stopping."""

from __future__ import annotations

import threading
import time

import pytest
from synthetic_machine import DRIVER, PYTHON, TORCH, judge

from ftdoctor.facts.model import Facts
from ftdoctor.tui.data.state import CheckState, recheck, tasks_for
from ftdoctor.tui.data.tasks import ProbeTask, TaskFailed, TaskFinished, TaskStarted, apply_patch, run_tasks


def collect(tasks, facts=None, **kwargs):
    events = []
    final = run_tasks(tasks, facts or Facts(), events.append, **kwargs)
    return final, events


def names(events, kind):
    return [e.task.name for e in events if isinstance(e, kind)]


def test_tasks_run_at_once_and_a_dependant_after_its_need():
    both_started = threading.Barrier(2, timeout=5)  # deadlocks unless driver and python run together

    def meet(section, value):
        def run(facts):
            both_started.wait()
            return {section: value}
        return run

    seen_python = []
    tasks = (
        ProbeTask("driver", "d", ("driver",), meet("driver", DRIVER)),
        ProbeTask("python", "p", ("python",), meet("python", PYTHON)),
        ProbeTask("torch", "t", ("torch",), lambda f: seen_python.append(f.python) or {"torch": TORCH}, ("python",)),
    )
    final, events = collect(tasks)
    assert final.driver == DRIVER and final.python == PYTHON and final.torch == TORCH
    assert seen_python == [PYTHON]  # torch saw python's answer
    assert names(events, TaskStarted)[-1] == "torch"
    assert sorted(names(events, TaskFinished)) == ["driver", "python", "torch"]


def test_a_raising_task_fails_alone_and_its_dependants_are_not_run():
    ran = []
    tasks = (
        ProbeTask("python", "p", ("python",), lambda f: 1 / 0),
        ProbeTask("torch", "t", ("torch",), lambda f: ran.append("torch") or {}, ("python",)),
        ProbeTask("driver", "d", ("driver",), lambda f: {"driver": DRIVER}),
    )
    final, events = collect(tasks)
    failures = {e.task.name: e.error for e in events if isinstance(e, TaskFailed)}
    assert failures == {"python": "ZeroDivisionError: division by zero",
                        "torch": "not run: it needs the python probe, which failed"}
    assert ran == [] and final.driver == DRIVER


@pytest.mark.parametrize("patch, error", [
    ({"torch": TORCH}, "probe 'driver' returned sections it does not own: torch"),
    (None, "'NoneType' object is not iterable"),
])
def test_a_task_returning_the_wrong_thing_fails_with_the_reason(patch, error):
    final, events = collect((ProbeTask("driver", "d", ("driver",), lambda f: patch),))
    assert [e.error for e in events if isinstance(e, TaskFailed)] == [error]
    assert final == Facts()


def test_a_stop_returns_at_once_without_waiting_for_a_stuck_probe():
    release = threading.Event()
    stop = threading.Event()
    tasks = (ProbeTask("stuck", "s", ("driver",), lambda f: release.wait(30) and {}),)
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    started = time.monotonic()
    collect(tasks, should_stop=stop.is_set)
    assert time.monotonic() - started < 2
    release.set()


def test_state_waits_per_section_and_judges_each_answer():
    tasks = (ProbeTask("driver", "d", ("driver",), lambda f: {}), ProbeTask("torch", "t", ("torch",), lambda f: {}))
    state = CheckState.judged(Facts(), judge).begin(tasks)
    assert state.waiting == {"driver", "torch"} and state.probing
    state = state.apply(TaskFinished(tasks[0], {"driver": DRIVER}, 0.1), judge)
    assert state.waiting == {"torch"}
    assert next(f for f in state.findings if f.code == "DRV100").message.startswith("NVIDIA driver 570")
    state = state.apply(TaskFailed(tasks[1], "RuntimeError: boom"), judge)
    assert not state.probing
    assert state.failed == {"torch": "the torch probe failed: RuntimeError: boom"}
    assert state.begin(tasks[1:]).failed == {}  # a retry forgets the old failure


def test_a_family_waits_for_the_sections_it_reads_and_an_unknown_one_for_all():
    state = CheckState(Facts(), waiting=frozenset({"torch"}))
    assert state.sections_of("driver") == {"driver", "system"}
    assert "torch" in state.sections_of("architecture")
    assert "torch" in state.sections_of("flash-attn")  # not in the table: waits for everything


def test_tasks_for_a_family_are_the_ones_feeding_its_sections():
    tasks = tuple(ProbeTask(n, n, (n,), lambda f: {}) for n in ("driver", "toolkit", "python", "torch"))
    assert [t.name for t in tasks_for("driver", tasks)] == ["driver"]
    assert [t.name for t in tasks_for("toolkit", tasks)] == ["toolkit", "python", "torch"]
    assert [t.name for t in tasks_for("flash-attn", tasks)] == ["driver", "toolkit", "python", "torch"]
    assert [t.name for t in tasks_for(None, tasks)] == ["driver", "toolkit", "python", "torch"]


def test_recheck_probes_again_and_judges_the_result():
    fixed = ProbeTask("env", "e", ("env",), lambda f: {"env": {"TORCH_FIXED": "yes"}})
    before = CheckState.judged(Facts(torch=TORCH), judge)
    seen = []
    after = recheck(before, (fixed,), judge, seen.append)
    assert next(f for f in after.findings if f.code == "TOR300").severity.value == "ok"
    assert [type(e).__name__ for e in seen] == ["TaskStarted", "TaskFinished"]
    assert not after.probing


def test_apply_patch_replaces_only_the_named_sections():
    task = ProbeTask("driver", "d", ("driver",), lambda f: {})
    facts = Facts(label="x", torch=TORCH)
    assert apply_patch(facts, task, {"driver": DRIVER}) == Facts(label="x", torch=TORCH, driver=DRIVER)
