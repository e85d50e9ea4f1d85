"""Ask before doing something to the machine: the exact commands, then Run or Cancel. Cancel has the focus."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Run", show=False),
        Binding("n,escape", "answer(False)", "Cancel", show=False),
        Binding("left,right", "app.focus_next", show=False),
    ]

    def __init__(self, title: str, body: Text, *, yes: str = "Run", no: str = "Cancel") -> None:
        super().__init__()
        self._title, self._body, self._yes, self._no = title, body, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(self._body)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._no} (n)", id="no")
                yield Button(f"{self._yes} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def commands_text(intro: str, commands: Sequence[str], notes: Sequence[str] = (), outro: str = "") -> Text:
    """The body of a confirmation: what happens, then each command exactly as it will run."""
    text = Text()
    for note in (intro, *notes):
        text.append(f"{note}\n")
    text.append("\n")
    for command in commands:
        text.append("  $ ", style="bold")
        text.append(f"{command}\n")
    if outro:
        text.append(f"\n{outro}\n")
    return text
