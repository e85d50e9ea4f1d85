"""`ftdoctor tui` (and `ftdoctor check --tui`): the findings in a terminal app, probed live or from a snapshot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """Browse the findings in a terminal app: a tree of findings by family, the evidence and fixes of each,
probes and smoke tests (`check --verify`, key v) running in the background, `ftdoctor fix`'s plan shown and run
(after confirmation) and re-checked, the lockfile `ftdoctor lock` writes for these facts, `ftdoctor explain` on
a pasted log, the preflight of a training config. Press ? in the app for the keys."""

EPILOG = """examples:
  ftdoctor tui                     probe this machine and browse the findings
  ftdoctor tui --facts box.json    browse the findings of a saved snapshot (another machine)
  ftdoctor tui --verify            also run the smoke tests from the start (v runs them any time)
  ftdoctor check --tui             the same as `ftdoctor tui`, with check's options

exit codes (for the findings on screen when you quit):
  0  no problem found
  1  warnings (with --fail-on warning, the default)
  2  errors
  3  ftdoctor could not run (bad input, unreadable file, not a terminal)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.rules.settings import FAIL_ON
    from ftdoctor.verify.options import add_verify_options

    source = parser.add_argument_group("what to judge")
    source.add_argument("snapshots", nargs="*", metavar="FACTS.json", help="judge a saved snapshot (same as --facts)")
    source.add_argument("--facts", metavar="FILE", action="append", help="judge a saved snapshot instead of this machine")
    source.add_argument("--python", metavar="PATH", help="diagnose this interpreter's environment (default: ftdoctor's own)")
    source.add_argument("--no-torch", action="store_true", help="do not import torch (faster; torch facts from metadata only)")
    source.add_argument("--label", default="", help="a name for this machine, stored in the snapshot")
    rules = parser.add_argument_group("rules")
    rules.add_argument("--select", action="append", metavar="CODES", help="only these rule codes or prefixes (comma-separated)")
    rules.add_argument("--ignore", action="append", metavar="CODES", help="skip these rule codes or prefixes (comma-separated)")
    rules.add_argument("--fail-on", choices=FAIL_ON, default=None,
                       help="lowest severity that makes the exit code non-zero (default: warning, or [tool.ftdoctor] fail-on)")
    add_verify_options(parser)


def run(args: argparse.Namespace) -> int:
    from ftdoctor.errors import UsageError
    from ftdoctor.report.output import split_codes
    from ftdoctor.report.summary import exit_code
    from ftdoctor.rules.settings import load_settings

    if getattr(args, "save_facts", None):
        raise UsageError("--save-facts does not combine with --tui", hint="press s in the app to save the facts")
    settings = load_settings().merged(
        select=split_codes(args.select), ignore=split_codes(args.ignore), fail_on=args.fail_on
    )
    app = build_app(args, settings)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the app needs an interactive terminal", hint="use `ftdoctor check` (or --json) for text")
    try:
        app.run()
    finally:
        app.main.stop_smokes(redraw=False)  # the screen does on unmount; this covers an app that died first
    return exit_code(list(app.findings), settings.fail_on)


def build_app(args: argparse.Namespace, settings):
    from ftdoctor.errors import UsageError
    from ftdoctor.tui.app.app import make_app
    from ftdoctor.tui.data import live
    from ftdoctor.tui.data.runners import Origin
    from ftdoctor.verify.options import verify_plan

    path = _snapshot(args)
    plan = verify_plan(args)
    if path:
        if plan is not None:  # as `check` says it
            raise UsageError("--verify runs smoke tests on this machine; it cannot judge a saved snapshot",
                             where="--facts", hint="a snapshot saved with --verify --save-facts keeps its smoke results")
        from ftdoctor.facts import serialize

        facts = serialize.load(path)
        return make_app(live.runners(settings), Origin.snapshot(path, facts), facts)
    host = _host(args.python)
    tasks = live.probe_tasks(host, import_torch=not args.no_torch)
    runners = live.runners(settings, tasks, host, live.smoke_runner(host, plan))
    return make_app(runners, Origin.this_machine(), live.blank_facts(args.label), verify=plan is not None)


def _snapshot(args: argparse.Namespace) -> str | None:
    """The one snapshot to show (from --facts or a positional path), or None for this machine."""
    from ftdoctor.errors import UsageError

    paths = list(args.facts or []) + list(args.snapshots or [])
    if getattr(args, "facts_dir", None) or len(paths) > 1:
        raise UsageError("the app shows one machine; several snapshots were given",
                         hint="use `ftdoctor check` to judge several, or open them one by one with o in the app")
    return paths[0] if paths else None


def _host(python: str | None):
    from ftdoctor.errors import UsageError
    from ftdoctor.probes.host import Host

    if python and not Path(python).exists():
        raise UsageError("no such interpreter", where=python, hint="give the path of a python executable")
    return Host.from_environment(python=python)
