"""The keys, read from the bindings themselves so that the list can never drift from what the keys do,
and the legend of the marks."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ftdoctor.tui.data.view import FAILED_MARK, SEVERITY_ORDER, WAITING_MARK, mark, word

LEGEND = [(mark(s), word(s)) for s in SEVERITY_ORDER] + [
    (WAITING_MARK, "waiting for a probe or smoke test to answer"),
    (FAILED_MARK, "a probe failed, or a smoke test could not run (also: error)"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", show=False)]

    def __init__(self, title: str, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self._title = title
        self._keys = list(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(self._keys_table())
                yield Static(self._legend_table())
            yield Static("escape, ? or q: close", classes="dialog-hint", markup=False)

    def _keys_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for binding in self._keys:
            table.add_row(self.app.get_key_display(binding), binding.tooltip or binding.description)
        return table

    def _legend_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text("\nMarks", style="bold underline"), "")
        for symbol, meaning in LEGEND:
            table.add_row(symbol, meaning)
        return table
