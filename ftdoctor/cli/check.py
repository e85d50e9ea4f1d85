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
  ftdoctor check --facts box.json        judge a saved snapshot (also: ftdoctor check box.json)
  ftdoctor check --facts-dir facts/      judge every node's snapshot, and compare them
  ftdoctor check --format github         annotations for GitHub Actions (also: junit, sarif, markdown)
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
    source.add_argument(
        "snapshots", nargs="*", metavar="FACTS.json",
        help="judge saved snapshots instead of this machine (several: one section each, then compared)",
    )
    source.add_argument("--facts", metavar="FILE", action="append", help="judge a saved snapshot (repeatable)")
    source.add_argument("--facts-dir", metavar="DIR", help="judge every *.json snapshot in DIR (the nodes of a cluster)")
    source.add_argument("--no-compare", action="store_true", help="with several snapshots, do not compare them")
    source.add_argument("--python", metavar="PATH", help="diagnose this interpreter's environment (default: ftdoctor's own)")
    source.add_argument("--no-torch", action="store_true", help="do not import torch (faster; torch facts from metadata only)")
    source.add_argument("--label", default="", help="a name for this machine, stored in the snapshot")
    source.add_argument("--save-facts", metavar="FILE", help="write the snapshot to FILE (JSON)")
    source.add_argument("--force", action="store_true", help="let --save-facts replace an existing file")
    source.add_argument("--config", metavar="FILE", help="also preflight this training config for the machine judged")
    parser.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    parser.add_argument("--tui", action="store_true", help="browse the findings in the terminal app (`ftdoctor tui`)")
    add_verify_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.tui:
        from ftdoctor.cli import tui

        return tui.run(args)
    from ftdoctor.verify.options import verify_plan

    plan = verify_plan(args)
    snapshots = bool(args.facts or args.snapshots or args.facts_dir)
    if snapshots and plan is not None:
        raise UsageError("--verify runs smoke tests on this machine; it cannot judge a saved snapshot",
                         where="--facts", hint="a snapshot saved with --verify --save-facts keeps its smoke results")
    live = None if snapshots or args.list_rules else _start_live(args, plan)
    try:
        return _judge(args, live)
    finally:
        if live is not None:
            live.cancel()  # only what was not collected: an early error must not leave torch or a smoke running


def _judge(args: argparse.Namespace, live: LiveRun | None) -> int:
    from ftdoctor.facts import serialize
    from ftdoctor.matrix import load_matrix
    from ftdoctor.report.machine import header_lines
    from ftdoctor.report.output import Report, RuleDoc, emit, split_codes
    from ftdoctor.rules import FAMILY_TITLES, all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge
    from ftdoctor.rules.settings import load_settings
    from ftdoctor.rules.smoke import without_unrun_smokes
    from ftdoctor.verify.report import verify_summary

    if args.list_rules:
        return list_rules(all_rules())
    settings = load_settings().merged(
        select=split_codes(args.select), ignore=split_codes(args.ignore), fail_on=args.fail_on
    )
    paths = _snapshot_paths(args)
    if len(paths) > 1:
        return _judge_many(args, paths, settings)
    if paths:
        facts = serialize.load(paths[0])
        origin = f"judging the snapshot {paths[0]}" + (f" ({facts.label})" if facts.label else "")
    else:
        facts = live.finish()
        origin = "judging this machine"
    if args.save_facts:
        from ftdoctor import atomic

        atomic.write_text(args.save_facts, serialize.dumps(facts), overwrite=args.force)
        print(f"ftdoctor: facts saved to {args.save_facts}", file=sys.stderr)
    rules = without_unrun_smokes(all_rules(), facts)
    context = Context(facts=facts, matrix=load_matrix(), settings=settings)
    findings = judge(rules, context)
    titles, header = FAMILY_TITLES, header_lines(facts, origin)
    data = {"facts_source": str(paths[0]) if paths else "live", **verify_summary(facts)}
    if args.config:
        from ftdoctor.trainer.preflight import config_findings

        more, titles, header, data = config_findings(args.config, facts, context, titles, header, data)
        findings += more
    report = Report(
        command="check",
        findings=findings,
        titles=titles,
        header=tuple(header),
        data=data,
        rules=tuple(RuleDoc.of(rule) for rule in rules),
        source=str(paths[0]) if paths else "",
        collected_at=facts.collected_at,
    )
    return emit(report, args, settings.fail_on)


