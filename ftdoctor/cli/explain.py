"""`ftdoctor explain`: name the root cause of a failed run from its log, and the fix for this environment."""

from __future__ import annotations

import argparse
import sys

from ftdoctor.errors import ExitCode

DESCRIPTION = """Read an error log (a file, `-` for standard input, or the output of --cmd) and name the root
cause: a category, one sentence with the specifics from the log, the fix as commands, the evidence lines and
a confidence. Fixes are computed for this environment from its facts (probed quickly, without importing
torch), or for a saved snapshot with --facts; --no-facts gives generic fixes (a log from another machine)."""

EPILOG = """examples:
  ftdoctor explain train.log                   explain a saved log
  python train.py 2>&1 | ftdoctor explain -    explain what a run prints
  ftdoctor explain --cmd "python train.py"     run it (with a time limit) and explain its output
  ftdoctor explain crash.log --facts gpu.json  fixes for the machine the log came from
  ftdoctor explain crash.log --no-facts --json machine-readable, no probing of this machine

exit codes:
  0  a cause was found
  1  no known cause in the log
  3  ftdoctor could not run (unreadable file, bad arguments, the command could not start)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", nargs="?", metavar="LOG", help="the log file, or - for standard input")
    parser.add_argument("--cmd", metavar="COMMAND",
                        help="run COMMAND (through /bin/sh), pass its output through to standard error, and explain all of it")
    parser.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS",
                        help="stop --cmd after this many seconds and explain what it printed (default: 3600)")
    facts = parser.add_argument_group("environment for the fixes")
    choice = facts.add_mutually_exclusive_group()
    choice.add_argument("--facts", metavar="FILE", help="use a saved facts snapshot (ftdoctor check --save-facts)")
    choice.add_argument("--no-facts", action="store_true", help="do not look at this machine; generic fixes")
    facts.add_argument("--torch", action="store_true", help="also import torch (in a subprocess) for exact torch facts")
    facts.add_argument("--python", metavar="PATH", help="the interpreter whose environment the fixes target")
    from ftdoctor.report.output import FORMATS

    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=FORMATS, default="terminal",
                     help="output format (default: terminal); junit, github (workflow annotations), sarif and markdown are for CI")
    out.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    out.add_argument("--step-summary", metavar="FILE",
                     help='also append a Markdown summary to FILE (in GitHub Actions: "$GITHUB_STEP_SUMMARY")')
    out.add_argument("--all", action="store_true", help="show every diagnosis, not only the three most likely")
    out.add_argument("--no-color", action="store_true", help="never colour the output (also: NO_COLOR=1)")


def run(args: argparse.Namespace) -> int:
    from ftdoctor.explain.catalog import load_catalog
    from ftdoctor.explain.report import data
    from ftdoctor.report.envelope import envelope

    source, explanation, command = _explain(args)
    signatures = len(load_catalog().signatures)
    code = ExitCode.OK if explanation.found else ExitCode.WARNINGS
    if args.format == "json":
        body = data(explanation, {**source, "command": command}, _facts_data(args, explanation), signatures)
        sys.stdout.write(envelope("explain", code, body) + "\n")
    elif args.format == "terminal":
        _print_terminal(args, explanation, source, command, signatures)
    else:
        sys.stdout.write(_ci_text(args.format, _report(explanation, source, command), code))
    if args.step_summary:
        from ftdoctor.report.output import append_summary

        append_summary(args.step_summary, _ci_text("markdown", _report(explanation, source, command), code))
    return code


def _report(explanation, source, command):
    """The diagnoses as findings, in the report every CI format renders (as `check` hands them its findings)."""
    from ftdoctor.explain import as_findings
    from ftdoctor.report.output import Report

    log = source["name"] if source["kind"] == "file" else None
    return Report(command="explain", findings=as_findings(explanation, log=log), titles={"explain": "Diagnoses"},
                  header=tuple(_header(explanation, source, command)))


def _ci_text(fmt: str, report, code: int) -> str:
    """A CI format of the diagnoses. Their verdict is the findings' (a found cause is an error to fix); SARIF's
    exitCode is the process's own (0: a cause was found, 1: none)."""
    from ftdoctor.report.output import render
    from ftdoctor.report.summary import exit_code

    shown = code if fmt == "sarif" else exit_code(report.findings, "error")
    return render(report, fmt, code=shown, fail_on="error")


