"""Smoke tests (`check --verify`) in the app: each runs as its own background task, the screen says which are
still running and for how long, judges each family the moment its smoke test ends (finished, failed, timed
out), survives a runner that fails, and `V` or quitting stops them. A snapshot refuses to run them here.

The smoke runner is a fake given through the app factory; the judge is ftdoctor's own rules, so the verdicts
are the ones `check --verify` prints. test_real_smokes.py runs the real runner."""

from __future__ import annotations

import re

from fake_smokes import BNB_HUNG, FLASH_ATTN_BROKEN, TORCH_OK, Factory
from synthetic_machine import Gate, facts, live_tasks, plain, wait_for
from textual.widgets import Static

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.rules import FAMILY_TITLES
from ftdoctor.rules.settings import Settings
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.live import judge_with
from ftdoctor.tui.data.runners import Origin, Runners

SIZE = (100, 30)
JUDGE = judge_with(Settings())  # ftdoctor's rules and matrix, as the real app judges


def verify_app(factory, probes=(), origin=None, verify=False):
    runners = Runners(judge=JUDGE, titles=FAMILY_TITLES, probes=probes, verify=factory)
    return make_app(runners, origin or Origin.this_machine(), facts(), verify=verify)


def labels(app) -> list[str]:
    return [str(node.label) for node in app.main.tree.root.children]


def label_of(app, family: str) -> str:
    return next(str(n.label) for n in app.main.tree.root.children if n.data.family == family)


def status(app) -> str:
    return plain(app.main.query_one("#status", Static))


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def finding(app, code: str):
    return next(f for f in app.main.state.findings if f.code == code)


async def test_each_verdict_appears_as_its_smoke_test_ends_and_the_screen_stays_responsive():
    torch, flash = Gate(), Gate()
    factory = Factory({"torch": TORCH_OK, "flash-attn": FLASH_ATTN_BROKEN}, {"torch": torch, "flash-attn": flash})
    app = verify_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        assert "verify-torch" not in [n.data.family for n in app.main.tree.root.children]  # not run: not listed
        await pilot.press("v")
        both = lambda: "smoke tests running: torch" in status(app) and "flash-attn" in status(app)  # noqa: E731
        await wait_for(pilot, both, what="both smoke tests to start")
        assert "… torch smoke test · waiting for torch smoke" in labels(app)
        assert "… flash-attn smoke test · waiting for flash-attn smoke" in labels(app)
        assert any("Running 2 smoke test(s) in the background: torch, flash-attn. V stops them." in n for n in notices(app))
        await pilot.press("question_mark")  # keys work while the smoke tests run
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause(1.1)  # the status line ticks each second: the elapsed time grows (more on a busy box)
        ticked = re.search(r"torch (\d+) s", status(app))
        assert ticked and int(ticked[1]) >= 1 and "(0 of 2 finished)" in status(app), status(app)

        torch.release()
        await wait_for(pilot, lambda: label_of(app, "verify-torch").startswith("✓"), what="the torch verdict")
        assert label_of(app, "verify-torch") == "✓ torch smoke test · 1 ok, 1 skipped"
        assert finding(app, "TOR380").message == "a 256x256 matmul is right on cpu (torch 2.13.0+cpu)"
        assert label_of(app, "verify-flash-attn") == "… flash-attn smoke test · waiting for flash-attn smoke"
        assert "smoke tests running: flash-attn" in status(app) and "(1 of 2 finished)" in status(app)
        assert app.main.state.probing  # a fix or a re-probe would judge half-verified facts

        flash.release()
        await wait_for(pilot, lambda: not app.main.state.probing, what="the flash-attn verdict")
        assert label_of(app, "verify-flash-attn").startswith("✗ flash-attn smoke test · 1 error")
        assert "undefined symbol _ZN3c104cuda9SetDeviceEi (this torch: 2.4.1+cu121)" in finding(app, "FLA750").message
        assert "✓ 2 smoke test(s) finished" in status(app)
        assert "Smoke tests done: torch ok, flash-attn failed." in notices(app)
        verify = app.main.state.facts.verify
        assert verify.ran and [s.name for s in verify.smokes] == ["torch", "flash-attn"] and verify.elapsed_s == 3.4
        assert "FLA750" in [f.code for f in app.findings]  # the exit code counts the smoke verdicts


