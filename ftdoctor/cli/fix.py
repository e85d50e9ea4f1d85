"""`ftdoctor fix`: a plan of commands for what `check` finds; a dry run unless --apply."""

from __future__ import annotations

import argparse
import sys

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Turn the findings of `ftdoctor check` into a plan of commands: the torch build this driver and GPU can
run, the flash-attn wheel built for that torch, a bitsandbytes with a library for its CUDA, environment
variables (BNB_CUDA_VERSION, CUDA_HOME, ...), and by-hand steps for what a command cannot fix (the driver).
Shown as a dry run; --apply runs it in the diagnosed interpreter after confirmation, stops at the first failed
step with the environment as it was before that step, then checks again and reports what changed."""

EPILOG = """examples:
  ftdoctor fix                              the plan for this environment (nothing is changed)
  ftdoctor fix --python /opt/env/bin/python
  ftdoctor fix --facts box.json             the plan for a saved snapshot (dry run only)
  ftdoctor fix --apply                      run it, asking first
  ftdoctor fix --apply --yes                run it without asking (scripts)
  ftdoctor fix --json                       the plan as data

exit codes:
  0  nothing to fix, the plan was shown, or it was applied and no error remains
  2  applying stopped at a failed step, or errors remain after applying
  3  ftdoctor could not run (bad input, --apply on a snapshot, refused confirmation)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH", help="fix this interpreter's environment (default: ftdoctor's own)")
    parser.add_argument("--facts", metavar="FILE", help="plan for a saved snapshot (never applied)")
    parser.add_argument("--no-torch", action="store_true", help="do not import torch (faster; torch facts from metadata only)")
    parser.add_argument("--apply", action="store_true", help="run the plan (asks for confirmation)")
    parser.add_argument("--yes", action="store_true", help="with --apply: do not ask")
    parser.add_argument("--json", action="store_true", help="print the plan (and the outcome) as JSON")


def run(args: argparse.Namespace) -> int:
    from ftdoctor.fix.plan import make_plan
    from ftdoctor.matrix import load_matrix

    if args.apply and args.facts:
        raise UsageError("--apply changes a live environment, not a snapshot", hint="run `ftdoctor fix --apply` on that machine")
    if args.yes and not args.apply:
        raise UsageError("--yes only means something with --apply", hint="add --apply to run the plan")
    matrix = load_matrix()
    facts = _facts(args)
    findings = _judge(facts, matrix)
    plan = make_plan(facts, matrix, findings)
    if not args.apply:
        return _show(args, plan)
    return _apply(args, plan, facts, matrix, findings)


def _facts(args: argparse.Namespace, env: dict[str, str] | None = None):
    if args.facts:
        from ftdoctor.facts import serialize

        return serialize.load(args.facts)
    from pathlib import Path

    from ftdoctor.probes.gather import GatherOptions, gather
    from ftdoctor.probes.host import Host

    if args.python and not Path(args.python).exists():
        raise UsageError("no such interpreter", where=args.python, hint="give the path of a python executable")
    host = Host.from_environment(python=args.python)
    if env:
        host.env.update({k: v for k, v in env.items() if v is not None})
        for name in [k for k, v in env.items() if v is None]:
            host.env.pop(name, None)
    return gather(host, GatherOptions(torch=not args.no_torch))


def _judge(facts, matrix):
    from ftdoctor.rules import all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge

    return judge(all_rules(), Context(facts=facts, matrix=matrix))


def _show(args: argparse.Namespace, plan) -> int:
    from ftdoctor.fix import render

    if args.json:
        from ftdoctor.report.envelope import envelope

        sys.stdout.write(envelope("fix", ExitCode.OK, render.plan_data(plan)) + "\n")
    else:
        sys.stdout.write(render.plan_text(plan, dry_run=True))
    return ExitCode.OK


def _apply(args: argparse.Namespace, plan, facts, matrix, before) -> int:
    from ftdoctor.fix import apply, render

    if not plan.runnable:
        return _show(args, plan)
    previews = apply.preview(plan)
    sys.stdout.write(render.plan_text(plan, dry_run=False, previews=previews))
    if not args.yes:
        refused = _confirm(previews, plan.python)
        if refused:
            raise UsageError(f"not applied: {refused}", hint="answer y, or pass --yes to apply without asking")
    outcome = apply.apply(plan, previews, facts.python.prefix, facts.python.kind)
    after = _judge(_facts(args, outcome.env), matrix)
    code = ExitCode.ERRORS if outcome.failed or any(f.severity.value == "error" for f in after) else ExitCode.OK
    if args.json:
        from ftdoctor.report.envelope import envelope

        sys.stdout.write(envelope("fix", code, render.outcome_data(plan, outcome, before, after)) + "\n")
    else:
        sys.stdout.write(render.outcome_text(outcome, before, after))
    return code


def _confirm(previews, python: str) -> str:
    """Ask before changing anything; '' when confirmed, else why not. Downgrades and removals are named."""
    risky = [c for _, changes in previews for c in changes if c.kind in ("downgrade", "uninstall")]
    warning = f" This DOWNGRADES/REMOVES: {', '.join(c.describe() for c in risky)}." if risky else ""
    if not sys.stdin.isatty():
        return "stdin is not a terminal, so nobody could confirm"
    answer = input(f"Apply {len(previews)} step(s) to {python}?{warning} [y/N] ")
    return "" if answer.strip().lower() in ("y", "yes") else "the plan was not confirmed"
