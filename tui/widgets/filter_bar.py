"""The search box and which severities are shown. Posts `Changed` with the new filter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from ftdoctor.findings import Severity
from ftdoctor.tui.data.view import SEVERITY_ORDER, Filter, word


class FilterBar(Horizontal):
    class Changed(Message):
        def __init__(self, filter: Filter) -> None:
            super().__init__()
            self.filter = filter

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filter = Filter()

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ search codes, messages, commands", compact=True, id="search")
        yield Static(severities_text(self.filter), id="severities", markup=False)

    @property
    def search(self) -> Input:
        return self.query_one("#search", Input)

    def toggle(self, severity: Severity) -> None:
        self._set(self.filter.toggled(severity))

    def clear_search(self) -> None:
        self.search.value = ""  # Input.Changed follows and updates the filter

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._set(self.filter.searching(event.value))

    def _set(self, new: Filter) -> None:
        self.filter = new
        self.query_one("#severities", Static).update(severities_text(new))
        self.post_message(self.Changed(new))


def severities_text(flt: Filter) -> str:
    """`[x] errors [x] warnings [ ] ok ...`: the boxes say what is shown, with no colour needed."""
    return " ".join(f"[{'x' if s in flt.shown else ' '}] {word(s, 2)}" for s in SEVERITY_ORDER)
