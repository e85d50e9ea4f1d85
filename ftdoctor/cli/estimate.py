"""`ftdoctor estimate CONFIG --gpu NAME`: the peak GPU memory of a training config, term by term."""

from __future__ import annotations

import argparse
import sys

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Estimate the peak GPU memory of one training step of a config: weights, LoRA parameters,
gradients, optimizer states, activations, logits, sharding and offload; and when it does not fit, the
settings that would make it fit. docs/memory.md explains the formula and its assumptions."""

EPILOG = """examples:
  ftdoctor estimate config.yml --gpu "RTX 4090"
  ftdoctor estimate config.yml --gpu "A100 80GB" --gpus 4
  ftdoctor estimate config.yml --gpus 2             the first 2 of this machine's GPUs
  ftdoctor estimate config.yml --facts box.json --json

exit codes:
  0  fits (at most 90% of the GPU)
  1  tight (90-100%)
  2  does not fit
  3  ftdoctor could not run (bad input, unknown model size, internal error)"""

TIGHT = 0.9


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.trainer.machine import add_machine_options

    parser.add_argument("config", help="the training config (YAML)")
    add_machine_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ftdoctor.matrix import load_matrix
    from ftdoctor.trainer.machine import resolve_machine
    from ftdoctor.trainer.preflight import prepare

    machine = resolve_machine(args, load_matrix())
    pre = prepare(args.config, machine.target, build_unknown=True)
    if pre.estimate is None:
        why = pre.model.shape_note if pre.model else "the config has no base_model"
        raise UsageError(f"cannot estimate: the model's size is unknown ({why})", where=str(args.config),
                         hint="point base_model at a local folder with config.json, or a known hub model")
    target = machine.target
    capacity = target.system_memory_bytes if target.cpu_only else target.memory_bytes
    code = _verdict(pre.estimate.peak_bytes, capacity)
    if args.json:
        _print_json(pre, capacity, code)
    else:
        _print_table(pre, capacity, machine.origin)
    return code


def _verdict(peak: int, capacity: int | None) -> ExitCode:
    if capacity is None or peak <= capacity * TIGHT:
        return ExitCode.OK
    return ExitCode.WARNINGS if peak <= capacity else ExitCode.ERRORS


def _alternatives(pre, capacity: int | None):
    from ftdoctor.trainer.memory.fit import ways_to_fit

    if capacity is None or pre.estimate.peak_bytes <= capacity * TIGHT:
        return []
    changes = ways_to_fit(pre.memory, int(capacity * TIGHT))
    if pre.loaded.dialect == "trl":
        from dataclasses import replace

        from ftdoctor.trainer.config.trl_dialect import in_trl_spelling

        changes = [replace(c, summary=in_trl_spelling(c.summary)) for c in changes]
    return changes


def _print_table(pre, capacity: int | None, origin: str) -> None:
    from ftdoctor.trainer.memory.render import gib, table

    described = pre.target.describe()
    title = f"Peak memory per {'GPU' if not pre.target.cpu_only else 'machine'} for {pre.loaded.path} {origin}" \
            + ("" if described in origin else f" ({described})")
    label = "system memory" if pre.target.cpu_only else "GPU memory"
    lines = table(pre.estimate, capacity, title, label) + [f"  note: {note}" for note in pre.target.notes]
    changes = _alternatives(pre, capacity)
    if changes:
        lines += ["", "would fit with:"] + [f"  {c.summary}: about {gib(c.estimate.peak_bytes)}" for c in changes]
    elif capacity and pre.estimate.peak_bytes > capacity:
        lines += ["", "no single setting makes it fit: more GPU memory or more GPUs with ZeRO-3"]
    sys.stdout.write("\n".join(lines) + "\n")


def _print_json(pre, capacity: int | None, code: ExitCode) -> None:
    from ftdoctor.report.envelope import envelope
    from ftdoctor.trainer.memory.render import as_data

    data = {"config": str(pre.loaded.path), "target": pre.target.describe(), "target_notes": list(pre.target.notes),
            "estimate": as_data(pre.estimate, capacity),
            "would_fit_with": [{"change": c.summary, "peak_bytes": c.estimate.peak_bytes}
                               for c in _alternatives(pre, capacity)]}
    sys.stdout.write(envelope("estimate", code, data) + "\n")
