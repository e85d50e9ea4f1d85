"""TUI test set-up: no blinking cursors and no animations, so that screenshots are the same every run."""

from __future__ import annotations

import pytest
from textual import constants
from textual.widgets import Input, TextArea


@pytest.fixture(autouse=True)
def still_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
    monkeypatch.setattr(constants, "TEXTUAL_ANIMATIONS", "none")
