"""The fix dialog: the exact commands first, nothing runs on cancel; on confirm a real shell runs them with
the output shown live, the first failure stops the plan, escape stops a running command, and afterwards
the machine is probed again and the changes are listed."""

from __future__ import annotations

import shlex

from synthetic_machine import facts, marker_task, plain, runners, wait_for
from textual.widgets import Log, Static

from ftdoctor.facts.model import Facts
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.runners import Origin
from ftdoctor.tui.dialogs.confirm import ConfirmDialog
from ftdoctor.tui.dialogs.fix_run import FixRunScreen

SIZE = (100, 30)


def fix_app(marker, *commands: str):
    return make_app(runners((marker_task(marker),), torch_fix=commands), Origin.this_machine(), facts())


async def open_torch_fix(pilot, app) -> None:
    await wait_for(pilot, lambda: not app.main.state.probing and app.main.state.findings, what="the first probe")
    await pilot.press("n")  # from ARC200 to TOR300
    assert app.main.tree.current.code == "TOR300"
    await pilot.press("x")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")


def log_lines(app) -> list[str]:
    return list(app.screen.query_one(Log).lines)


def severity_of(app, code: str) -> str:
    return next(f.severity.value for f in app.main.state.findings if f.code == code)


async def test_confirm_runs_the_commands_live_then_rechecks_and_lists_what_changed(tmp_path):
    marker = tmp_path / "torch-upgraded"
    command = f"printf 'downloading torch\\n'; printf 'installed torch 2.7.1\\n'; touch {shlex.quote(str(marker))}"
    app = fix_app(marker, command)
    async with app.run_test(size=SIZE) as pilot:
        await open_torch_fix(pilot, app)
        shown = " ".join(plain(s) for s in app.screen.query(Static))
        assert f"$ {command}" in shown  # exactly what will run
        assert "Afterwards ftdoctor probes again" in shown
        assert not marker.exists()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FixRunScreen) and app.screen.finished, what="the fix")
        lines = log_lines(app)
        assert lines[:4] == [f"step 1 of 1: $ {command}", "downloading torch", "installed torch 2.7.1",
                             "✓ step 1 succeeded"]
        assert "  ✓ env probe answered" in lines
        assert "  TOR300 ✗ error → ✓ ok  torch 2.7.1+cu128 has kernels for sm_120" in lines
        assert lines[-1] == "1 changed (1 better); 6 unchanged."
        assert marker.exists()
        await pilot.press("escape")
        assert app.screen is app.main
        assert severity_of(app, "TOR300") == "ok"
        labels = [str(n.label) for n in app.main.tree.root.children]
        assert "✓ torch build · 1 info, 1 ok" in labels


async def test_cancel_runs_nothing(tmp_path):
    marker = tmp_path / "never"
    app = fix_app(marker, f"touch {marker}")
    async with app.run_test(size=SIZE) as pilot:
        await open_torch_fix(pilot, app)
        assert app.screen.focused.id == "no"  # enter on the default button cancels
        await pilot.press("enter")
        assert app.screen is app.main
        await pilot.pause(0.3)
        assert not marker.exists()
        assert severity_of(app, "TOR300") == "error"
        assert any("Cancelled: nothing ran." in str(n.message) for n in app._notifications)


async def test_the_first_failing_command_stops_the_plan(tmp_path):
    marker = tmp_path / "second-step"
    app = fix_app(marker, "echo resolving; echo 'ERROR: No matching distribution' >&2; exit 3", f"touch {marker}")
    async with app.run_test(size=SIZE) as pilot:
        await open_torch_fix(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FixRunScreen) and app.screen.finished, what="the fix")
        lines = log_lines(app)
        assert "ERROR: No matching distribution" in lines  # stderr is shown too
        assert "✗ step 1 failed with exit status 3" in lines
        assert "the plan stopped here; later steps did not run" in lines
        assert not any(line.startswith("step 2") for line in lines)
        assert not marker.exists()
        assert lines[-1] == "Nothing changed: all 7 findings are as they were."


