"""Find and end processes a smoke child left behind, even ones that left its process group.

Every smoke child is started with `FTDOCTOR_SMOKE_RUN=<token>` in its environment; descendants inherit it,
including a daemon that called setsid(). After the run, any process still carrying the token is ours and is
killed. Read from /proc, no psutil.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

MARKER = "FTDOCTOR_SMOKE_RUN"


def new_token() -> str:
    return uuid.uuid4().hex


def carrying(token: str, proc: Path = Path("/proc")) -> list[int]:
    """Processes whose environment holds this run's token (this process excluded)."""
    needle = f"{MARKER}={token}".encode() + b"\0"
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes() + b"\0"
        except OSError:  # gone, or not ours to read: not ours to kill either
            continue
        if needle in environ and not _is_zombie(entry):
            found.append(int(entry.name))
    return found


def end(token: str) -> list[int]:
    """SIGKILL every process carrying the token; the pids killed."""
    killed = []
    for pid in carrying(token):
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    return killed


def _is_zombie(entry: Path) -> bool:
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
