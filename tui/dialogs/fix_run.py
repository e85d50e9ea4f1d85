"""Run a confirmed fix plan: each command's output live, the first failure stops the plan, then probe again
and show what changed. Escape cancels a running command (its processes are stopped) and closes when done.

The dialog's result is the state after the re-check, or None when nothing was probed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Log, Static
from textual.worker import get_current_worker

from ftdoctor.findings import Finding
from ftdoctor.tui.data import changes
from ftdoctor.tui.data.runners import FixPlan, OnOutput, PlanStep, ShouldStop, StepResult
from ftdoctor.tui.data.state import CheckState
from ftdoctor.tui.data.tasks import TaskEvent, TaskFailed, TaskFinished

RunStep = Callable[[PlanStep, OnOutput, ShouldStop], StepResult]
Recheck = Callable[[Callable[[TaskEvent], None], ShouldStop], CheckState]


class FixRunScreen(ModalScreen[CheckState | None]):
    BINDINGS = [Binding("escape", "stop_or_close", "Cancel / close")]

    class Line(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Status(Message):
        """A line for the status bar as well as the log."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Done(Message):
        def __init__(self, state: CheckState | None) -> None:
            super().__init__()
            self.state = state

    def __init__(self, plan: FixPlan, run_step: RunStep, recheck: Recheck, before: Sequence[Finding]) -> None:
        super().__init__()
        self.plan, self._run_step, self._recheck, self._before = plan, run_step, recheck, tuple(before)
        self.result_state: CheckState | None = None
        self.finished = False
        self._stopping = False
        self._rechecking = False  # set by the worker: from then on escape has no command to stop

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Running: {self.plan.title}", classes="dialog-title", markup=False)
            yield Log(id="fix-log", highlight=False)
            yield Static("starting…", id="fix-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="close", variant="error")

    @property
    def log_widget(self) -> Log:
        return self.query_one("#fix-log", Log)

    def on_mount(self) -> None:
        self.run_plan()

    @work(thread=True, exclusive=True, group="fix")
    def run_plan(self) -> None:
        worker = get_current_worker()
        should_stop = lambda: worker.is_cancelled or self._stopping  # noqa: E731
        ran = self._run_steps(should_stop)
        state = None
        if ran:
            self._rechecking = True
            self.post_message(self.Status("probing again to see what changed…"))
            state = self._recheck(self._report_probe, lambda: worker.is_cancelled)
        self.post_message(self.Done(state))

    def _run_steps(self, should_stop: ShouldStop) -> int:
        """Run the steps until one fails; the number that ran."""
        ran = 0
        for i, step in enumerate(self.plan.steps, 1):
            if should_stop():
                break
            self.post_message(self.Status(f"step {i} of {len(self.plan.steps)}: $ {step.command}"))
            result = self._run_step(step, lambda line: self.post_message(self.Line(line)), should_stop)
            ran += 1
            mark = "✓" if result.ok else "✗"
            self.post_message(self.Line(f"{mark} step {i} {result.describe()}"))
            if not result.ok:
                self.post_message(self.Line("the plan stopped here; later steps did not run"))
                break
        return ran

    def _report_probe(self, event: TaskEvent) -> None:
        if isinstance(event, TaskFinished):
            self.post_message(self.Line(f"  ✓ {event.task.name} probe answered"))
        elif isinstance(event, TaskFailed):
            self.post_message(self.Line(f"  ✗ {event.task.name} probe failed: {event.error}"))

    def on_fix_run_screen_line(self, message: Line) -> None:
        self.log_widget.write_line(message.text)

    def on_fix_run_screen_status(self, message: Status) -> None:
        self.log_widget.write_line(message.text)
        self.query_one("#fix-status", Static).update(message.text)

    def on_fix_run_screen_done(self, message: Done) -> None:
        self.finished, self.result_state = True, message.state
        self._write_changes(message.state)
        button = self.query_one("#close", Button)
        button.label, button.variant = "Close (esc)", "primary"
        button.focus()

    def _write_changes(self, state: CheckState | None) -> None:
        status = self.query_one("#fix-status", Static)
        if state is None:
            status.update("nothing ran, so nothing was probed again")
            return
        found = changes.changes(self._before, state.findings)
        for heading, lines in changes.report_lines(found):
            self.log_widget.write_lines(["", heading, *(f"  {line}" for line in lines)])
        status.update(changes.summary(found, len(state.findings)))
        self.log_widget.write_line(changes.summary(found, len(state.findings)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_stop_or_close()

    def action_stop_or_close(self) -> None:
        if self.finished:
            self.dismiss(self.result_state)
        elif self._rechecking:  # a half-done re-check would leave sections unprobed: let it finish
            self.query_one("#fix-status", Static).update("probing again; this closes with esc once they answer")
        elif not self._stopping:
            self._stopping = True
            self.query_one("#fix-status", Static).update("cancelling: stopping the running command…")
