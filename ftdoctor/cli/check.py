"""`ftdoctor check`: probe this machine, or load a saved snapshot, and judge it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Probe this machine (driver, GPUs, CUDA, torch build, toolkit, system libraries, installed
packages) or a saved facts snapshot, and judge it against ftdoctor's compatibility matrix."""

EPILOG = """examples:
  ftdoctor check                         judge this machine
  ftdoctor check -v                      also show what passed
  ftdoctor check --verify                also run the smoke tests (a matmul, a 4-bit layer, an all-reduce, ...)
  ftdoctor check --verify-only torch,distributed   only these smoke tests
  ftdoctor check --save-facts box.json   save this machine's facts (judge them anywhere later)
  ftdoctor check --facts box.json        judge a saved snapshot
  ftdoctor check --json --fail-on error  machine-readable; warnings do not fail
  ftdoctor check --config train.yml      also preflight a training config for this machine
  ftdoctor check --list-rules            every rule with its code

exit codes:
  0  no problem found
  1  warnings (with --fail-on warning, the default)
  2  errors
  3  ftdoctor could not run (bad input, unreadable file, internal error)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.report.output import add_output_options
    from ftdoctor.verify.options import add_verify_options

    source = parser.add_argument_group("what to judge")
    source.add_argument("--facts", metavar="FILE", help="judge a saved snapshot instead of this machine")
    source.add_argument("--python", metavar="PATH", help="diagnose this interpreter's environment (default: ftdoctor's own)")
    source.add_argument("--no-torch", action="store_true", help="do not import torch (faster; torch facts from metadata only)")
    source.add_argument("--label", default="", help="a name for this machine, stored in the snapshot")
    source.add_argument("--save-facts", metavar="FILE", help="write the snapshot to FILE (JSON)")
    source.add_argument("--force", action="store_true", help="let --save-facts replace an existing file")
    source.add_argument("--config", metavar="FILE", help="also preflight this training config for the machine judged")
    parser.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    add_verify_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    from ftdoctor.facts import serialize
    from ftdoctor.matrix import load_matrix
    from ftdoctor.report.machine import header_lines
    from ftdoctor.report.output import Report, emit, split_codes
    from ftdoctor.rules import FAMILY_TITLES, all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge
    from ftdoctor.rules.settings import load_settings
    from ftdoctor.rules.smoke import without_unrun_smokes
    from ftdoctor.verify.options import verify_plan
    from ftdoctor.verify.report import verify_summary

    if args.list_rules:
        return list_rules(all_rules())
    settings = load_settings().merged(
        select=split_codes(args.select), ignore=split_codes(args.ignore), fail_on=args.fail_on
    )
    plan = verify_plan(args)
    if args.facts:
        if plan is not None:
            raise UsageError("--verify runs smoke tests on this machine; it cannot judge a saved snapshot",
                             where="--facts", hint="a snapshot saved with --verify --save-facts keeps its smoke results")
        facts = serialize.load(args.facts)
        origin = f"judging the snapshot {args.facts}" + (f" ({facts.label})" if facts.label else "")
    else:
        facts = _gather(args, plan)
        origin = "judging this machine"
    if args.save_facts:
        from ftdoctor import atomic

        atomic.write_text(args.save_facts, serialize.dumps(facts), overwrite=args.force)
        print(f"ftdoctor: facts saved to {args.save_facts}", file=sys.stderr)
    rules = without_unrun_smokes(all_rules(), facts)
    context = Context(facts=facts, matrix=load_matrix(), settings=settings)
    findings = judge(rules, context)
    titles, header = FAMILY_TITLES, header_lines(facts, origin)
    data = {"facts_source": args.facts or "live", **verify_summary(facts)}
    if args.config:
        from ftdoctor.trainer.preflight import config_findings

        more, titles, header, data = config_findings(args.config, facts, context, titles, header, data)
        findings += more
    report = Report(command="check", findings=findings, titles=titles, header=tuple(header), data=data)
    return emit(report, args, settings.fail_on)


def _gather(args: argparse.Namespace, plan):
    """This machine's facts; with a verify plan, the smoke tests start first and run while the probes do."""
    from dataclasses import replace

    from ftdoctor.probes.gather import GatherOptions, gather
    from ftdoctor.probes.host import Host
    from ftdoctor.verify import run

    if args.python and not Path(args.python).exists():
        raise UsageError("no such interpreter", where=args.python, hint="give the path of a python executable")
    host = Host.from_environment(python=args.python)
    options = GatherOptions(torch=not args.no_torch, label=args.label)
    if plan is None:
        return gather(host, options)
    batch = run.start(host, plan.smokes, plan.options)
    facts = run.gathered_beside(batch, lambda: gather(host, options))
    notices = sys.stderr if args.format == "terminal" else None
    return replace(facts, verify=run.finish(batch, notices=notices, every_s=plan.options.notice_every_s))


def list_rules(rules) -> int:
    from ftdoctor.rules import FAMILY_TITLES

    for rule in sorted(rules, key=lambda r: r.code):
        requires = f"  (requires {', '.join(sorted(rule.requires))})" if rule.requires else ""
        print(f"{rule.code}  {FAMILY_TITLES.get(rule.family, rule.family):<32} {rule.description()}{requires}")
    return ExitCode.OK
