"""The training process: `python -m ftdoctor.trainer.launch.worker RUN_DIR/job.json` (one per rank).

`ftdoctor train` starts it (through accelerate's launcher when there are several processes) with its
output captured into the run's log. Rank 0 writes `result.json` into the run directory; any failure
is printed as one `ftdoctor: training failed: ...` line after the traceback, for the log and for
`ftdoctor explain`.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from pathlib import Path

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
FAILED = "ftdoctor: training failed:"


def main(argv: list[str] | None = None) -> int:
    from ftdoctor.trainer.recipe.job import load_job

    args = sys.argv[1:] if argv is None else argv
    job = load_job(args[0])
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    # transformers warns about its own internal use of a deprecated name on every run; nothing to act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    rank = int(os.environ.get("RANK", "0"))
    try:
        outcome = run_job(job)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the log and the record
        traceback.print_exc()
        print(f"{FAILED} {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        if rank == 0:
            _write(job.run_dir / "result.json", {"status": "interrupted" if isinstance(exc, KeyboardInterrupt)
                                                 else "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    if rank == 0:
        _write(job.run_dir / "result.json", {"status": "finished", **outcome})
    return 0


def run_job(job) -> dict:
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    recipe = FineTuneRecipe(job)
    recipe.setup()
    recipe.train()
    recipe.cleanup()
    return recipe.outcome


def _write(path: Path, data: dict) -> None:
    from ftdoctor import atomic

    atomic.write_text(path, json.dumps(data, indent=2, default=str) + "\n", overwrite=True)


if __name__ == "__main__":
    sys.exit(main())
