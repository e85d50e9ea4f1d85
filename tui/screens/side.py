"""What the side screens share: a way back, the runner's answer or the reason there is none."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from ftdoctor.errors import FtdoctorError
from ftdoctor.tui.data.runners import UNAVAILABLE

ICON = "✚"  # the header's corner: a glyph every common terminal font has


class SideScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    FEATURE = ""  # the key of UNAVAILABLE that names this screen's runner

    @property
    def unavailable(self) -> str:
        return UNAVAILABLE[self.FEATURE]


def failure_text(exc: BaseException) -> str:
    """A runner's exception as one line: the user's mistake as ftdoctor words it, anything else as a bug."""
    if isinstance(exc, FtdoctorError):
        return f"✗ {exc.one_line()}"
    return f"✗ internal error: {type(exc).__name__}: {exc} — this is a bug in ftdoctor; please report it"
