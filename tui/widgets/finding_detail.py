"""One finding in full: its mark and words, what was found, the fixes as a list of commands the user can
highlight (right under the cause, so they show in a small terminal), then the evidence. Enter on a command
posts `RunFix`; the screen decides what running it means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ftdoctor.findings import Finding, Fix
from ftdoctor.tui.data.view import FamilyView, evidence_lines, mark, word

FIX_HINT = "c: copy the highlighted command · x: run its fix · tab: choose"


class FindingDetail(VerticalScroll, can_focus=False):
    class RunFix(Message):
        def __init__(self, finding: Finding, fix: Fix) -> None:
            super().__init__()
            self.finding = finding
            self.fix = fix

    def __init__(self, *, hint: str = FIX_HINT, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hint = hint  # how the fixes are used where this pane is shown
        self.finding: Finding | None = None
        self._choices: dict[str, tuple[Fix, str]] = {}  # option id -> (its fix, the command)

    def compose(self) -> ComposeResult:
        yield Static(id="detail-text")
        yield OptionList(id="fix-list")
        yield Static(id="detail-evidence")

    @property
    def fix_list(self) -> OptionList:
        return self.query_one("#fix-list", OptionList)

    @property
    def highlighted(self) -> tuple[Fix, str] | None:
        """The fix and command under the list's cursor (the first command when the list was not touched)."""
        option = self.fix_list.highlighted_option
        return self._choices.get(option.id) if option is not None and option.id else None

    def show_finding(self, finding: Finding, titles: Mapping[str, str]) -> None:
        self.finding = finding
        title = titles.get(finding.family, finding.family)
        self._set_text(finding_text(finding, title, self.hint), evidence_text(finding))
        self._set_fixes(finding.fixes)

    def show_text(self, text: Group | Text) -> None:
        """A family's summary, the machine, a message: anything that is not one finding."""
        self.finding = None
        self._set_text(text)
        self._set_fixes(())

    def _set_text(self, text: Group | Text, after: Group | Text | None = None) -> None:
        self.query_one("#detail-text", Static).update(text)
        self.query_one("#detail-evidence", Static).update(after or "")
        self.scroll_home(animate=False)

    def _set_fixes(self, fixes: Iterable[Fix]) -> None:
        options, self._choices = [], {}
        for i, fix in enumerate(fixes, 1):
            options.append(Option(Text(f"{i}. {fix.summary}", style="bold"), disabled=True))
            for j, command in enumerate(fix.commands):
                option_id = f"fix-{i}-{j}"
                self._choices[option_id] = (fix, command)
                options.append(Option(Text(f"   $ {command}"), id=option_id))
            if fix.link:
                options.append(Option(Text(f"   see {fix.link}", style="italic"), disabled=True))
        fix_list = self.fix_list
        fix_list.clear_options()
        fix_list.add_options(options)
        fix_list.display = bool(options)
        if self._choices:
            fix_list.highlighted = next(i for i, o in enumerate(options) if o.id in self._choices)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = self._choices.get(event.option.id or "")
        if chosen is not None and self.finding is not None:
            self.post_message(self.RunFix(self.finding, chosen[0]))


def finding_text(finding: Finding, family_title: str, hint: str = FIX_HINT) -> Group:
    head = Text()
    head.append(f"{mark(finding.severity)} {word(finding.severity)}", style="bold")
    head.append(f" · {finding.code} · {family_title}\n")
    head.append(finding.title, style="bold")
    parts: list = [head, _heading("Found"), Text(finding.message)]
    if finding.location:
        parts.append(Text(f"where: {finding.location}"))
    if finding.fixes:
        parts += [_heading("Fixes"), Text(hint, style="italic")]
    elif finding.is_problem:
        parts += [_heading("Fixes"), Text("none recorded: what was found says what to change")]
    return Group(*parts)


def evidence_text(finding: Finding) -> Group | Text:
    if not finding.evidence:
        return Text("")
    return Group(_heading("Evidence"), _pairs(evidence_lines(finding.evidence)))


def family_text(view: FamilyView) -> Group:
    lines = [f"{len(view.findings)} of {view.total} findings shown (1-5 toggle severities, / searches)"]
    if view.waiting:
        lines = [f"waiting for {', '.join(view.waiting)} to answer before judging"]
    lines += [f"✗ {why} ({'v runs the smoke tests' if 'smoke test' in why else 'r probes'} again)" for why in view.failures]
    return lines_text(view.label(), lines)


def lines_text(title: str, lines: Iterable[str]) -> Group:
    return Group(Text(title, style="bold"), Text(""), *(Text(line) for line in lines))


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _pairs(rows: Iterable[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table
