"""Smoke tests as probe tasks, without a screen: one task per smoke test, each result merged into
`Facts.verify` as it arrives (none overwrites another), each family waiting only for its own smoke test,
and the status line counting smoke tests apart from probes."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from fake_smokes import BNB_HUNG, FLASH_ATTN_BROKEN, TORCH_OK, FakeSmokes
from synthetic_machine import Gate

from ftdoctor.facts.model import Facts, SmokeResult, SmokeStatus, Status, VerifyFacts
from ftdoctor.rules import all_rules
from ftdoctor.rules.settings import Settings
from ftdoctor.rules.smoke import smoke_of
from ftdoctor.tui.data.live import judge_with
from ftdoctor.tui.data.progress import Progress
from ftdoctor.tui.data.smokes import smoke_tasks, with_result
from ftdoctor.tui.data.state import FAMILY_SECTIONS, CheckState, smoke_families
from ftdoctor.tui.data.tasks import Merge, ProbeTask, TaskFailed, TaskFinished, TaskStarted, apply_patch, run_tasks


def test_each_result_replaces_only_its_own_and_keeps_the_catalogs_order():
    order = ("torch", "bitsandbytes-4bit", "flash-attn")
    verify = with_result(FLASH_ATTN_BROKEN, VerifyFacts(), order)
    verify = with_result(TORCH_OK, verify, order)
    assert verify.ran and verify.reason == "" and [s.name for s in verify.smokes] == ["torch", "flash-attn"]
    assert verify.elapsed_s == 3.4  # they run at once: the run took as long as its longest smoke test
    again = replace(TORCH_OK, status=SmokeStatus.FAILED, elapsed_s=1.0)
    verify = with_result(again, verify, order)
    assert [s.status for s in verify.smokes] == [SmokeStatus.FAILED, SmokeStatus.FAILED]
    old = with_result(replace(TORCH_OK, name="deepspeed-ops"), VerifyFacts(status=Status.OK), ())
    assert [s.name for s in with_result(TORCH_OK, old, order).smokes] == ["torch", "deepspeed-ops"]  # kept, last


def test_smoke_tasks_running_at_once_all_land_in_verify():
    gates = {"torch": Gate(), "bitsandbytes-4bit": Gate(), "flash-attn": Gate()}
    runner = FakeSmokes({"torch": TORCH_OK, "bitsandbytes-4bit": BNB_HUNG, "flash-attn": FLASH_ATTN_BROKEN}, gates)
    tasks = smoke_tasks(runner)
    assert [(t.name, t.title, t.sections, t.parts, t.kind) for t in tasks][0] == (
        "torch smoke", "torch smoke test", ("verify",), ("torch smoke",), "smoke test")
    events: list = []
    state = [CheckState(Facts()).begin(tasks)]

    def fold(event):
        events.append(event)
        state[0] = state[0].apply(event, lambda facts: [])

    for name in ("flash-attn", "torch", "bitsandbytes-4bit"):  # released out of order, each while others run
        threading.Timer(0.1 * (1 + len(name) % 3), gates[name].release).start()
    final = run_tasks(tasks, Facts(), fold)
    assert sorted(e.task.name for e in events if isinstance(e, TaskStarted)) == sorted(t.name for t in tasks)
    assert len([e for e in events if isinstance(e, TaskFinished)]) == 3
    for facts in (final, state[0].facts):  # the scheduler's copy and the app's state agree
        assert [s.name for s in facts.verify.smokes] == ["torch", "bitsandbytes-4bit", "flash-attn"]
    assert not state[0].probing


def test_a_runner_that_answers_with_another_smoke_fails_that_task():
    runner = FakeSmokes({"triton": TORCH_OK})
    events: list = []
    run_tasks(smoke_tasks(runner), Facts(), events.append)
    assert [e.error for e in events if isinstance(e, TaskFailed)] == [
        "ValueError: the runner answered the triton smoke test with the result of 'torch'"]


def test_a_merge_is_applied_to_the_section_as_it_is_then():
    task = ProbeTask("torch smoke", "t", ("verify",), lambda f: {}, parts=("torch smoke",))
    before = Facts(verify=with_result(FLASH_ATTN_BROKEN, VerifyFacts()))
    after = apply_patch(before, task, {"verify": Merge(lambda verify: with_result(TORCH_OK, verify))})
    assert [s.name for s in after.verify.smokes] == ["flash-attn", "torch"]


def test_a_family_waits_only_for_its_own_smoke_test():
    torch_task, flash_task = smoke_tasks(FakeSmokes({"torch": TORCH_OK, "flash-attn": FLASH_ATTN_BROKEN}))
    state = CheckState(Facts()).begin((torch_task, flash_task))
    assert state.waiting == {"torch smoke", "flash-attn smoke"}
    assert state.waiting_smokes("verify-torch") == {"torch smoke"}
    assert state.waiting_smokes("flash_attn") == frozenset()  # the metadata family reads no smoke test
    assert not state.sections_of("flash_attn") & state.waiting
    assert "driver" in state.sections_of("verify-torch")  # it reads the machine's facts too
    state = state.apply(TaskFinished(torch_task, {"verify": Merge(lambda v: with_result(TORCH_OK, v))}, 2.0),
                        lambda facts: [])
    assert state.waiting == {"flash-attn smoke"} and state.awaits(flash_task) and not state.awaits(torch_task)
    stopped = state.stop((flash_task,))
    assert not stopped.probing and not stopped.failed and not stopped.awaits(flash_task)


def test_the_smoke_families_are_the_rules_own_and_every_family_knows_what_it_waits_for():
    smokes = smoke_families()
    assert smokes["verify-torch"] == ("torch",) and smokes["distributed"] == ("distributed",)
    assert smokes["verify-deepspeed"] == ("deepspeed", "deepspeed-ops")
    assert {smoke_of(r) for r in all_rules() if smoke_of(r)} == {s for names in smokes.values() for s in names}
    # a family in neither table would wait for every probe and every smoke test
    assert {r.family for r in all_rules()} <= set(FAMILY_SECTIONS) | set(smokes)


def test_the_status_line_counts_smoke_tests_apart_and_names_their_key():
    probe = ProbeTask("driver", "d", ("driver",), lambda f: {})
    torch_task, flash_task = smoke_tasks(FakeSmokes({"torch": TORCH_OK, "flash-attn": FLASH_ATTN_BROKEN}))
    now = time.monotonic()
    progress = Progress()
    for event in (TaskStarted(probe), TaskStarted(torch_task), TaskStarted(flash_task)):
        progress = progress.apply(event, now - 3)
    assert progress.line(now) == "… running: driver 3 s · … smoke tests running: torch 3 s, flash-attn 3 s (0 of 2 finished)"
    progress = progress.apply(TaskFinished(probe, {}, 1.0), now).apply(TaskFinished(torch_task, {}, 1.0), now)
    assert progress.line(now) == "… smoke tests running: flash-attn 3 s (1 of 2 finished)"
    progress = progress.apply(TaskFailed(flash_task, "RuntimeError: boom"), now)
    assert progress.line(now) == "✗ failed: flash-attn smoke (v: retry) · ✓ 1 probe(s) answered, ✓ 1 smoke test(s) finished"
    assert progress.restart("smoke test").line(now) == "✓ 1 probe(s) answered"  # a new smoke run forgets the last
    assert progress.restart("probe").failed == (("flash-attn smoke", "RuntimeError: boom"),)
    running = Progress().apply(TaskStarted(torch_task), now)
    assert not running.without((torch_task,)).busy


def test_a_smoke_result_is_a_fact_the_rules_judge():
    state = CheckState(Facts()).begin(smoke_tasks(FakeSmokes({"torch": TORCH_OK})))
    hung = SmokeResult("torch", SmokeStatus.TIMEOUT, "did not finish within 120 s during 'cuda init'")
    task, = smoke_tasks(FakeSmokes({"torch": hung}))
    judged = state.apply(TaskFinished(task, {"verify": Merge(lambda v: with_result(hung, v))}, 120.0),
                         judge_with(Settings()))
    tor380 = next(f for f in judged.findings if f.code == "TOR380")
    assert tor380.message == "the torch smoke test hung: did not finish within 120 s during 'cuda init'"
    assert "TOR380" in {f.code for f in judged.settled}
