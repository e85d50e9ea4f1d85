"""The real `ftdoctor tui` in a real terminal: started in tmux (on a private server) on a saved facts file,
driven with keys, read back with capture-pane; the exit code is check's, for the findings on screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from ftdoctor.facts import serialize
from ftdoctor.facts.model import DriverFacts, Facts, Status

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Terminal:
    def __init__(self, command: str, cwd, size=(100, 30)) -> None:
        self.socket = f"ftdoctor-test-{uuid.uuid4().hex[:8]}"
        self.rc_file = cwd / "exit-code"
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("FTDOCTOR_DEBUG", None)
        wrapped = f"cd {shlex.quote(str(cwd))} && {command}; echo $? > {shlex.quote(str(self.rc_file))}; sleep 30"
        self._tmux("new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), wrapped, env=env)

    def _tmux(self, *args: str, env=None) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env,
                                timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        """Send keys; an Escape goes alone, since escape followed at once by a key reads as alt+key."""
        for key in keys:
            self._tmux("send-keys", key)
            if key == "Escape":
                time.sleep(0.5)

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        """The screen once every text is on it (a screen is drawn in pieces: wait for all that is checked)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} never all appeared on the screen:\n{self.screen()}")

    def wait_gone(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} stayed on the screen:\n{self.screen()}")
            time.sleep(0.2)

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rc_file.exists() and self.rc_file.read_text().strip():
                return int(self.rc_file.read_text())
            time.sleep(0.2)
        raise AssertionError(f"the app did not exit:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def laptop_facts(tmp_path):
    """A machine with no NVIDIA GPU: the real rules warn, with a fix."""
    path = tmp_path / "laptop.json"
    facts = Facts(ftdoctor_version="0.1.0", label="laptop", driver=DriverFacts(pci_status=Status.OK))
    path.write_text(serialize.dumps(facts))
    return path


def ftdoctor(*args: str) -> str:
    return " ".join(shlex.quote(a) for a in (sys.executable, "-m", "ftdoctor", *args))


def test_the_real_app_browses_a_saved_snapshot_and_quits_with_checks_exit_code(tmp_path, laptop_facts):
    terminal = Terminal(ftdoctor("tui", "--facts", str(laptop_facts)), tmp_path)
    try:
        terminal.wait_for(
            "snapshot laptop.json (laptop)",  # the header
            "! DRV100",
            "no NVIDIA driver and no NVIDIA GPU on this machine",  # the detail of the first problem
            "$ ftdoctor check --facts gpu-box.json",  # its fix commands
            "Quit",
        )
        terminal.keys("?")
        terminal.wait_for("this list of keys")
        terminal.keys("Escape", "x")
        terminal.wait_for("fixes belong on that")  # a snapshot's fix is never run here
        terminal.keys("/", "zzz-no-match")
        terminal.wait_for("zzz-no-match")
        terminal.wait_gone("DRV100")  # the search hides it
        terminal.keys("Escape", "Escape")
        terminal.wait_for("DRV100")
        terminal.keys("q")
        assert terminal.exit_code() == 1  # a warning, and --fail-on warning is the default
    finally:
        terminal.close()


def test_check_tui_opens_the_same_app(tmp_path, laptop_facts):
    terminal = Terminal(ftdoctor("check", "--tui", "--facts", str(laptop_facts), "--fail-on", "error"), tmp_path,
                        size=(80, 24))
    try:
        terminal.wait_for("DRV100", "[x] errors", "q Quit")  # 80×24 still shows the filter and the keys
        terminal.keys("q")
        assert terminal.exit_code() == 0  # warnings do not fail with --fail-on error
    finally:
        terminal.close()


def test_the_real_app_probes_this_machine_and_runs_a_real_smoke_test(tmp_path):
    """Live: the probes of this machine and the real torch smoke test in the background, browsed by search."""
    import re

    terminal = Terminal(ftdoctor("tui", "--no-torch", "--verify-only", "torch"), tmp_path)
    try:
        terminal.wait_for("ftdoctor — this machine", "probe(s) answered", "✓ 1 smoke test(s) finished", timeout=180)
        terminal.keys("/", "TOR380")
        terminal.wait_for("└ ✓ TOR380")  # the search unfolds the family of the match
        terminal.keys("Enter")
        for _ in range(6):  # down to the match (root, family, finding); a key sent before the focus moved is lost
            if "TOR380 · torch smoke test" in terminal.screen():
                break
            terminal.keys("Down")
            time.sleep(0.5)
        screen = terminal.wait_for("TOR380 · torch smoke test", "Found", "matmul is right on")
        counts = re.search(r"(\d+) errors?, (\d+) warnings?", screen)
        assert counts, screen
        terminal.keys("q")
        errors, warnings = int(counts[1]), int(counts[2])
        assert terminal.exit_code() == (2 if errors else 1 if warnings else 0)  # check's, for what was shown
    finally:
        terminal.close()
