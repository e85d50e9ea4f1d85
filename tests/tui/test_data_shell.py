"""Fix commands run in a real shell: output streamed line by line, exit status and signals reported,
a cancel stopping the command and everything it started."""

from __future__ import annotations

import os
import threading
import time

from ftdoctor.tui.data.runners import PlanStep
from ftdoctor.tui.data.shell import run_in_shell


def run(command: str, stop=lambda: False):
    lines: list[tuple[float, str]] = []
    result = run_in_shell(PlanStep(command), lambda line: lines.append((time.monotonic(), line)), stop)
    return result, lines


def test_output_streams_as_it_comes_stderr_included():
    result, lines = run("echo first; sleep 0.5; echo second >&2; printf 'no newline at the end'")
    assert [text for _, text in lines] == ["first", "second", "no newline at the end"]
    assert lines[1][0] - lines[0][0] > 0.3  # the first line arrived before the command finished
    assert result.ok and result.describe() == "succeeded"


def test_exit_status_and_signals_are_reported():
    failed, _ = run("exit 7")
    assert (failed.ok, failed.returncode, failed.describe()) == (False, 7, "failed with exit status 7")
    killed, _ = run("kill -9 $$")
    assert killed.signal == "SIGKILL" and killed.describe() == "killed by SIGKILL"


def test_undecodable_output_and_carriage_returns_do_not_break_lines():
    _, lines = run(r"printf 'caf\303\251\r\nbad \377 byte\n'")
    assert [text for _, text in lines] == ["café", "bad \ufffd byte"]


def test_cancel_stops_the_command_and_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    result, _ = run(f"sleep 60 & echo $! > {pidfile}; wait", stop.is_set)
    assert result.cancelled and result.describe() == "cancelled (its processes were stopped)"
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    assert not _alive(child)


def test_a_background_child_holding_the_output_open_does_not_hang_the_step():
    started = time.monotonic()
    result, lines = run("echo done; sleep 60 &")
    assert result.ok and [text for _, text in lines] == ["done"]
    assert time.monotonic() - started < 5


def _alive(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split()[2] == "Z":  # a zombie waiting for its reaper is gone for our purpose
                    return False
        except OSError:
            return False
        time.sleep(0.1)
    return True