def _snapshot_paths(args: argparse.Namespace) -> list[str]:
    from ftdoctor.fleet import snapshot_files

    paths = list(args.facts or []) + list(args.snapshots)
    if args.facts_dir:
        paths += [str(p) for p in snapshot_files(args.facts_dir)]
    if len(paths) > 1 and args.save_facts:
        raise UsageError("--save-facts saves one machine's facts; several snapshots were given")
    return paths


def _judge_many(args: argparse.Namespace, paths: list[str], settings) -> int:
    """One section per machine, then the comparison of them all; the exit code covers every section."""
    from ftdoctor.fleet import judge_fleet, load_machines, machine_line
    from ftdoctor.matrix import load_matrix
    from ftdoctor.report.machine import header_lines
    from ftdoctor.report.output import Report, RuleDoc, Section, emit
    from ftdoctor.rules import FAMILY_TITLES, all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge
    from ftdoctor.rules.fleet import RULES as FLEET_RULES
    from ftdoctor.rules.smoke import without_unrun_smokes

    machines = load_machines(paths)
    sections = [
        Section(
            m.name,
            judge(without_unrun_smokes(all_rules(), m.facts), Context(facts=m.facts, matrix=load_matrix(), settings=settings)),
            header=tuple(header_lines(m.facts, f"judging the snapshot {m.source}")), source=m.source,
            collected_at=m.facts.collected_at,
        )
        for m in machines
    ]
    rules = list(all_rules())
    if not args.no_compare:
        header = tuple(machine_line(m) for m in machines)
        sections.append(Section(f"all {len(machines)} machines compared", judge_fleet(machines, settings), header))
        rules += FLEET_RULES
    report = Report(
        command="check",
        findings=[f for s in sections for f in s.findings],
        titles=FAMILY_TITLES,
        data={"facts_source": paths},
        sections=tuple(sections),
        rules=tuple(RuleDoc.of(rule) for rule in rules),
    )
    return emit(report, args, settings.fail_on)


class LiveRun:
    """This machine's facts being gathered, with the smoke tests of --verify running beside the probes."""

    def __init__(self, gathering, batch, notices, every_s: float) -> None:
        self.gathering, self.batch, self.notices, self.every_s = gathering, batch, notices, every_s
        self.done = False

    def finish(self):
        from dataclasses import replace

        from ftdoctor.verify import run

        facts = self.gathering.finish() if self.batch is None else run.gathered_beside(self.batch, self.gathering.finish)
        if self.batch is not None:
            facts = replace(facts, verify=run.finish(self.batch, notices=self.notices, every_s=self.every_s))
        self.done = True
        return facts

    def cancel(self) -> None:
        """Kill the children whose answers were not collected (no-op for those that were)."""
        self.gathering.cancel()
        if self.batch is not None and not self.done:
            from ftdoctor.verify import run

            run.abandon(self.batch)


def _start_live(args: argparse.Namespace, plan) -> LiveRun:
    """Start the smoke tests (the slowest part) and the probes' subprocesses before anything else, so the
    imports and settings that follow overlap them."""
    from ftdoctor.probes.gather import GatherOptions, Gathering
    from ftdoctor.probes.host import Host

    if args.python and not Path(args.python).exists():
        raise UsageError("no such interpreter", where=args.python, hint="give the path of a python executable")
    host = Host.from_environment(python=args.python)
    batch = None
    if plan is not None:
        from ftdoctor.verify import run

        batch = run.start(host, plan.smokes, plan.options)
    return LiveRun(
        Gathering(host, GatherOptions(torch=not args.no_torch, label=args.label)),
        batch,
        sys.stderr if args.format == "terminal" else None,
        plan.options.notice_every_s if plan is not None else 10.0,
    )


def list_rules(rules) -> int:
    from ftdoctor.rules import FAMILY_TITLES

    for rule in sorted(rules, key=lambda r: r.code):
        requires = f"  (requires {', '.join(sorted(rule.requires))})" if rule.requires else ""
        print(f"{rule.code}  {FAMILY_TITLES.get(rule.family, rule.family):<32} {rule.description()}{requires}")
    return ExitCode.OK
