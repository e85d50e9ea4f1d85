"""Findings that came from elsewhere (a log's diagnosis, a config's preflight), browsable like the main
screen's: notes on top, the tree, the detail of the highlighted finding."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ftdoctor.facts.model import Facts
from ftdoctor.tui.data.runners import Report
from ftdoctor.tui.data.state import CheckState
from ftdoctor.tui.data.view import Filter, families, step_problem, summary
from ftdoctor.tui.widgets.finding_detail import FindingDetail, lines_text
from ftdoctor.tui.widgets.findings_tree import FindingsTree


class ReportPane(Vertical):
    BINDINGS = [Binding("c", "copy", "Copy", tooltip="copy the highlighted fix line")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="report-notes", markup=False)
        with Horizontal(classes="report-body"):
            yield FindingsTree("results", id="report-tree")
            yield FindingDetail(hint="c: copy the highlighted line · tab: choose", id="report-detail")

    def show_report(self, report: Report, root_label: str) -> None:
        self.report = report
        state = CheckState(facts=Facts(), findings=report.findings)  # judged elsewhere: no facts of ours
        self.query_one("#report-notes", Static).update("\n".join((*report.notes, summary(state))))
        views = families(state, Filter(), report.titles)
        tree = self.query_one(FindingsTree)
        tree.show(views, root_label)
        first = step_problem(views, None, 1)
        if first is not None:
            tree.go_to_finding(first)
        tree.focus()

    def show_message(self, message: str) -> None:
        self.report = None
        self.query_one("#report-notes", Static).update(message)
        self.query_one(FindingsTree).clear()
        self.query_one(FindingDetail).show_text(Text(""))

    def action_copy(self) -> None:
        chosen = self.query_one(FindingDetail).highlighted
        if chosen is None:
            self.notify("Nothing to copy here: highlight a finding with a fix.", severity="warning")
            return
        self.app.copy_to_clipboard(chosen[1])
        self.notify(f"Copied: {chosen[1]}")

    def on_findings_tree_highlighted(self, message: FindingsTree.Highlighted) -> None:
        message.stop()
        detail = self.query_one(FindingDetail)
        titles = self.report.titles if self.report else {}
        if message.finding is not None:
            detail.show_finding(message.finding, titles)
        elif message.family is not None:
            detail.show_text(lines_text(message.family.label(), [message.family.counts()]))
        else:
            lines = (*self.report.notes, "", *self.report.details) if self.report and self.report.details else \
                (self.report.notes if self.report else ())
            detail.show_text(lines_text("results", lines))
