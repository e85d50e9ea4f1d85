"""Two lines at the bottom: the verdict so far, and which probes are running, answered or failed."""

from __future__ import annotations

import time

from textual.widgets import Static

from ftdoctor.tui.data.progress import Progress


class ProbeStatus(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.progress = Progress()
        self.verdict = ""
        self._ticker = None

    def on_mount(self) -> None:
        self._ticker = self.set_interval(1.0, self._redraw, pause=True)

    def show(self, verdict: str, progress: Progress) -> None:
        self.verdict, self.progress = verdict, progress
        if self._ticker is not None:
            self._ticker.resume() if progress.busy else self._ticker.pause()
        self._redraw()

    def _redraw(self) -> None:
        line = self.progress.line(time.monotonic())
        self.update(self.verdict + (f"\n{line}" if line else ""))