async def test_escape_stops_a_running_command_and_its_children(tmp_path):
    marker = tmp_path / "after-sleep"
    app = fix_app(marker, f"echo started; sleep 30; touch {marker}")
    async with app.run_test(size=SIZE) as pilot:
        await open_torch_fix(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FixRunScreen) and "started" in log_lines(app),
                       what="the command to start")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.finished, timeout=10, what="the cancel")
        assert "✗ step 1 cancelled (its processes were stopped)" in log_lines(app)
        await pilot.pause(0.2)
        assert not marker.exists()


async def test_fixes_of_a_saved_snapshot_are_not_run_here():
    app = make_app(runners(()), Origin.snapshot("box.json", facts()), facts())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "x")
        assert app.screen is app.main
        assert any("its fixes belong on that machine" in str(n.message) for n in app._notifications)


async def test_a_build_without_a_step_runner_says_so(tmp_path):
    from dataclasses import replace

    live = runners((marker_task(tmp_path / "m"),))
    app = make_app(replace(live, run_step=None), Origin.this_machine(), Facts())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: not app.main.state.probing and app.main.state.findings, what="the probe")
        await pilot.press("n", "x")
        assert app.screen is app.main
        assert any("Running fixes is not available here" in str(n.message) for n in app._notifications)


async def test_the_plan_comes_from_the_fix_runner_with_every_finding(tmp_path):
    """x asks the `fix_plan` runner (ftdoctor fix's planner, live) for the highlighted finding; F for every
    problem. What it returns is what the confirmation shows and what runs."""
    from dataclasses import replace

    from ftdoctor.tui.data.runners import FixPlan, PlanStep

    asked = []

    def plan(given, findings, finding, fix):
        asked.append((given.label, len(findings), finding.code if finding else None, fix.summary if fix else None))
        return FixPlan("ftdoctor fix for TOR300", (PlanStep("echo planned", action="fix-step"),),
                       ("WARNING: it will DOWNGRADE torch 2.7.1 -> 2.6.0+cu126.",))

    ran = []

    def run_step(step, on_output, should_stop):
        from ftdoctor.tui.data.runners import StepResult

        ran.append(step.action)
        return StepResult(step.command, 0, 0.0)

    live = replace(runners((marker_task(tmp_path / "m"),)), fix_plan=plan, run_step=run_step)
    app = make_app(live, Origin.this_machine(), facts())
    async with app.run_test(size=SIZE) as pilot:
        await open_torch_fix(pilot, app)
        shown = " ".join(plain(s) for s in app.screen.query(Static))
        assert "WARNING: it will DOWNGRADE torch 2.7.1 -> 2.6.0+cu126." in shown and "$ echo planned" in shown
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, FixRunScreen) and app.screen.finished, what="the fix")
        assert ran == ["fix-step"]  # the step went to the runner with the planner's action
        await pilot.press("escape", "F")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the plan for every problem")
        assert asked[0][1:] == (7, "TOR300", asked[0][3]) and asked[0][3]
        assert asked[1][1:] == (7, None, None)


async def test_a_planner_that_fails_or_plans_nothing_says_so_in_one_line(tmp_path):
    from dataclasses import replace

    from ftdoctor.errors import UsageError
    from ftdoctor.tui.data.runners import FixPlan

    def failing(*args):
        raise UsageError("the machine has NVIDIA GPUs but no driver answered", where="this environment")

    live = replace(runners((marker_task(tmp_path / "m"),)), fix_plan=failing)
    app = make_app(live, Origin.this_machine(), facts())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: not app.main.state.probing and app.main.state.findings, what="the probe")
        await pilot.press("n", "n", "x")
        await wait_for(pilot, lambda: any("no driver answered" in str(n.message) for n in app._notifications),
                       what="the error")
        assert app.screen is app.main
    nothing = replace(live, fix_plan=lambda *a: FixPlan("x", (), ("By hand (never run here): upgrade the driver",)))
    app = make_app(nothing, Origin.this_machine(), facts())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: not app.main.state.probing and app.main.state.findings, what="the probe")
        await pilot.press("n", "n", "x")
        await wait_for(pilot, lambda: any("upgrade the driver" in str(n.message) for n in app._notifications),
                       what="the advice")
        assert app.screen is app.main