async def test_a_smoke_test_that_timed_out_and_a_runner_that_failed():
    factory = Factory({"bitsandbytes-4bit": BNB_HUNG, "distributed": RuntimeError("no free port to rendezvous on")})
    app = verify_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await wait_for(pilot, lambda: not app.main.state.probing and app.main.progress.failed, what="both to end")
        hung = finding(app, "BNB850")
        assert hung.severity.value == "error"
        assert hung.message.startswith("the bitsandbytes smoke test hung: did not finish within 180 s during "
                                       "'import bitsandbytes'")
        assert hung.evidence["stage"] == "import bitsandbytes"
        assert dict(app.main.progress.failed)["distributed smoke"] == "RuntimeError: no free port to rendezvous on"
        assert "Smoke tests done: bitsandbytes-4bit timeout, distributed could not run." in notices(app)
        assert "✗ failed: distributed smoke (v: retry)" in status(app)
        assert label_of(app, "distributed").startswith("✗ Distributed (NCCL / gloo) · probe failed")
        app.main.tree.go_to(next(n for n in app.main.tree.root.children if n.data.family == "distributed"))
        await pilot.pause()
        detail = plain(app.main.query_one("#detail-text", Static))
        assert ("the distributed smoke test did not run to its end: RuntimeError: no free port to rendezvous on "
                "(v runs the smoke tests again)") in detail
        assert app.main.state.facts.verify.smoke("distributed") is None  # no made-up result


async def test_V_stops_the_smoke_tests_and_records_nothing_then_v_runs_them_again():
    gate = Gate()
    factory = Factory({"torch": TORCH_OK}, {"torch": gate})
    app = verify_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await wait_for(pilot, lambda: "smoke tests running: torch" in status(app), what="the smoke test to start")
        await pilot.press("v")
        assert "The smoke tests are still running (torch smoke); V stops them." in notices(app)
        await pilot.press("V")
        assert factory.runs[0].stopped.is_set()  # the runner was told to kill its processes
        assert not app.main.state.probing and "running" not in status(app)
        assert "verify-torch" not in [n.data.family for n in app.main.tree.root.children]
        assert "Stopped torch smoke: their processes were killed; no result was recorded for them." in notices(app)
        assert not app.main.state.facts.verify.ran
        await pilot.pause(0.2)  # the stopped task's own "stopped" answer arrives late and changes nothing
        assert not app.main.progress.failed and not app.main.state.failed

        gate.release()
        await pilot.press("v")  # a new run, with a new runner
        await wait_for(pilot, lambda: app.main.state.facts.verify.ran, what="the second run")
        assert len(factory.runs) == 2 and app.main.state.facts.verify.smoke("torch").status == SmokeStatus.OK
        await pilot.press("V")
        assert "No smoke test is running." in notices(app)


async def test_quitting_stops_the_smoke_tests_still_running():
    factory = Factory({"torch": TORCH_OK}, {"torch": Gate()})
    app = verify_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await wait_for(pilot, lambda: factory.runs and factory.runs[0].started, what="the smoke test to start")
        await pilot.press("q")
    assert factory.runs[0].stopped.is_set()


async def test_a_snapshot_refuses_to_run_smoke_tests_here():
    factory = Factory({"torch": TORCH_OK})
    app = verify_app(factory, origin=Origin.snapshot("gpu-box.json", facts()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        assert any(n.startswith("Smoke tests run on this machine, and these findings are from snapshot gpu-box.json "
                                "(rtx5090-box): they cannot be verified here.") for n in notices(app))
        assert factory.runs == [] and not app.main.state.probing


async def test_verify_from_the_start_runs_beside_the_probes():
    driver = Gate()
    app = verify_app(Factory({"torch": TORCH_OK}, {"torch": Gate()}), probes=live_tasks(driver), verify=True)
    async with app.run_test(size=SIZE) as pilot:
        beside = lambda: "running: driver" in status(app) and "smoke tests running: torch" in status(app)  # noqa: E731
        await wait_for(pilot, beside, what="probes and smoke tests running at once")
        await pilot.press("R")
        assert any(n.startswith("Probes are still running (") and "V stops the smoke tests" in n for n in notices(app))
        driver.release()
        await wait_for(pilot, lambda: not app.main.progress.running_of("probe"), what="the probes")
        assert "smoke tests running: torch" in status(app) and "running: driver" not in status(app)
        await pilot.press("R")
        assert any(n.startswith("Smoke tests are still running (torch smoke)") for n in notices(app))
        await pilot.press("q")
