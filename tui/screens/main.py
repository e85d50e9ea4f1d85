"""The findings browser: the tree of findings, the detail of the highlighted one, the filter and the probe
status. Probes and smoke tests run in background workers that post a message per event; this screen folds
each into the state and redraws. Widgets only report; every decision (what to show, what may run) is taken here.

Smoke tests run one task each (tui/data/smokes.py), so each verdict shows as its test ends; `V` or quitting
stops the ones still running, and their processes with them."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input
from textual.worker import get_current_worker

from ftdoctor.errors import FtdoctorError
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.report.machine import header_lines
from ftdoctor.tui.app.messages import ProbeFailed, ProbeFinished, ProbeMessage, ProbeStarted, message_for
from ftdoctor.tui.data import changes
from ftdoctor.tui.data.progress import Progress
from ftdoctor.tui.data.runners import UNAVAILABLE, AppInputs, FixPlan, Origin
from ftdoctor.tui.data.smokes import KIND as SMOKE, SmokeRun
from ftdoctor.tui.data.state import CheckState, recheck, tasks_for
from ftdoctor.tui.data.tasks import ProbeTask, run_tasks
from ftdoctor.tui.data.view import SEVERITY_ORDER, FamilyView, families, step_problem, summary
from ftdoctor.tui.dialogs.ask_path import AskPathDialog
from ftdoctor.tui.dialogs.confirm import ConfirmDialog, commands_text
from ftdoctor.tui.dialogs.fix_run import FixRunScreen
from ftdoctor.tui.screens.explain import ExplainScreen
from ftdoctor.tui.screens.help import HelpScreen
from ftdoctor.tui.screens.lockfile import LockfileScreen
from ftdoctor.tui.screens.preflight import PreflightScreen
from ftdoctor.tui.screens.side import ICON, failure_text
from ftdoctor.tui.widgets.filter_bar import FilterBar
from ftdoctor.tui.widgets.finding_detail import FindingDetail, family_text, lines_text
from ftdoctor.tui.widgets.findings_tree import FindingsTree
from ftdoctor.tui.widgets.probe_status import ProbeStatus

SEVERITY_KEYS = dict(zip("12345", SEVERITY_ORDER, strict=True))


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("question_mark", "help", "Help", tooltip="this list of keys"),
        Binding("q", "quit", "Quit", tooltip="quit (the exit code is check's, for the findings shown)"),
        Binding("slash", "search", "Search", tooltip="search codes, messages, evidence and commands"),
        Binding("escape", "escape", "Clear", show=False, tooltip="leave the search box; again: clear the search"),
        Binding("n", "step_problem(1)", "Next", tooltip="next problem (error or warning)"),
        Binding("p", "step_problem(-1)", "Prev", tooltip="previous problem"),
        Binding("c", "copy", "Copy", tooltip="copy the highlighted fix command to the clipboard"),
        Binding("x", "run_fix", "Fix", tooltip="show `ftdoctor fix`'s plan for this finding; y runs it"),
        Binding("F", "fix_all", "Fix all", show=False, tooltip="show `ftdoctor fix`'s plan for every problem; y runs it"),
        Binding("r", "rerun", "Re-run", tooltip="probe again what this check reads, and judge"),
        Binding("R", "rerun_all", "Re-run all", show=False, tooltip="probe everything again, and judge"),
        *(Binding(key, f"toggle('{s.value}')", s.value, show=False, tooltip=f"show or hide {s.value} findings")
          for key, s in SEVERITY_KEYS.items()),
        Binding("v", "verify", "Verify", show=False,
                tooltip="run the smoke tests (check --verify) in the background; each verdict shows as its test ends"),
        Binding("V", "stop_verify", "Stop smoke tests", show=False,
                tooltip="stop the smoke tests still running (their processes are killed; no result is recorded)"),
        Binding("o", "open_facts", "Open", show=False, tooltip="open a saved facts snapshot (judge another machine)"),
        Binding("s", "save_facts", "Save", show=False, tooltip="save these facts to a file (check --save-facts)"),
        Binding("l", "lockfile", "Lockfile", show=False, tooltip="view the lockfile ftdoctor would write"),
        Binding("e", "explain", "Explain", show=False, tooltip="paste or open an error log and explain it"),
        Binding("t", "preflight", "Preflight", show=False, tooltip="preflight a training config on these facts"),
    ]

    def __init__(self, inputs: AppInputs) -> None:
        super().__init__()
        self.runners, self.origin = inputs.runners, inputs.origin
        self.state = CheckState(facts=inputs.facts, findings=inputs.findings or ())
        self._judge_first = inputs.findings is None
        self._verify_first = inputs.verify
        self.smokes: SmokeRun | None = None  # the smoke tests running now
        self.progress = Progress()
        self.views: tuple[FamilyView, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield FilterBar(id="filter-bar")
        with Horizontal(id="body"):
            yield FindingsTree(self.origin.label, id="tree")
            yield FindingDetail(id="detail")
        yield ProbeStatus(id="status")
        yield Footer()

    @property
    def tree(self) -> FindingsTree:
        return self.query_one(FindingsTree)

    @property
    def detail(self) -> FindingDetail:
        return self.query_one(FindingDetail)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    def on_mount(self) -> None:
        self.sub_title = self.origin.label
        if self._judge_first:  # live, this lists every family, each waiting for its probes
            self.state = CheckState.judged(self.state.facts, self.runners.judge)
        if self.origin.live and self.runners.probes:
            self.start_probes(self.runners.probes)
        if self._verify_first:  # beside the probes, as `check --verify` runs them
            self.action_verify()
        self.redraw()
        self._first_problem()
        self.tree.focus()

    def _first_problem(self) -> None:
        """Once everything is judged, put a cursor still resting on the root on the first problem."""
        first = step_problem(self.views, None, 1)
        if first is not None and self.tree.current is None and not self.state.probing:
            self.tree.go_to_finding(first)

    def redraw(self) -> None:
        self.views = families(self.state, self.filter_bar.filter, self.runners.titles)
        self.tree.show(self.views, self.origin.label, self.filter_bar.filter.text.strip())
        self.query_one(ProbeStatus).show(summary(self.state), self.progress)

    # -- probes ---------------------------------------------------------------------------------------

    def start_probes(self, tasks: tuple[ProbeTask, ...], group: str = "probes") -> None:
        self.state = self.state.begin(tasks)
        self.progress = self.progress.restart(SMOKE if group == "verify" else "probe")
        (self.verify_worker if group == "verify" else self.probe_worker)(tasks, self.state.facts)

    @work(thread=True, exclusive=True, group="probes")
    def probe_worker(self, tasks: tuple[ProbeTask, ...], facts) -> None:
        self._run(tasks, facts, "probes")

    @work(thread=True, exclusive=True, group="verify")
    def verify_worker(self, tasks: tuple[ProbeTask, ...], facts) -> None:
        self._run(tasks, facts, "verify")

    def _run(self, tasks: tuple[ProbeTask, ...], facts, group: str) -> None:
        worker = get_current_worker()
        run_tasks(tasks, facts, lambda event: self.post_message(message_for(event, group)), lambda: worker.is_cancelled)

    def on_probe_started(self, message: ProbeStarted) -> None:
        self._absorb(message)

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self._absorb(message)

    def on_probe_failed(self, message: ProbeFailed) -> None:
        self._absorb(message)

    def _absorb(self, message: ProbeMessage) -> None:
        if not self.state.awaits(message.task):  # from a run that was stopped meanwhile
            return
        self.progress = self.progress.apply(message.event, time.monotonic())
        self.state = self.state.apply(message.event, self.runners.judge)
        if message.group == "verify":
            self._smokes_settled()
        self.redraw()
        self._first_problem()

    def _busy(self, doing: str) -> bool:
        """True (and says so) while probes or smoke tests run: a second run would judge half-old facts. The
        state knows from the moment a run is started, before its worker has reported anything."""
        if self.state.probing:
            waiting = ", ".join(sorted(self.state.waiting))
            who = "Smoke tests are" if self.smokes and not self.progress.running_of("probe") else "Probes are"
            stop = " (V stops the smoke tests)" if self.smokes else ""
            self.notify(f"{who} still running ({waiting}); {doing} when they finish{stop}.", severity="warning")
        return self.state.probing

    def action_rerun(self) -> None:
        family = self._current_family()
        self._rerun(tasks_for(family, self.runners.probes), f"the {family} check" if family else "every check")

    def action_rerun_all(self) -> None:
        self._rerun(self.runners.probes, "every check")

    def _rerun(self, tasks: tuple[ProbeTask, ...], what: str) -> None:
        if not self.runners.probes:
            self.state = CheckState.judged(self.state.facts, self.runners.judge)
            self.redraw()
            self.notify(f"Judged {self.origin.label} again: a saved snapshot has nothing to probe.")
        elif not self._busy("re-run"):
            self.start_probes(tasks)
            self.notify(f"Probing again for {what}: {', '.join(t.name for t in tasks)}.")

    # -- smoke tests ----------------------------------------------------------------------------------

    def action_verify(self) -> None:
        """Run the smoke tests in the background, one task each, beside any probes still running."""
        refusal = self._verify_refusal()
        if refusal:
            self.notify(refusal, severity="warning", timeout=10)
            return
        self.smokes = run = SmokeRun.of(self.runners.verify())
        self.start_probes(run.tasks, group="verify")
        self.redraw()
        names = ", ".join(run.runner.names)
        self.notify(f"Running {len(run.tasks)} smoke test(s) in the background: {names}. V stops them.")

    def _verify_refusal(self) -> str | None:
        if not self.origin.live:
            return (f"Smoke tests run on this machine, and these findings are from {self.origin.label}: they cannot "
                    "be verified here. A snapshot saved with `ftdoctor check --verify --save-facts` keeps its smoke results.")
        if self.runners.verify is None:
            return UNAVAILABLE["verify"]
        if self.smokes is not None:
            running = ", ".join(t.name for t in self.smokes.pending(self.state))
            return f"The smoke tests are still running ({running}); V stops them."
        return None

    def _smokes_settled(self) -> None:
        """Once every smoke test of the run has answered: say how they ended."""
        if self.smokes is None or self.smokes.pending(self.state):
            return
        run, self.smokes = self.smokes, None
        self.notify(f"Smoke tests done: {run.outcome(self.state)}.")

    def action_stop_verify(self) -> None:
        stopped = self.stop_smokes()
        if not stopped:
            self.notify("No smoke test is running.")
            return
        names = ", ".join(t.name for t in stopped)
        self.notify(f"Stopped {names}: their processes were killed; no result was recorded for them.", timeout=10)

    def stop_smokes(self, redraw: bool = True) -> tuple[ProbeTask, ...]:
        """Stop the smoke tests still running and kill their processes (and all they started); the tasks stopped.
        Safe to call again, and with none running."""
        if self.smokes is None:
            return ()
        run, self.smokes = self.smokes, None
        self.workers.cancel_group(self, "verify")
        run.runner.stop()
        stopped = run.pending(self.state)
        self.state = self.state.stop(stopped)
        self.progress = self.progress.without(stopped)
        if redraw:
            self.redraw()
        return stopped

    def on_unmount(self) -> None:
        self.stop_smokes(redraw=False)  # however the app ends, no smoke test outlives it

    def _current_family(self) -> str | None:
        current = self.tree.current
        if isinstance(current, Finding):
            return current.family
        return current.family if isinstance(current, FamilyView) else None

    # -- browsing -------------------------------------------------------------------------------------

    def on_findings_tree_highlighted(self, message: FindingsTree.Highlighted) -> None:
        if message.finding is not None:
            if message.finding != self.detail.finding:  # a redraw must not move the user's chosen command
                self.detail.show_finding(message.finding, self.runners.titles)
        elif message.family is not None:
            self.detail.show_text(family_text(message.family))
        else:
            origin = "judging " + self.origin.label
            self.detail.show_text(lines_text(self.origin.label, header_lines(self.state.facts, origin)))

    def on_filter_bar_changed(self, message: FilterBar.Changed) -> None:
        self.redraw()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.tree.focus()

    def action_toggle(self, severity: str) -> None:
        self.filter_bar.toggle(Severity(severity))

    def action_search(self) -> None:
        self.filter_bar.search.focus()

    def action_escape(self) -> None:
        if self.filter_bar.search.has_focus:
            self.tree.focus()
        elif self.filter_bar.filter.text:
            self.filter_bar.clear_search()

    def action_step_problem(self, step: int) -> None:
        current = self.tree.current
        target = step_problem(self.views, current if isinstance(current, Finding) else None, step)
        if target is None:
            self.notify("No problem among the findings shown.")
        else:
            self.tree.go_to_finding(target)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("ftdoctor: keys", self.BINDINGS))

    def action_quit(self) -> None:
        self.stop_smokes(redraw=False)
        self.app.exit()

    # -- fixes ----------------------------------------------------------------------------------------

    def action_copy(self) -> None:
        chosen = self.detail.highlighted
        if chosen is None:
            self.notify("No command to copy here: highlight a finding with a fix.", severity="warning")
            return
        self.app.copy_to_clipboard(chosen[1])
        self.notify(f"Copied: {chosen[1]}")

    def action_run_fix(self) -> None:
        chosen, finding = self.detail.highlighted, self.detail.finding
        if chosen is None or finding is None:
            self.notify("No fix to run here: highlight a finding with a fix.", severity="warning")
            return
        self.request_fix(finding, chosen[0])

    def on_finding_detail_run_fix(self, message: FindingDetail.RunFix) -> None:
        self.request_fix(message.finding, message.fix)

    def action_fix_all(self) -> None:
        if not any(f.is_problem for f in self.state.settled):
            self.notify("No problem to fix among the findings.")
            return
        self.request_fix(None, None)

    def request_fix(self, finding: Finding | None, fix: Fix | None) -> None:
        """Plan (off the UI thread: pip's dry run can take a while), then ask; nothing runs before the answer."""
        refusal = self._fix_refusal()
        if refusal:
            self.notify(refusal, severity="warning")
            return
        what = finding.code if finding else "every problem"
        # said only when planning takes a while (pip's dry run asks the package index)
        self._planning = self.set_timer(0.5, lambda: self.notify(f"Planning the fix for {what}…", timeout=5))
        self.plan_worker(self.state.facts, self.state.findings, finding, fix)

    @work(thread=True, exclusive=True, group="fix-plan")
    def plan_worker(self, facts, findings, finding: Finding | None, fix: Fix | None) -> None:
        try:
            plan = self.runners.fix_plan(facts, findings, finding, fix)
        except Exception as exc:  # noqa: BLE001 - shown as one line, never a dead app
            self.app.call_from_thread(self._planning.stop)
            self.app.call_from_thread(self.notify, failure_text(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._ask, plan)

    def _ask(self, plan: FixPlan) -> None:
        self._planning.stop()
        if not plan.steps:
            advice = " ".join(plan.notes) or "its advice is in the detail pane"
            self.notify(f"Nothing here to run for this: {advice}", severity="warning", timeout=10)
            return
        self.app.push_screen(confirm_dialog(plan, len(self.runners.probes)), partial(self._confirmed, plan))

    def _fix_refusal(self) -> str | None:
        if not self.origin.live:
            return (f"These findings are from {self.origin.label}: its fixes belong on that machine. "
                    "Copy the commands with c.")
        if self.runners.run_step is None:
            return UNAVAILABLE["run_step"]
        if self.state.probing:
            return "Probes are still running; run the fix when they finish."
        return None

    def _confirmed(self, plan: FixPlan, yes: bool | None) -> None:
        if not yes:
            self.notify("Cancelled: nothing ran.")
            return
        check = partial(recheck, self.state, self.runners.probes, self.runners.judge)  # (emit, should_stop) -> state
        screen = FixRunScreen(plan, self.runners.run_step, check, self.state.findings)
        self.app.push_screen(screen, partial(self._fixed, self.state.findings))

    def _fixed(self, before: tuple[Finding, ...], after: CheckState | None) -> None:
        if after is None:
            return
        self.state = after
        self.redraw()
        found = changes.changes(before, after.findings)
        self.notify(f"Fix done. {changes.summary(found, len(after.findings))}")

    # -- other machines and other views ---------------------------------------------------------------

    def action_open_facts(self) -> None:
        if not self._busy("open a snapshot"):
            dialog = AskPathDialog("Open a saved facts snapshot", "a file written by `ftdoctor check --save-facts`")
            self.app.push_screen(dialog, self._open_facts)

    def _open_facts(self, path: str | None) -> None:
        if path is None:
            return
        from ftdoctor.facts import serialize

        try:
            facts = serialize.load(path)
        except FtdoctorError as exc:
            self.notify(exc.one_line(), severity="error", timeout=10)
            return
        self.origin = Origin.snapshot(path, facts)
        self.runners = replace(self.runners, probes=())
        self.state = CheckState.judged(facts, self.runners.judge)
        self.sub_title = self.origin.label
        self.redraw()
        self._first_problem()
        self.notify(f"Judging {self.origin.label}.")

    def action_save_facts(self) -> None:
        if not self._busy("save the facts"):
            dialog = AskPathDialog("Save these facts", "a new JSON file (an existing file is never replaced)")
            self.app.push_screen(dialog, self._save_facts)

    def _save_facts(self, path: str | None) -> None:
        if path is None:
            return
        from ftdoctor import atomic
        from ftdoctor.facts import serialize

        try:
            atomic.write_text(path, serialize.dumps(self.state.facts))
        except (FtdoctorError, OSError) as exc:
            text = exc.one_line() if isinstance(exc, FtdoctorError) else f"{path}: {exc.strerror or exc}"
            self.notify(text, severity="error", timeout=10)
            return
        self.notify(f"Facts saved to {path}; judge them anywhere with `ftdoctor check --facts {path}`.")

    def action_lockfile(self) -> None:
        if not self._busy("view the lockfile"):  # a lock for half the facts would be wrong
            self.app.push_screen(LockfileScreen(self.runners, self.state.facts, self.origin))

    def action_explain(self) -> None:
        self.app.push_screen(ExplainScreen(self.runners, self.state.facts if self.origin.live else None))

    def action_preflight(self) -> None:
        if not self._busy("preflight a config"):
            self.app.push_screen(PreflightScreen(self.runners, self.state.facts, self.origin.label))


def confirm_dialog(plan: FixPlan, probes: int) -> ConfirmDialog:
    intro = "These commands run on this machine, in this order; the first that fails stops the plan."
    outro = "Afterwards ftdoctor probes again and shows what changed." if probes else ""
    body = commands_text(intro, [step.command for step in plan.steps], plan.notes, outro)
    count = len(plan.steps)
    return ConfirmDialog(f"Run this fix? {plan.title}", body, yes=f"Run {count} command{'s' if count > 1 else ''}")
