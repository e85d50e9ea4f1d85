"""The lockfile ftdoctor would write for the facts being judged (`ftdoctor lock`), read-only; c copies it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static, TextArea

from ftdoctor.facts.model import Facts
from ftdoctor.tui.data.runners import Lockfile, Origin, Runners
from ftdoctor.tui.screens.side import ICON, SideScreen


class LockfileScreen(SideScreen):
    FEATURE = "lockfile"
    BINDINGS = [Binding("c", "copy", "Copy")]

    def __init__(self, runners: Runners, facts: Facts, origin: Origin) -> None:
        super().__init__()
        self._runner, self._facts, self._origin = runners.lockfile, facts, origin
        self.sub_title = f"lockfile for {origin.label}"
        self.lockfile: Lockfile | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon=ICON)
        yield Static(id="side-message", markup=False)
        yield TextArea(id="lock-text", read_only=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).display = False
        if self._runner is None:
            self.say(self.unavailable)
        else:
            self.say("resolving the lockfile for these facts…")
            self.run_runner(lambda: self._runner(self._facts, self._origin), self._show)

    def _show(self, lockfile: Lockfile) -> None:
        self.lockfile = lockfile
        if lockfile.ok:
            how = f"; `{lockfile.command}` writes it" if lockfile.command else ""
            self.say(f"{lockfile.name} · c copies it{how}")
        else:
            self.say("✗ no lock fits these facts: why, and what would help (c copies it)")
        area = self.query_one(TextArea)
        area.load_text(lockfile.text)
        area.display = True
        area.focus()

    def action_copy(self) -> None:
        if self.lockfile is None:
            self.notify("There is no lockfile to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(self.lockfile.text)
        self.notify(f"Copied {self.lockfile.name} ({len(self.lockfile.text.splitlines())} lines).")
