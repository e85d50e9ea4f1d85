"""`ftdoctor train CONFIG`: the guarded launch of ftdoctor's bundled trainer (preflight, gate, training, record);
`--dry-run`: the preflight alone, for this (or a described) machine."""

from __future__ import annotations

import argparse

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Read a training config (Axolotl's key names; TRL CLI configs are understood too), look at its
model and datasets on disk, and say before anything is launched what will fail or silently go wrong on the
target machine: config errors, data and tokenizer problems, the memory estimate, and the environment.

Without --dry-run, the config is then trained here with ftdoctor's bundled TRL/PEFT trainer, but only if
the gate lets it through: what the config needs (CUDA on N GPUs, bf16, flash-attn, 4/8-bit bitsandbytes,
NCCL or gloo across N processes, DeepSpeed) is checked on this machine first, and any error refuses the
launch. The run's record (config, facts, pinned versions, the gate's findings, data hashes, metrics, log)
is kept in output_dir/run/."""

EPILOG = """examples:
  ftdoctor train config.yml --dry-run                  preflight for this machine
  ftdoctor train config.yml --dry-run --gpu "RTX 4090"  ... for a described machine
  ftdoctor train config.yml --dry-run --gpu H100 --gpus 8
  ftdoctor train config.yml --dry-run --facts box.json  ... for a saved snapshot
  ftdoctor train config.yml --dry-run --json            machine-readable
  ftdoctor train configs/*.yml --dry-run --gpu H100     every config, one section each (the pre-commit hook)
  ftdoctor train --list-rules                           every preflight rule with its code
  ftdoctor train config.yml                            gate, then train here
  ftdoctor train config.yml --processes 2              ... in 2 processes (DDP; DeepSpeed/FSDP from the config)
  ftdoctor train config.yml --resume                   continue from the last checkpoint in output_dir

exit codes:
  0  no problem found (--dry-run); training finished
  1  warnings (with --fail-on warning, the default; --dry-run)
  2  errors (--dry-run); the gate refused the launch
  3  ftdoctor could not run (bad input, unreadable file, output_dir in use, internal error)
  4  the training processes failed (their log is explained and kept in output_dir/run/train.log)
  130  interrupted (continue with --resume)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.report.output import add_output_options
    from ftdoctor.trainer.machine import add_machine_options

    parser.add_argument("config", nargs="*", help="the training config (YAML); with --dry-run, several (one section each)")
    parser.add_argument("--dry-run", action="store_true", help="run the preflight only (launch nothing)")
    parser.add_argument("--list-rules", action="store_true", help="print every preflight and gate rule and exit")
    launch = parser.add_argument_group("launching (without --dry-run)")
    launch.add_argument("--processes", type=int, metavar="N", help="training processes (default: one per visible "
                        "GPU, one on a CPU machine)")
    launch.add_argument("--resume", action="store_true", help="continue the run in output_dir from its last checkpoint")
    launch.add_argument("--overwrite", action="store_true", help="replace what output_dir holds (refused otherwise)")
    launch.add_argument("--force", action="store_true", help="launch even when the gate finds errors (recorded, loudly)")
    add_machine_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        from ftdoctor.cli.check import list_rules
        from ftdoctor.trainer.gate.rules import RULES as GATE_RULES
        from ftdoctor.trainer.rules import preflight_rules

        return list_rules([*preflight_rules(), *GATE_RULES])  # the gate's RUN9xx judge launches too
    if not args.config:
        raise UsageError("no config given", where="ftdoctor train", hint="ftdoctor train config.yml --dry-run")
    if not args.dry_run:
        if len(args.config) > 1:
            raise UsageError("training runs one config at a time", where="ftdoctor train",
                             hint="several configs are for --dry-run (the preflight)")
        args.config = args.config[0]
        return launch(args)
    return preflight(args, command="train")


def launch(args: argparse.Namespace) -> ExitCode:
    from ftdoctor.rules.settings import load_settings
    from ftdoctor.report.output import split_codes
    from ftdoctor.trainer.launch.guarded import TrainOptions, guarded_train, live_facts

    if args.facts or args.gpu or args.cpu:
        raise UsageError("--facts, --gpu and --cpu describe another machine: training runs on this one",
                         where="ftdoctor train", hint="add --dry-run to judge the config for that machine")
    if args.gpus is not None or args.gpu_memory is not None:
        raise UsageError("--gpus and --gpu-memory describe the machine a --dry-run judges", where="ftdoctor train",
                         hint="training uses this machine's GPUs: --processes N sets how many processes it starts")
    if args.format == "json":
        raise UsageError("--json applies to --dry-run; a launched run's record is JSON already",
                         where="ftdoctor train", hint="read output_dir/run/record.json and gate.json")
    if args.processes is not None and args.processes < 1:
        raise UsageError("--processes must be at least 1", where="ftdoctor train")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues what output_dir holds, --overwrite replaces it: pick one",
                         where="ftdoctor train")
    settings = load_settings().merged(select=split_codes(args.select), ignore=split_codes(args.ignore),
                                      fail_on=args.fail_on)
    options = TrainOptions(args.config, processes=args.processes, force=args.force, resume=args.resume,
                           overwrite=args.overwrite, settings=settings, verbose=args.verbose, no_color=args.no_color)
    return guarded_train(options, facts=live_facts())


def preflight(args: argparse.Namespace, *, command: str) -> ExitCode:
    """The preflight of every config for one machine; one config is one report, several are one section each."""
    from ftdoctor.matrix import load_matrix
    from ftdoctor.report.output import Report, Section, emit, split_codes
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
    context = Context(facts=machine.facts, matrix=matrix, settings=settings)
    judged = []
    for config in args.config:
        pre = prepare(config, machine.target)
        judged.append((config, pre, judge_preflight(pre, context)))
    if len(judged) == 1:
        _, pre, findings = judged[0]
        result = Report(command=command, findings=findings, titles=FAMILY_TITLES,
                        header=tuple(report.header(pre, machine.origin)), data=report.data(pre))
        return emit(result, args, settings.fail_on)
    sections = tuple(Section(str(config), findings, header=tuple(report.header(pre, machine.origin)))
                     for config, pre, findings in judged)
    result = Report(command=command, findings=[f for s in sections for f in s.findings], titles=FAMILY_TITLES,
                    data={"configs": {str(config): report.data(pre) for config, pre, _ in judged}},
                    sections=sections)
    return emit(result, args, settings.fail_on)
