"""`ftdoctor demo [DIR]`: build a tiny local model and data, train it through the guarded launch, reload the
adapter and generate — a real run with no download."""

from __future__ import annotations

import argparse
from pathlib import Path

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Build ftdoctor's tiny local model (a random-init Llama with a tokenizer trained on the spot and a
ChatML chat template), 400 short conversations and a LoRA config in DIR; train it with `ftdoctor train`
(preflight, gate, training, record); then reload the saved adapter and answer a few questions with it.
Nothing is downloaded. About a minute on a 2-core CPU."""

EPILOG = """examples:
  ftdoctor demo                   into ./ftdoctor-demo
  ftdoctor demo /tmp/demo --steps 100

exit codes:
  0  trained and generated
  2  the gate refused the launch
  3  DIR already holds files, or ftdoctor could not run
  4  training failed (the log is explained and kept in DIR/out/run/train.log)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default="ftdoctor-demo", help="where to build and train (must be empty "
                        "or absent; default ./ftdoctor-demo)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (default 300)")


def run(args: argparse.Namespace) -> ExitCode:
    from ftdoctor.trainer.demo import run_demo

    if args.steps < 1:
        raise UsageError("--steps must be at least 1", where="ftdoctor demo")
    return run_demo(Path(args.dir), steps=args.steps)
