"""The app: one main screen built from explicit inputs, so that a test hands it synthetic facts, findings
and runners and nothing here ever reaches for the host."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Finding
from ftdoctor.tui.data.runners import AppInputs, Origin, Runners
from ftdoctor.tui.screens.main import MainScreen


class FtdoctorApp(App[None]):
    TITLE = "ftdoctor"
    CSS_PATH = ["global.tcss", "../screens/screens.tcss", "../dialogs/dialogs.tcss"]
    ENABLE_COMMAND_PALETTE = False  # every action has a key, listed by ? (the palette would hide them)

    def __init__(self, inputs: AppInputs) -> None:
        super().__init__()
        self.inputs = inputs
        self.main = MainScreen(inputs)

    def on_mount(self) -> None:
        self.push_screen(self.main)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings on screen now (not those still waiting for a probe): the exit code's input."""
        return self.main.state.settled


def make_app(
    runners: Runners, origin: Origin, facts: Facts | None = None, findings: Sequence[Finding] | None = None,
    *, verify: bool = False,
) -> FtdoctorApp:
    """The app for these inputs. With probes among the runners and a live origin it probes on start; else it
    judges `facts` (or shows `findings` as given). `verify`: also run the smoke tests from the start."""
    given = tuple(findings) if findings is not None else None
    return FtdoctorApp(AppInputs(runners, origin, facts or Facts(), given, verify))
