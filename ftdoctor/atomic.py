"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ftdoctor.errors import OutputExistsError


def write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write `text` to `path` through a temporary file in the same directory and a rename.

    Refuses to replace an existing file unless `overwrite` is set, so that nothing the user owns is lost.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            "file exists, refusing to overwrite it", where=str(target), hint="pass --force to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _mode(target))  # mkstemp makes 0600; the result should look like any file the user writes
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _mode(target: Path) -> int:
    """The existing file's permissions, else what the umask gives a new file."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
