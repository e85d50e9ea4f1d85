"""`ftdoctor compare`: the saved facts of several nodes, every difference that matters for a multi-node run."""

from __future__ import annotations

import argparse

DESCRIPTION = """Compare the saved facts of several machines (the nodes of a multi-node run) and report every
difference that breaks or skews distributed training: Python, NVIDIA driver, the torch build and its CUDA,
NCCL, the CUDA library wheels, the training packages, GPU models and counts, platform, NCCL/CUDA variables."""

EPILOG = """examples:
  ftdoctor compare node1.json node2.json      two nodes
  ftdoctor compare facts/*.json               every snapshot in a folder
  ftdoctor compare --facts-dir facts/         the same, without the shell's glob
  ftdoctor compare facts/*.json --format github

collect the snapshots with the cluster's own launcher, one per node, e.g. with Slurm:
  srun --nodes=4 --ntasks-per-node=1 sh -c \\
    'ftdoctor check --label "$(hostname)" --save-facts "facts/$(hostname).json" --force; true'

exit codes:
  0  the machines agree
  1  differences that are warnings (with --fail-on warning, the default)
  2  differences that break multi-node training
  3  ftdoctor could not run (bad input, unreadable file, fewer than two machines)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.report.output import add_output_options

    parser.add_argument("snapshots", nargs="*", metavar="FACTS.json", help="saved facts, one per machine")
    parser.add_argument("--facts-dir", metavar="DIR", help="compare every *.json snapshot in DIR")
    parser.add_argument("--list-rules", action="store_true", help="print every comparison rule and exit")
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    from ftdoctor.errors import UsageError
    from ftdoctor.fleet import judge_fleet, load_machines, machine_line, snapshot_files
    from ftdoctor.report.output import Report, RuleDoc, emit, split_codes
    from ftdoctor.rules import FAMILY_TITLES
    from ftdoctor.rules.fleet import RULES
    from ftdoctor.rules.settings import load_settings

    if args.list_rules:
        from ftdoctor.cli.check import list_rules

        return list_rules(RULES)
    paths = list(args.snapshots) + (snapshot_files(args.facts_dir) if args.facts_dir else [])
    if len(paths) < 2:
        raise UsageError(
            f"compare needs at least two facts snapshots, got {len(paths)}",
            hint="save one per node with `ftdoctor check --label NODE --save-facts NODE.json`",
        )
    settings = load_settings().merged(select=split_codes(args.select), ignore=split_codes(args.ignore), fail_on=args.fail_on)
    machines = load_machines(paths)
    report = Report(
        command="compare",
        findings=judge_fleet(machines, settings),
        titles=FAMILY_TITLES,
        header=tuple(machine_line(m) for m in machines),
        rules=tuple(RuleDoc.of(rule) for rule in RULES),
        data={"compared": [{"name": m.name, "source": m.source} for m in machines]},
    )
    return emit(report, args, settings.fail_on)
