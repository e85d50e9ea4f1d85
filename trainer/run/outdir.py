"""The output directory's state: empty, a previous run to resume, or contents that must not be overwritten
without `--overwrite`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ftdoctor.errors import OutputExistsError, UsageError

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints (they have trainer_state.json), oldest first."""
    if not output_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in output_dir.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))
             and (p / "trainer_state.json").is_file()]
    return [p for _, p in sorted(found)]


def last_checkpoint(output_dir: Path) -> Path | None:
    found = checkpoints(output_dir)
    return found[-1] if found else None


def occupied(output_dir: Path) -> bool:
    return output_dir.is_dir() and any(output_dir.iterdir())


def claim(output_dir: Path, *, resume: bool, overwrite: bool, explicit_checkpoint: str | None = None) -> Path | None:
    """Decide what the run does with `output_dir`; returns the checkpoint to resume from (None: start anew).

    Nothing is deleted here: `clear` does that, once the gate has let the run through."""
    if resume:
        checkpoint = Path(explicit_checkpoint) if explicit_checkpoint else last_checkpoint(output_dir)
        if checkpoint is None or not (checkpoint / "trainer_state.json").is_file():
            raise UsageError(f"nothing to resume in {output_dir}: no checkpoint-N folder with trainer_state.json",
                             where="--resume", hint="start the run without --resume; checkpoints are written every "
                             "save_steps")
        return checkpoint
    if occupied(output_dir) and not overwrite:
        previous = "a previous run" if (output_dir / "run").is_dir() or checkpoints(output_dir) else "files"
        raise OutputExistsError(f"output_dir already holds {previous}; refusing to overwrite it",
                                where=str(output_dir), hint="continue it with --resume, replace it with --overwrite, "
                                "or set another output_dir")
    return None


def clear(output_dir: Path) -> None:
    """Empty `output_dir` (asked for with --overwrite)."""
    for child in output_dir.iterdir() if output_dir.is_dir() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
