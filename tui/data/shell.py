"""Run one fix command in a real shell and hand back its output line by line as it comes.

The command runs in its own session so that cancelling it stops everything it started (a pip that spawned
a build backend, say). Output is read from the raw descriptor with a short poll, so a cancel is noticed even
while the command prints nothing.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import time

from ftdoctor.tui.data.runners import OnOutput, PlanStep, ShouldStop, StepResult

SHELL = "/bin/sh"


def run_in_shell(step: PlanStep, on_output: OnOutput, should_stop: ShouldStop, poll_s: float = 0.1) -> StepResult:
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # Python children print as they go, not at exit
    try:
        proc = subprocess.Popen(
            [SHELL, "-c", step.command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    except OSError as exc:
        return StepResult(step.command, None, 0.0, start_error=f"{exc.strerror or exc}: {SHELL}")
    cancelled = _pump(proc, on_output, should_stop, poll_s)
    proc.wait()
    _kill_group(proc.pid)  # whatever it left running in the background
    code = proc.returncode
    return StepResult(
        command=step.command,
        returncode=None if cancelled else code,
        elapsed_s=round(time.monotonic() - started, 3),
        signal=signal.Signals(-code).name if code < 0 and not cancelled else None,
        cancelled=cancelled,
    )


def _pump(proc: subprocess.Popen[bytes], on_output: OnOutput, should_stop: ShouldStop, poll_s: float) -> bool:
    """Forward output until the command closes it; True when it was cancelled instead."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines = _Lines(on_output)
    try:
        while True:
            if should_stop():
                _stop_group(proc)
                return True
            ready, _, _ = select.select([fd], [], [], poll_s)
            if not ready:
                if proc.poll() is not None:
                    return False  # the shell is done; a background child still holds the pipe open
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            lines.feed(chunk)
    finally:
        lines.close()
        proc.stdout.close()


class _Lines:
    """Bytes in, whole lines out (the last partial line too, at the end); undecodable bytes replaced."""

    def __init__(self, on_output: OnOutput) -> None:
        self._emit = on_output
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""

    def feed(self, chunk: bytes) -> None:
        text = self._partial + self._decoder.decode(chunk)
        *whole, self._partial = text.split("\n")
        for line in whole:
            self._emit(line.rstrip("\r"))

    def close(self) -> None:
        rest = self._partial + self._decoder.decode(b"", final=True)
        if rest:
            self._emit(rest.rstrip("\r"))
        self._partial = ""


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float = 2.0) -> None:
    """SIGTERM first, so that a pip can clean up; SIGKILL for whatever is still there after the grace."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    _kill_group(proc.pid)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
