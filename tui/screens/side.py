"""What the side screens share: a way back, the runner's answer or the reason there is none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from ftdoctor.errors import FtdoctorError
from ftdoctor.tui.data.runners import UNAVAILABLE

ICON = "✚"  # the header's corner: a glyph every common terminal font has


class SideScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    FEATURE = ""  # the key of UNAVAILABLE that names this screen's runner

    @property
    def unavailable(self) -> str:
        return UNAVAILABLE[self.FEATURE]

    def say(self, text: str) -> None:
        self.query_one("#side-message", Static).update(text)

    @work(thread=True, exclusive=True, group="side")
    def run_runner(self, call: Callable[[], Any], show: Callable[[Any], None]) -> None:
        """Run the feature off the UI thread; its answer goes to `show`, its failure to the message line."""
        try:
            answer = call()
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a dead app
            self.app.call_from_thread(self.say, failure_text(exc))
            return
        self.app.call_from_thread(show, answer)


def failure_text(exc: BaseException) -> str:
    """A runner's exception as one line: the user's mistake as ftdoctor words it, anything else as a bug."""
    if isinstance(exc, FtdoctorError):
        return f"✗ {exc.one_line()}"
    return f"✗ internal error: {type(exc).__name__}: {exc} — this is a bug in ftdoctor; please report it"
