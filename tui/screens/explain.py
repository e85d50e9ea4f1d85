"""Paste a log (or open one) and see `ftdoctor explain`'s diagnosis, browsable like findings."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static, TextArea

from ftdoctor.errors import InputFileError, unreadable
from ftdoctor.facts.model import Facts
from ftdoctor.tui.data.runners import Report, Runners
from ftdoctor.tui.dialogs.ask_path import AskPathDialog
from ftdoctor.tui.screens.side import ICON, SideScreen
from ftdoctor.tui.widgets.report_pane import ReportPane

TAIL_BYTES = 2 * 1024 * 1024  # a training log's cause is at its end; `ftdoctor explain LOG` reads it all
HINT = "Paste a log below or open one (ctrl+o), then ctrl+r explains it. escape: back."


class ExplainScreen(SideScreen):
    FEATURE = "explain"
    BINDINGS = [
        Binding("ctrl+r", "explain", "Explain"),
        Binding("ctrl+o", "open", "Open log"),
    ]

    def __init__(self, runners: Runners, facts: Facts | None) -> None:
        super().__init__()
        self._runner, self._facts = runners.explain, facts
        self.sub_title = "explain an error log"

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static(HINT if self._runner else self.unavailable, id="side-message", markup=False)
        yield TextArea(id="log-text", soft_wrap=False, show_line_numbers=False)
        yield ReportPane(id="explain-report")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ReportPane).display = False
        self.query_one(TextArea).display = self._runner is not None  # no paste box for what cannot run
        self.query_one(TextArea).focus()

    def action_open(self) -> None:
        dialog = AskPathDialog("Open a log", "the log of the failed run (its last 2 MiB are read)")
        self.app.push_screen(dialog, self._load)

    def _load(self, path: str | None) -> None:
        if path is None:
            return
        try:
            text = read_tail(Path(path).expanduser(), TAIL_BYTES)
        except InputFileError as exc:
            self.notify(exc.one_line(), severity="error")
            return
        self.query_one(TextArea).load_text(text)
        self.notify(f"Loaded {path}; ctrl+r explains it.")

    def action_explain(self) -> None:
        if self._runner is None:
            self.notify(self.unavailable, severity="warning")
            return
        text = self.query_one(TextArea).text
        if not text.strip():
            self.notify("The log is empty: paste one or open one with ctrl+o.", severity="warning")
            return
        self.say("explaining…")
        self.run_runner(lambda: self._runner(text, self._facts), self._show)

    def _show(self, report: Report) -> None:
        self.say(HINT)
        pane = self.query_one(ReportPane)
        pane.display = True
        pane.show_report(report, "diagnosis")


def read_tail(path: Path, limit: int) -> str:
    """The last `limit` bytes of a file as text (undecodable bytes replaced); one clear error otherwise."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError as exc:
        raise unreadable(exc, str(path), "a log file") from None
    return data.decode("utf-8", errors="replace")
