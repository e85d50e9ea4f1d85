"""Preflight a training config against the facts being judged: its findings and the memory estimate."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Input, Static

from ftdoctor.facts.model import Facts
from ftdoctor.tui.data.runners import Report, Runners
from ftdoctor.tui.screens.side import ICON, SideScreen
from ftdoctor.tui.widgets.report_pane import ReportPane

HINT = "The path of a training config (YAML, Axolotl keys); enter runs the preflight. escape: back."


class PreflightScreen(SideScreen):
    FEATURE = "preflight"

    def __init__(self, runners: Runners, facts: Facts, origin: str) -> None:
        super().__init__()
        self._runner, self._facts = runners.preflight, facts
        self.sub_title = f"preflight a training config on {origin}"

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static(HINT if self._runner else self.unavailable, id="side-message", markup=False)
        yield Input(placeholder="config.yml", id="config-path", compact=True)
        yield ReportPane(id="preflight-report")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReportPane).display = False
        self.query_one(Input).display = self._runner is not None  # no path box for what cannot run
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._runner is None:
            self.notify(self.unavailable, severity="warning")
            return
        if not event.value.strip():
            self.notify("Give the path of a training config.", severity="warning")
            return
        path = Path(event.value.strip()).expanduser()
        self.say(f"preflighting {path}…")
        self.run_runner(lambda: self._runner(path, self._facts), lambda report: self._show(path, report))

    def _show(self, path: Path, report: Report) -> None:
        self.say(f"preflight of {path} · enter another path to preflight it · escape: back")
        pane = self.query_one(ReportPane)
        pane.display = True
        pane.show_report(report, str(path))
