"""The README's table of the app's keys names every key of the main screen, so that it cannot drift from
the bindings (the app's own help screen is read from them)."""

from __future__ import annotations

from pathlib import Path

from ftdoctor.tui.screens.main import MainScreen

README = Path(__file__).resolve().parents[2] / "README.md"
SPELLED = {"question_mark": "?", "slash": "/", "escape": "esc"}


def keys_table() -> str:
    section = README.read_text(encoding="utf-8").split("### `ftdoctor tui`", 1)[1].split("\n### ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("| `"))


def test_every_key_of_the_main_screen_is_in_the_readme():
    table = keys_table()
    for binding in MainScreen.BINDINGS:
        key = SPELLED.get(binding.key, binding.key)
        if key.isdigit():
            assert "`1`…`5`" in table
            continue
        assert f"`{key}`" in table, f"README's keys table lacks `{key}` ({binding.tooltip})"
