"""`ftdoctor train CONFIG --dry-run`: the preflight of a training config for this (or a described) machine."""

from __future__ import annotations

import argparse

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Read a training config (Axolotl's key names; TRL CLI configs are understood too), look at its
model and datasets on disk, and say before anything is launched what will fail or silently go wrong on the
target machine: config errors, data and tokenizer problems, the memory estimate, and the environment."""

EPILOG = """examples:
  ftdoctor train config.yml --dry-run                  preflight for this machine
  ftdoctor train config.yml --dry-run --gpu "RTX 4090"  ... for a described machine
  ftdoctor train config.yml --dry-run --gpu H100 --gpus 8
  ftdoctor train config.yml --dry-run --facts box.json  ... for a saved snapshot
  ftdoctor train config.yml --dry-run --json            machine-readable
  ftdoctor train --list-rules                           every preflight rule with its code

exit codes:
  0  no problem found
  1  warnings (with --fail-on warning, the default)
  2  errors
  3  ftdoctor could not run (bad input, unreadable file, internal error)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.report.output import add_output_options
    from ftdoctor.trainer.machine import add_machine_options

    parser.add_argument("config", nargs="?", help="the training config (YAML)")
    parser.add_argument("--dry-run", action="store_true", help="run the preflight only (launch nothing)")
    parser.add_argument("--list-rules", action="store_true", help="print every preflight rule and exit")
    add_machine_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        from ftdoctor.cli.check import list_rules
        from ftdoctor.trainer.rules import preflight_rules

        return list_rules(preflight_rules())
    if not args.config:
        raise UsageError("no config given", where="ftdoctor train", hint="ftdoctor train config.yml --dry-run")
    if not args.dry_run:
        raise UsageError("launching training is not available in this build yet", where="ftdoctor train",
                         hint="add --dry-run to run the preflight")
    return preflight(args, command="train")


def preflight(args: argparse.Namespace, *, command: str) -> ExitCode:
    from ftdoctor.matrix import load_matrix
    from ftdoctor.report.output import Report, emit, split_codes
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.settings import load_settings
    from ftdoctor.trainer import report
    from ftdoctor.trainer.machine import resolve_machine
    from ftdoctor.trainer.preflight import judge_preflight, prepare
    from ftdoctor.trainer.rules import FAMILY_TITLES

    settings = load_settings().merged(select=split_codes(args.select), ignore=split_codes(args.ignore),
                                      fail_on=args.fail_on)
    matrix = load_matrix()
    machine = resolve_machine(args, matrix)
    pre = prepare(args.config, machine.target)
    findings = judge_preflight(pre, Context(facts=machine.facts, matrix=matrix, settings=settings))
    result = Report(command=command, findings=findings, titles=FAMILY_TITLES,
                    header=tuple(report.header(pre, machine.origin)), data=report.data(pre))
    return emit(result, args, settings.fail_on)
