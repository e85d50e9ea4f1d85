"""Probes in background workers: the screen answers keys while they run, shows what is still running,
judges each family once the probes it reads have answered, survives a probe that fails, re-runs."""

from __future__ import annotations

from fake_smokes import TORCH_OK, Factory
from synthetic_machine import Gate, facts, failing_task, live_tasks, plain, runners, task, wait_for
from textual.widgets import Static

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.runners import Origin

SIZE = (100, 30)


def live_app(probes):
    return make_app(runners(probes), Origin.this_machine(), Facts(label="rtx5090-box"))


def family_labels(app) -> list[str]:
    return [str(node.label) for node in app.main.tree.root.children]


def status_text(app) -> str:
    return plain(app.main.query_one("#status", Static))


async def test_findings_arrive_as_probes_answer_and_the_screen_stays_responsive():
    driver, torch, python = Gate(), Gate(), Gate()
    app = live_app(live_tasks(driver, torch, python))
    async with app.run_test(size=SIZE) as pilot:
        both = lambda: "running: driver" in status_text(app) and "python" in status_text(app)  # noqa: E731
        await wait_for(pilot, both, what="the driver and python probes to start")
        assert "torch" not in status_text(app)  # torch waits for python
        assert family_labels(app)[0] == "… NVIDIA driver · waiting for driver"
        await pilot.press("question_mark")  # keys work while probes run
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")

        driver.release()
        await wait_for(pilot, lambda: family_labels(app)[0] == "✓ NVIDIA driver · 2 ok", what="the driver family")
        assert any(label.startswith("… torch build · waiting for") for label in family_labels(app))
        assert "Probing… so far" in status_text(app)

        python.release()
        await wait_for(pilot, lambda: "running: torch" in status_text(app), what="torch to start after python")
        torch.release()
        await wait_for(pilot, lambda: not app.main.state.probing, what="every probe to answer")
        assert "✗ torch build · 1 error, 1 info" in family_labels(app)
        assert "✓ 3 probe(s) answered" in status_text(app)
        assert "✗ Problems found: 1 error, 2 warnings" in status_text(app)
        current = app.main.tree.current
        assert isinstance(current, Finding) and current.code == "ARC200"  # the first problem, once judged


async def test_a_failing_probe_is_shown_and_its_dependants_do_not_run():
    probes = (
        task("driver", lambda f: {"driver": f.driver}),
        failing_task("python", RuntimeError("pip metadata is corrupt")),
        task("torch", lambda f: {"torch": f.torch}, needs=("python",)),
    )
    app = live_app(probes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: not app.main.state.probing and app.main.progress.failed, what="the failure")
        failed = dict(app.main.progress.failed)
        assert failed["python"] == "RuntimeError: pip metadata is corrupt"
        assert failed["torch"] == "not run: it needs the python probe, which failed"
        assert "✗ failed: python, torch (r: retry)" in status_text(app)
        torch_family = next(n for n in app.main.tree.root.children if n.data.family == "torch")
        assert str(torch_family.label) == "✗ torch build · probe failed"
        app.main.tree.go_to(torch_family)
        await pilot.pause()
        detail = plain(app.main.query_one("#detail-text", Static))
        assert "the python probe failed: RuntimeError: pip metadata is corrupt" in detail


async def test_r_re_probes_what_the_highlighted_check_reads_and_R_everything():
    calls: list[str] = []

    def counted(name, section):
        return task(name, lambda f: calls.append(name) or {section: getattr(f, section)})

    probes = (counted("driver", "driver"), counted("python", "python"), counted("torch", "torch"),
              counted("toolkit", "toolkit"))
    app = live_app(probes)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(calls) == 4 and not app.main.state.probing, what="the first probes")
        calls.clear()
        await pilot.press("home", "down")  # the driver family
        await pilot.press("r")
        await wait_for(pilot, lambda: calls and not app.main.state.probing, what="the driver re-run")
        assert calls == ["driver"]
        calls.clear()
        await pilot.press("R")
        await wait_for(pilot, lambda: len(calls) == 4 and not app.main.state.probing, what="re-running all")
        assert sorted(calls) == ["driver", "python", "toolkit", "torch"]


async def test_a_second_run_waits_for_the_first():
    gate = Gate()
    app = live_app(live_tasks(gate))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.progress.busy, what="the probes to start")
        await pilot.press("R")
        assert any("Probes are still running (driver" in str(n.message) for n in app._notifications)
        gate.release()
        await wait_for(pilot, lambda: not app.main.state.probing, what="the probes to finish")


async def test_a_saved_snapshot_is_judged_again_not_probed():
    app = make_app(runners(()), Origin.snapshot("box.json", Facts()), Facts())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert any("a saved snapshot has nothing to probe" in str(n.message) for n in app._notifications)
        assert not app.main.state.probing


async def test_smoke_tests_say_they_are_not_in_this_build():
    app = live_app(())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        assert any("Smoke tests (`ftdoctor check --verify`) are not in this build" in str(n.message)
                   for n in app._notifications)


async def test_results_arriving_do_not_move_the_command_the_user_chose():
    gate = Gate()
    smokes = Factory({"torch": TORCH_OK}, {"torch": gate})
    app = make_app(runners((), torch_fix=("echo first", "echo second"), verify=smokes), Origin.this_machine(),
                   facts())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "tab", "down")  # TOR300, its second command
        assert app.main.detail.highlighted[1] == "echo second"
        await pilot.press("v")
        await wait_for(pilot, lambda: app.main.progress.busy, what="the smoke tests to start")
        gate.release()
        await wait_for(pilot, lambda: not app.main.state.probing, what="the smoke tests to answer")
        assert app.main.detail.highlighted[1] == "echo second"