def _explain(args: argparse.Namespace):
    from ftdoctor.errors import UsageError

    if bool(args.log) == bool(args.cmd):
        raise UsageError("give a LOG file (or - for standard input), or --cmd COMMAND, not both and not neither",
                         hint="see `ftdoctor explain --help`")
    facts, facts_source = _facts(args)
    if args.cmd:
        return _explain_command(args, facts, facts_source)
    return _explain_log(args.log, facts, facts_source)


def _explain_log(log: str, facts, facts_source: str):
    from ftdoctor.errors import unreadable
    from ftdoctor.explain import explain_file, explain_stream

    if log == "-":
        if sys.stdin.isatty():
            print("ftdoctor: reading the log from standard input (end it with Ctrl-D)", file=sys.stderr)
        return {"kind": "stdin", "name": "-"}, explain_stream(sys.stdin.buffer, facts=facts, facts_source=facts_source), None
    try:
        return {"kind": "file", "name": log}, explain_file(log, facts=facts, facts_source=facts_source), None
    except OSError as exc:
        raise unreadable(exc, log, "a log file", "check the path, or use - to read standard input") from None


def _explain_command(args: argparse.Namespace, facts, facts_source: str):
    import os

    from ftdoctor.errors import UsageError
    from ftdoctor.explain import explain_stream
    from ftdoctor.probes import isolated

    if args.timeout <= 0:
        raise UsageError(f"{args.timeout:g} is not a positive number of seconds", where="--timeout")
    print(f"ftdoctor: running `{args.cmd}` (time limit {args.timeout:g} s); its output follows here, its diagnosis "
          "on standard output", file=sys.stderr, flush=True)
    # unbuffered Python output keeps stdout and stderr in the order they were written, as a terminal shows them
    env = {**os.environ, "PYTHONUNBUFFERED": os.environ.get("PYTHONUNBUFFERED") or "1"}
    result, explanation = isolated.stream(
        ["/bin/sh", "-c", args.cmd], lambda out: explain_stream(out, facts=facts, facts_source=facts_source),
        timeout_s=args.timeout, env=env, echo=sys.stderr.buffer)
    if result.start_error or explanation is None:
        raise UsageError(f"the command could not start: {result.start_error}", where="--cmd")
    command = {"argv": args.cmd, "returncode": result.returncode, "signal": result.signal,
               "timed_out": result.timed_out, "ended": result.describe(), "elapsed_s": result.elapsed_s}
    return {"kind": "command", "name": args.cmd}, explanation, command


def _facts(args: argparse.Namespace):
    """(facts, source): a snapshot, this machine probed quickly, or none."""
    if args.no_facts:
        return None, "none"
    if args.facts:
        from ftdoctor.facts import serialize

        return serialize.load(args.facts), "snapshot"
    from pathlib import Path

    from ftdoctor.errors import UsageError
    from ftdoctor.probes.gather import GatherOptions, gather
    from ftdoctor.probes.host import Host

    if args.python and not Path(args.python).exists():
        raise UsageError("no such interpreter", where=args.python, hint="give the path of a python executable")
    return gather(Host.from_environment(python=args.python), GatherOptions(torch=args.torch)), "live"


def _facts_data(args: argparse.Namespace, explanation) -> dict:
    return {"source": explanation.facts_source, "file": args.facts, "torch_imported": bool(args.torch)}


def _print_terminal(args, explanation, source, command, signatures: int) -> None:
    from ftdoctor.explain.report import render
    from ftdoctor.report.terminal import Style

    style = Style.for_stream(sys.stdout, no_colour=args.no_color)
    sys.stdout.write(render(explanation, header=_header(explanation, source, command), style=style,
                            limit=0 if args.all else 3, signatures=signatures))


def _header(explanation, source, command) -> list[str]:
    read = explanation.read
    name = {"stdin": "standard input", "command": f"the output of `{source['name']}`"}.get(source["kind"], source["name"])
    lines = [f"ftdoctor explain: {name} ({read.lines:,} lines, {read.encoding}"
             + (", ANSI colours removed" if read.ansi_stripped else "") + ")"]
    if command:
        lines.append(f"  the command {command['ended']} after {command['elapsed_s']:.1f} s")
    facts = {"live": "fixes for this machine (facts probed now)", "snapshot": "fixes for the given facts snapshot",
             "none": "generic fixes (no facts)"}.get(explanation.facts_source, explanation.facts_source)
    lines.append(f"  {facts}")
    return lines
