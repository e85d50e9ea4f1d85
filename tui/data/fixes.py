"""`ftdoctor fix` inside the app: its plan for the findings on screen, and its steps run one by one.

The plan is the one `ftdoctor fix` prints (`ftdoctor.fix.plan.make_plan` over the findings shown), narrowed to
the steps that answer the highlighted finding (every package step goes with any one of them: the lock chose
them together). pip's own dry run says beforehand what each step really changes, and the confirmation names
every downgrade and removal. Steps run through `ftdoctor.fix.apply`: a pip step that fails (or is stopped) is
rolled back, an environment step is written to the environment's activation script, and by-hand steps are
listed, never run. A variable a step sets is also given to the probes, so the re-check sees it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding, Fix
from ftdoctor.probes.host import Host
from ftdoctor.tui.data.runners import FixPlan, OnOutput, PlanStep, ShouldStop, StepResult
from ftdoctor.tui.data.shell import run_in_shell

Preview = Callable[[object], list]  # ftdoctor.fix.plan.Plan -> [(Step, changes)]: pip's dry run of each step


@dataclass(frozen=True)
class FixAction:
    """A runnable step of `ftdoctor fix`'s plan and what applying it needs."""

    step: object  # ftdoctor.fix.plan.Step
    changes: tuple  # what pip's dry run says it changes
    python: str
    prefix: str  # the environment the step changes (its stash and activation script live there)
    kind: str  # "venv" | "conda" | ...


def planner(preview: Preview | None = None) -> Callable[[Facts, Sequence[Finding], Finding | None, Fix | None], FixPlan]:
    """The app's `fix_plan` runner. `preview` defaults to pip's dry run (`ftdoctor.fix.apply.preview`)."""

    def plan(facts: Facts, findings: Sequence[Finding], finding: Finding | None, fix: Fix | None) -> FixPlan:
        from ftdoctor.fix import apply
        from ftdoctor.fix.plan import Plan, make_plan
        from ftdoctor.matrix import load_matrix

        whole = make_plan(facts, load_matrix(), list(findings))
        chosen = _steps_for(whole, finding)
        previews = (preview or apply.preview)(Plan(whole.python, tuple(chosen), whole.problems))
        steps = tuple(_plan_step(whole.python, step, changes, facts) for step, changes in previews)
        return FixPlan(_title(whole, finding), steps, _notes(whole, finding, previews, facts))

    return plan


def _steps_for(whole, finding: Finding | None) -> list:
    """The runnable steps that answer the finding (all of them for None), in the plan's order."""
    runnable = list(whole.runnable)
    if finding is None:
        return runnable
    mine = [s for s in runnable if _answers(s, finding)]
    if any(s.kind == "pip" for s in mine):
        mine = [s for s in runnable if s.kind == "pip" or s in mine]
    return mine


def _answers(step, finding: Finding) -> bool:
    return any(why.split(" ", 1)[0] == finding.code for why in step.why)


def _title(whole, finding: Finding | None) -> str:
    if finding is None:
        return f"ftdoctor fix for {len(whole.problems)} problem(s)"
    return f"ftdoctor fix for {finding.code}"


def _plan_step(python: str, step, changes: tuple, facts: Facts) -> PlanStep:
    action = FixAction(step, tuple(changes), python, facts.python.prefix or "", facts.python.kind or "")
    return PlanStep(step.command(python), step.title, action)


def _notes(whole, finding: Finding | None, previews: list, facts: Facts) -> tuple[str, ...]:
    """What the confirmation says above the commands: removals and downgrades first, then what changes."""
    changes = [c for _, found in previews for c in found]
    risky = [c.describe() for c in changes if c.kind in ("downgrade", "uninstall")]
    notes = [f"WARNING: it will {', '.join(risky)}."] if risky else []
    notes += [f"It will {c.describe()}." for c in changes if c.kind not in ("downgrade", "uninstall")]
    notes += [f"Sets {_env_text(s)} in {_activation(facts)} (new shells) and for the re-check."
              for s, _ in previews if s.kind == "env"]
    notes += [f"Note: {n}" for n in whole.notes]
    manual = [s for s in whole.steps if s.kind == "manual" and (finding is None or _answers(s, finding))]
    notes += [f"By hand (never run here): {s.title}" + (f": {'; '.join(s.commands)}" if s.commands else "")
              for s in manual]
    if previews:
        notes.append("A failed pip step is rolled back and stops the plan.")
    return tuple(notes)


def _env_text(step) -> str:
    return ", ".join(f"{name}={value}" if value is not None else f"unset {name}" for name, value in step.env)


def _activation(facts: Facts) -> str:
    from ftdoctor.fix.apply import activation_file

    found = activation_file(facts.python.prefix or "", facts.python.kind or "")
    return str(found) if found else "no activation script (not a venv or conda environment)"


def step_runner(host: Host | None) -> Callable[[PlanStep, OnOutput, ShouldStop], StepResult]:
    """The app's `run_step`: `ftdoctor fix` steps through ftdoctor.fix.apply, any other command in a shell."""

    def run(step: PlanStep, on_output: OnOutput, should_stop: ShouldStop) -> StepResult:
        if not isinstance(step.action, FixAction):
            return run_in_shell(step, on_output, should_stop)
        return _apply(step, step.action, host, on_output, should_stop)

    return run


def _apply(step: PlanStep, action: FixAction, host: Host | None, on_output: OnOutput, should_stop: ShouldStop) -> StepResult:
    from ftdoctor.fix.apply import apply_step

    started = time.monotonic()

    def run_pip(argv: list[str]) -> tuple[int | None, str]:
        lines: list[str] = []

        def keep(line: str) -> None:
            lines.append(line)
            on_output(line)

        ran = run_in_shell(PlanStep(shlex.join(argv)), keep, should_stop)
        return (None if ran.cancelled else ran.returncode), "\n".join(lines[-40:])

    outcome = apply_step(action.python, action.step, action.changes, action.prefix, action.kind, run_pip)
    on_output(outcome.detail)
    if outcome.ok and host is not None:
        _give_env(host, action.step)
    return StepResult(step.command, 0 if outcome.ok else 1, round(time.monotonic() - started, 3),
                      cancelled=should_stop() and not outcome.ok)


def _give_env(host: Host, fix_step) -> None:
    """What an env step set, for the probes of the re-check (as `ftdoctor fix --apply` re-probes)."""
    for name, value in getattr(fix_step, "env", ()):
        if value is None:
            host.env.pop(name, None)
        else:
            host.env[name] = value
