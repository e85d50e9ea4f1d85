"""The launching side stays light: importing the gate, the launcher, the recipe modules, the run record and
the demo pulls in no heavy library (they are imported inside the functions that train)."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "ftdoctor.cli.train", "ftdoctor.cli.demo", "ftdoctor.trainer.demo",
    "ftdoctor.trainer.gate.decide", "ftdoctor.trainer.gate.runners", "ftdoctor.trainer.gate.rules",
    "ftdoctor.trainer.gate.supported",
    "ftdoctor.trainer.launch.guarded", "ftdoctor.trainer.launch.worker", "ftdoctor.trainer.launch.crash",
    "ftdoctor.trainer.recipe.recipe", "ftdoctor.trainer.recipe.callbacks", "ftdoctor.trainer.recipe.data",
    "ftdoctor.trainer.recipe.tokens", "ftdoctor.trainer.recipe.merge", "ftdoctor.trainer.recipe.methods",
    "ftdoctor.trainer.run.record", "ftdoctor.trainer.run.outdir",
]
HEAVY = ["torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "deepspeed", "flash_attn",
         "tokenizers", "pyarrow", "tensorboard"]


def test_no_heavy_import_at_module_level():
    code = (f"import sys\nfor m in {MODULES!r}: __import__(m)\n"
            f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
