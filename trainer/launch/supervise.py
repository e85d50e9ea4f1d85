"""Run the training processes with their output shown live and kept in the run's log.

The output is copied chunk by chunk (not line by line) so that the progress bar stays live; the log
keeps every byte, appended to across attempts. Ctrl-C reaches the processes too (same process group);
the supervisor then waits for them to stop, and kills what is left after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GRACE_S = 30.0


@dataclass(frozen=True)
class Finished:
    returncode: int
    interrupted: bool


def supervise(command: list[str], env: dict[str, str], log: Path, *, echo: BinaryIO | None = None,
              cwd: str | None = None) -> Finished:
    echo = echo if echo is not None else sys.stderr.buffer
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        sink.write(f"\n===== ftdoctor: {' '.join(command)}\n".encode())
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
        interrupted = False
        while True:
            try:
                _copy(process, sink, echo)
                break
            except KeyboardInterrupt:
                interrupted = True
                _stop(process)
        return Finished(process.wait(), interrupted)


def _copy(process: subprocess.Popen, sink: BinaryIO, echo: BinaryIO) -> None:
    fd = process.stdout.fileno()  # type: ignore[union-attr]
    while chunk := os.read(fd, 65536):
        sink.write(chunk)
        sink.flush()
        try:
            echo.write(chunk)
            echo.flush()
        except (BrokenPipeError, ValueError):
            pass  # the terminal went away; the log still gets everything


def _stop(process: subprocess.Popen) -> None:
    """The processes got SIGINT with us; give them time to stop, then end them."""
    try:
        process.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
